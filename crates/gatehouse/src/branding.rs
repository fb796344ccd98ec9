//! How gatehouse's pages look for a deployment: the product's name, its logo and its accent
//! colour, set by the operator (`--product-name`, `--logo`, `--accent-colour`) and checked when
//! the server starts, so a page never shows a colour nobody can read or a logo that fails.

use std::path::Path;
use std::sync::Arc;

/// The name pages show when the operator names none.
pub const DEFAULT_PRODUCT_NAME: &str = "Gatehouse";
/// The accent colour when the operator picks none: white text on it has a contrast of 6.1:1.
pub const DEFAULT_ACCENT: Rgb = Rgb(0x2f, 0x5b, 0xd8);
/// The largest logo accepted: it is sent with every page that shows it.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;
/// The longest product name accepted, in characters.
pub const MAX_PRODUCT_NAME: usize = 60;
/// The contrast WCAG 2.2 (1.4.3, level AA) asks of text: buttons carry white text on the
/// accent colour, links are drawn in it on white.
pub const MIN_CONTRAST: f64 = 4.5;

/// A deployment's look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub product_name: String,
    pub accent: Rgb,
    pub logo: Option<Logo>,
    /// The BCP 47 tag of the catalogue the pages and mails speak from (`--language`), when the
    /// browser prefers none of the others.
    pub language: String,
    /// Whether that is the one language spoken, whatever a browser prefers
    /// (`--one-language`).
    pub one_language: bool,
}

/// The language pages speak when none is chosen.
pub const DEFAULT_LANGUAGE: &str = "en";

impl Default for Branding {
    fn default() -> Self {
        Branding {
            product_name: DEFAULT_PRODUCT_NAME.to_owned(),
            accent: DEFAULT_ACCENT,
            logo: None,
            language: DEFAULT_LANGUAGE.to_owned(),
            one_language: false,
        }
    }
}

/// An image shown above every page, served by gatehouse itself (the pages' CSP allows images
/// from gatehouse only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// `image/png`, `image/jpeg`, `image/webp` or `image/svg+xml`.
    pub content_type: &'static str,
    pub bytes: Arc<[u8]>,
}

/// What is wrong with a branding setting.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BrandingError {
    #[error("--product-name must be 1 to {MAX_PRODUCT_NAME} printable characters")]
    ProductName,
    #[error("--accent-colour must be a colour written #rrggbb, such as #2f5bd8 (got {0:?})")]
    ColourSyntax(String),
    #[error(
        "--accent-colour {colour} is too light: white button text on it has a contrast of \
         {ratio:.1}:1, and people need at least {MIN_CONTRAST}:1 to read it (WCAG 2.2, 1.4.3); \
         pick a darker shade"
    )]
    ColourContrast { colour: String, ratio: f64 },
    #[error("--logo {path}: {reason}")]
    Logo { path: String, reason: String },
    #[error(
        "--language {given:?}: the pages have no words in it; the languages there are: {known} \
         (a translation is a catalogue in crates/gatehouse/src/http/pages/catalogue.rs)"
    )]
    Language { given: String, known: String },
}

impl Branding {
    /// The look the flags describe, checked.
    ///
    /// # Errors
    /// A product name that is empty, too long or holds control characters; a colour that is
    /// not `#rrggbb` or too light for white text; a logo that cannot be read, is too large or
    /// is not a PNG, JPEG, WebP or SVG image.
    pub fn new(
        product_name: Option<&str>,
        accent: Option<&str>,
        logo: Option<&Path>,
    ) -> Result<Branding, BrandingError> {
        let product_name = product_name.unwrap_or(DEFAULT_PRODUCT_NAME).trim();
        let printable = !product_name.chars().any(|c| {
            c.is_control() || crate::text::is_invisible(c) || (c.is_whitespace() && c != ' ')
        });
        if product_name.is_empty() || product_name.chars().count() > MAX_PRODUCT_NAME || !printable
        {
            return Err(BrandingError::ProductName);
        }
        let accent = match accent {
            None => DEFAULT_ACCENT,
            Some(text) => {
                let colour =
                    Rgb::parse(text).ok_or_else(|| BrandingError::ColourSyntax(text.to_owned()))?;
                let ratio = colour.contrast_with_white();
                if ratio < MIN_CONTRAST {
                    return Err(BrandingError::ColourContrast {
                        colour: colour.to_string(),
                        ratio,
                    });
                }
                colour
            }
        };
        let logo = logo.map(Logo::read).transpose()?;
        Ok(Branding {
            product_name: product_name.to_owned(),
            accent,
            logo,
            language: DEFAULT_LANGUAGE.to_owned(),
            one_language: false,
        })
    }

    /// This look, its pages speaking `language`: one of the catalogues gatehouse has.
    ///
    /// # Errors
    /// A language without a catalogue (the error lists those there are).
    pub fn speaking(self, language: &str) -> Result<Branding, BrandingError> {
        let known = crate::http::languages();
        if !known.contains(&language) {
            return Err(BrandingError::Language {
                given: language.to_owned(),
                known: known.join(", "),
            });
        }
        Ok(Branding {
            language: language.to_owned(),
            ..self
        })
    }

    /// This look, speaking its language to every browser when `only`, else to those that
    /// prefer none of the other catalogues.
    #[must_use]
    pub fn one_language(self, only: bool) -> Branding {
        Branding {
            one_language: only,
            ..self
        }
    }
}

/// Why an image cannot be a logo: the deployment's (`--logo`) or an application's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LogoProblem {
    #[error(
        "{0} bytes is too large for an image sent with every page (at most {max} KiB)",
        max = MAX_LOGO_BYTES / 1024
    )]
    TooLarge(u64),
    #[error("not a PNG, JPEG, WebP or SVG image")]
    NotAnImage,
}

impl Logo {
    fn read(path: &Path) -> Result<Logo, BrandingError> {
        let fail = |reason: String| BrandingError::Logo {
            path: path.display().to_string(),
            reason,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| fail(e.to_string()))?
            .len();
        if size > MAX_LOGO_BYTES as u64 {
            return Err(fail(LogoProblem::TooLarge(size).to_string()));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        Logo::from_bytes(bytes).map_err(|p| fail(p.to_string()))
    }

    /// `bytes` as a logo: at most [`MAX_LOGO_BYTES`], and a PNG, JPEG, WebP or SVG image by its
    /// first bytes (never by a file's name or a header a sender chose, so what is served is what
    /// browsers will take it for).
    ///
    /// # Errors
    /// An image too large, or bytes that are none of those images (nothing at all among them).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Logo, LogoProblem> {
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(LogoProblem::TooLarge(bytes.len() as u64));
        }
        let content_type = sniff(&bytes).ok_or(LogoProblem::NotAnImage)?;
        Ok(Logo {
            content_type,
            bytes: bytes.into(),
        })
    }

    /// What names this image's content: see [`version_of`].
    pub fn version(&self) -> String {
        version_of(&self.bytes)
    }
}

/// The first 16 hex digits of the SHA-256 of `bytes`: what a page names a served file's
/// content by (`…?v=<version>`), so a browser keeps it until it changes.
pub fn version_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The image type `bytes` hold, by their first bytes: never by the file's name, so what is
/// served is what browsers will take it for.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        return Some("image/jpeg");
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    // An SVG is text: an XML declaration or comments may come before the root element.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    (head.trim_start().starts_with('<') && head.contains("<svg")).then_some("image/svg+xml")
}

/// A colour on the web's sRGB scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`, in either case.
    pub fn parse(text: &str) -> Option<Rgb> {
        let hex = text.trim().strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Rgb(channel(0)?, channel(2)?, channel(4)?))
    }

    /// WCAG 2.2's relative luminance of the colour.
    fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.0) + 0.7152 * linear(self.1) + 0.0722 * linear(self.2)
    }

    /// The contrast ratio of white on this colour (1 to 21).
    pub fn contrast_with_white(self) -> f64 {
        1.05 / (self.luminance() + 0.05)
    }
}

impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_read_and_their_contrast_checked() {
        let cases = [
            ("#2f5bd8", Ok("#2f5bd8")),
            ("#2F5BD8", Ok("#2f5bd8")),
            ("#000000", Ok("#000000")),
            ("#767676", Ok("#767676")),
            // Yellow and light grey are unreadable under white text.
            ("#ffdd00", Err("too light")),
            ("#777777", Err("too light")),
            ("2f5bd8", Err("#rrggbb")),
            ("#2f5bd", Err("#rrggbb")),
            ("#2f5bdg", Err("#rrggbb")),
            ("red", Err("#rrggbb")),
        ];
        for (text, expected) in cases {
            let got = Branding::new(None, Some(text), None)
                .map(|b| b.accent.to_string())
                .map_err(|e| e.to_string());
            match (got, expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{text}: {got}"),
                (got, want) => panic!("{text}: got {got:?}, wanted {want:?}"),
            }
        }
        // The default passes its own rule.
        assert!(DEFAULT_ACCENT.contrast_with_white() >= MIN_CONTRAST);
        let white = Rgb(255, 255, 255).contrast_with_white();
        let black = Rgb(0, 0, 0).contrast_with_white();
        assert!((white - 1.0).abs() < 1e-9 && (black - 21.0).abs() < 1e-9);
    }

    #[test]
    fn only_a_language_with_a_catalogue_is_spoken() {
        let english = Branding::default().speaking("en").unwrap();
        assert_eq!(english.language, "en");
        let german = Branding::default().speaking("de").unwrap();
        assert_eq!(german.language, "de");
        let refused = Branding::default().speaking("tlh").unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("the languages there are: en, de"),
            "{refused}"
        );
    }

    #[test]
    fn product_names_are_printable_and_short() {
        assert_eq!(
            Branding::new(Some("  Acme SSO "), None, None)
                .unwrap()
                .product_name,
            "Acme SSO"
        );
        for bad in ["", "   ", "Acme\nSSO", "Ac\u{202e}me", &"x".repeat(61)] {
            assert_eq!(
                Branding::new(Some(bad), None, None),
                Err(BrandingError::ProductName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn logos_are_taken_by_their_bytes_not_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let png = write("logo.svg", b"\x89PNG\r\n\x1a\n....");
        let svg = write(
            "logo.png",
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        );
        let html = write("logo.html", b"<html><script>alert(1)</script></html>");
        let big = write("big.png", &vec![0u8; MAX_LOGO_BYTES + 1]);
        let logo = |p: &Path| Branding::new(None, None, Some(p)).map(|b| b.logo.unwrap());
        assert_eq!(logo(&png).unwrap().content_type, "image/png");
        assert_eq!(logo(&svg).unwrap().content_type, "image/svg+xml");
        let refused = |p: &Path| logo(p).unwrap_err().to_string();
        assert!(refused(&html).contains("not a PNG, JPEG, WebP or SVG"));
        assert!(refused(&big).contains("too large"));
        assert!(refused(&dir.path().join("missing.png")).contains("missing.png"));
    }

    #[test]
    fn an_image_is_a_logo_by_its_first_bytes_and_its_size() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(MAX_LOGO_BYTES, 0);
        let mut too_large = png.clone();
        too_large.push(0);
        let cases: &[(&[u8], Result<&str, LogoProblem>)] = &[
            (&png, Ok("image/png")),
            (b"\xff\xd8\xff\xe0JFIF", Ok("image/jpeg")),
            (b"RIFF\0\0\0\0WEBPVP8 ", Ok("image/webp")),
            (
                b"<!-- made by hand -->\n<svg xmlns='http://www.w3.org/2000/svg'/>",
                Ok("image/svg+xml"),
            ),
            (b"  <SVG/>", Ok("image/svg+xml")),
            (
                &too_large,
                Err(LogoProblem::TooLarge(MAX_LOGO_BYTES as u64 + 1)),
            ),
            (b"", Err(LogoProblem::NotAnImage)),
            (b"GIF89a", Err(LogoProblem::NotAnImage)),
            (b"RIFF\0\0\0\0WAVE", Err(LogoProblem::NotAnImage)),
            // Text that names an SVG is not one: it must begin as markup.
            (b"see <svg> below", Err(LogoProblem::NotAnImage)),
            (
                b"<html><script>alert(1)</script></html>",
                Err(LogoProblem::NotAnImage),
            ),
        ];
        for (bytes, want) in cases {
            let got = Logo::from_bytes(bytes.to_vec()).map(|l| l.content_type);
            assert_eq!(
                got,
                *want,
                "{:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(24)])
            );
        }
        // What names the content changes with it, and only with it.
        let a = Logo::from_bytes(b"<svg/>".to_vec()).unwrap();
        let b = Logo::from_bytes(b"<svg />".to_vec()).unwrap();
        assert_eq!(a.version(), version_of(b"<svg/>"));
        assert_eq!(a.version().len(), 16);
        assert_ne!(a.version(), b.version());
    }
}
