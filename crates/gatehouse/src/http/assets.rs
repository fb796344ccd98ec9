//! The files pages load beside themselves (the passkey script, the deployment's logo), served
//! so that a browser keeps each as long as it is unchanged and never runs or shows one that
//! changed. Pages name a file with its content's digest (`…?v=<digest>`): that address is
//! cached as immutable for a year, and after an upgrade or a new logo the pages name another.
//! The bare address, or one naming a version this server does not have (from a page made
//! before the change, or a link kept elsewhere), is answered with the current file, to be
//! revalidated on each use by its `ETag` (`304 Not Modified` while it is unchanged).
//!
//! Hand-written rather than `tower-http`'s `ServeDir`, which serves files from disk: these are
//! compiled in or read once at start.

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum_extra::headers::{ETag, HeaderMapExt, IfNoneMatch};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use sha2::{Digest, Sha384};

/// A year: what a versioned address may be kept for (RFC 9111 §5.2.2.1 gives no upper bound;
/// a year is the customary one).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The bare or an outdated address: kept, but asked about again before each use.
const REVALIDATE: &str = "no-cache";

/// One file and what names it.
#[derive(Clone, Debug)]
pub(super) struct Asset {
    bytes: Bytes,
    content_type: HeaderValue,
    /// The first 16 hex digits of the content's SHA-256: the `v` of its versioned address.
    version: String,
    /// `sha384-…`, for a `<script>`'s `integrity` attribute.
    integrity: String,
    /// The version in quotes (always there: hex digits in quotes are an entity tag).
    etag: Option<ETag>,
}

impl Asset {
    /// `content_type` is the `Content-Type` it is served with, and must be a valid header
    /// value (the callers' are constants).
    pub(super) fn new(bytes: impl Into<Bytes>, content_type: &'static str) -> Asset {
        let bytes = bytes.into();
        let version = crate::branding::version_of(&bytes);
        let etag = format!("\"{version}\"").parse().ok();
        let integrity = format!("sha384-{}", STANDARD.encode(Sha384::digest(&bytes)));
        Asset {
            bytes,
            content_type: HeaderValue::from_static(content_type),
            version,
            integrity,
            etag,
        }
    }

    /// A file whose version is known already (an application's logo, whose version the store
    /// keeps beside it): served without hashing it again on every request. No page names it
    /// from a `<script>`, so it has no `integrity`.
    pub(super) fn of_version(
        bytes: impl Into<Bytes>,
        content_type: &'static str,
        version: String,
    ) -> Asset {
        let etag = format!("\"{version}\"").parse().ok();
        Asset {
            bytes: bytes.into(),
            content_type: HeaderValue::from_static(content_type),
            version,
            integrity: String::new(),
            etag,
        }
    }

    /// `path` (as a page or a message should write it) with this content's version.
    pub(super) fn versioned(&self, path: &str) -> String {
        format!("{path}?v={}", self.version)
    }

    /// What a `<script>` element's `integrity` attribute should say.
    pub(super) fn integrity(&self) -> &str {
        &self.integrity
    }

    /// The answer to a GET of `uri`, with the request's `headers` (for `If-None-Match`).
    pub(super) fn respond(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        let current = uri
            .query()
            .is_some_and(|q| q.strip_prefix("v=") == Some(self.version.as_str()));
        let unchanged = match (&self.etag, headers.typed_get::<IfNoneMatch>()) {
            (Some(etag), Some(inm)) => !inm.precondition_passes(etag),
            _ => false,
        };
        let mut r = if unchanged {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut r = self.bytes.clone().into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, self.content_type.clone());
            r
        };
        let h = r.headers_mut();
        if let Some(etag) = &self.etag {
            h.typed_insert(etag.clone());
        }
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if current { IMMUTABLE } else { REVALIDATE }),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(asset: &Asset, uri: &str, if_none_match: Option<&str>) -> Response {
        let mut headers = HeaderMap::new();
        if let Some(tag) = if_none_match {
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(tag).unwrap());
        }
        asset.respond(&uri.parse().unwrap(), &headers)
    }

    fn cache_control(r: &Response) -> &str {
        r.headers()[header::CACHE_CONTROL].to_str().unwrap()
    }

    #[test]
    fn the_versioned_address_is_immutable_and_any_other_is_revalidated() {
        let asset = Asset::new(&b"console.log(1)"[..], "text/javascript; charset=utf-8");
        let url = asset.versioned("/static/a.js");
        assert!(url.starts_with("/static/a.js?v="), "{url}");
        assert_eq!(url.len(), "/static/a.js?v=".len() + 16);

        let r = get(&asset, &url, None);
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(cache_control(&r), IMMUTABLE);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(r.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

        let older = Asset::new(&b"console.log(0)"[..], "text/javascript; charset=utf-8");
        for uri in [
            "/static/a.js".to_string(),
            older.versioned("/static/a.js"),
            format!("{url}&x=1"),
            url.to_uppercase(),
        ] {
            let r = get(&asset, &uri, None);
            assert_eq!(r.status(), StatusCode::OK, "{uri}");
            assert_eq!(cache_control(&r), REVALIDATE, "{uri}");
        }
    }

    #[test]
    fn an_unchanged_file_is_not_sent_again_and_a_changed_one_is() {
        let asset = Asset::new(&b"one"[..], "image/png");
        let tag = format!("\"{}\"", asset.version);
        assert_eq!(
            get(&asset, "/branding/logo", Some(&tag)).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            get(&asset, "/branding/logo", Some(&format!("W/{tag}, \"x\""))).status(),
            StatusCode::NOT_MODIFIED,
            "a weak tag matches for If-None-Match"
        );
        let changed = Asset::new(&b"two"[..], "image/png");
        let r = get(&changed, "/branding/logo", Some(&tag));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.headers()[header::ETAG],
            format!("\"{}\"", changed.version).as_str()
        );
    }

    #[test]
    fn the_integrity_is_the_content_s_sha384() {
        // `printf 'alert(1)' | openssl dgst -sha384 -binary | base64`
        let asset = Asset::new(&b"alert(1)"[..], "text/javascript; charset=utf-8");
        assert_eq!(
            asset.integrity(),
            "sha384-HT2E9NfWiuQ/w1PRai+hTyqW16NIoCGA/m8VQDUopfAtcz6YQjtsMmQd5uRbVDpW"
        );
    }
}
