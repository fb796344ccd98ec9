//! Rotating a refresh token (RFC 6749 §6, RFC 9700 §4.14.2).

use crate::clock::UnixTime;
use crate::model::{Grant, User};
use crate::oidc::authorize::{AddressOf, address_still_holds};
use crate::oidc::{resource, scope};

/// What the store read about a presented refresh token and its family, in the transaction
/// that will apply the decision (locked against concurrent rotations where the backend needs
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRow {
    pub family_id: String,
    /// The scope the token carries.
    pub scope: String,
    pub expires_at: UnixTime,
    /// Whether the token was rotated before.
    pub rotated: bool,
    /// The client the family was issued to.
    pub client_id: String,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    pub amr: crate::model::Amr,
    pub family_revoked: bool,
    pub user: User,
    /// The family outlives sessions (`offline_access`), or the session it is tied to has not
    /// expired.
    pub session_alive: bool,
    /// Whether the user may use the client now (`store::columns::may_use_client!`): taking
    /// someone out of a client's groups stops their refreshes. The membership is read, not
    /// locked: a removal committed while a refresh is in flight lets that one refresh through,
    /// and stops the next.
    pub access_allowed: bool,
    /// For a rotated token, the answer its rotation gave, while it is kept for a retry.
    pub retry: Option<RetryRow>,
    /// The APIs the family's grant covers (RFC 8707): what a refresh may ask tokens for.
    pub resources: Vec<String>,
    /// Whether the client requires a confirmed address (`require_confirmed_address`).
    pub client_requires_confirmed_address: bool,
    /// The domains the person's account signs in to applications with a confirmed address at
    /// (its address rule); empty: none.
    pub account_domains: Vec<String>,
}

/// The answer a rotation gave, kept for a retry of the same request
/// (`oidc::retry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryRow {
    /// Until when a retry gets it (the rotation's time plus the window).
    pub until: UnixTime,
    /// Whether the new refresh token has been used since: then the old one coming back is
    /// reuse again.
    pub successor_used: bool,
    /// The scope the new tokens carry.
    pub successor_scope: String,
    /// The new pair, sealed.
    pub sealed: Vec<u8>,
}

/// A family's refresh tokens of the family format (`oidc::family_token`), as its row keeps
/// them: the current token and the one it replaced, by hash. Older generations are kept
/// nowhere: the token's MAC proves they were issued to the family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyTokens {
    /// `None` while the family has no token of the family format (one of an earlier release,
    /// or a family without refresh tokens).
    pub current: Option<StoredToken>,
    /// The token the last rotation replaced, while the answer to that rotation is kept for a
    /// retry: with the sealed answer, and until when.
    pub previous: Option<(StoredToken, Vec<u8>, UnixTime)>,
}

impl FamilyTokens {
    /// The current token, if `presented_hash` is its hash. Then the token before it plays no
    /// part in [`generation`]: a store that keeps that one apart reads it only when this is
    /// `None`.
    pub fn current_if(&self, presented_hash: &str) -> Option<&StoredToken> {
        self.current.as_ref().filter(|c| c.hash == presented_hash)
    }
}

/// A refresh token's hash with the scope it carries and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub hash: String,
    pub scope: String,
    pub expires_at: UnixTime,
}

/// What `decide` needs of the presented token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedState {
    pub scope: String,
    pub expires_at: UnixTime,
    pub rotated: bool,
    pub retry: Option<RetryRow>,
}

/// Which of the family's tokens a token whose MAC names the family is, from its hash: the
/// current one; the one before it, with the answer its rotation gave while that is kept (its
/// successor is the current token, so it has not been used); or an older one, rotated before.
pub fn generation(family: &FamilyTokens, presented_hash: &str) -> PresentedState {
    if let Some(current) = family.current_if(presented_hash) {
        return PresentedState {
            scope: current.scope.clone(),
            expires_at: current.expires_at,
            rotated: false,
            retry: None,
        };
    }
    if let (Some((previous, sealed, until)), Some(current)) = (&family.previous, &family.current)
        && previous.hash == presented_hash
    {
        return PresentedState {
            scope: previous.scope.clone(),
            expires_at: previous.expires_at,
            rotated: true,
            retry: Some(RetryRow {
                until: *until,
                successor_used: false,
                successor_scope: current.scope.clone(),
                sealed: sealed.clone(),
            }),
        };
    }
    // An older generation: `decide` reads only that it was rotated, and calls it reuse.
    PresentedState {
        scope: String::new(),
        expires_at: 0,
        rotated: true,
        retry: None,
    }
}

/// The token request (RFC 6749 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshRequest<'a> {
    /// The authenticated client.
    pub client_id: &'a str,
    /// A narrower scope for the new tokens, if asked for.
    pub scope: Option<&'a str>,
    /// The APIs the new access token is to be for (`resource`, RFC 8707 §2.2), as read
    /// (`oidc::resource::asked`): within those of the grant; none: all of them.
    pub resources: &'a [String],
}

/// What to do with a presented refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Mark the token rotated and store the new tokens in `grant.family_id` with `grant.scope`.
    Issue(Box<Grant>),
    /// Change nothing.
    Invalid,
    /// Change nothing: the requested scope is not within the token's.
    ScopeExceeded,
    /// Change nothing: the request named a resource the family's grant does not cover.
    TargetExceeded,
    /// Change nothing: the user may not use this client (any more). The family stays, so
    /// giving the access back lets it refresh again. `username` is whose family it is.
    Denied { username: String },
    /// Change nothing: the client requires a confirmed address, or the account one at its
    /// domains, and the person's address is not that (any more): changed since they signed in,
    /// or the rule set since. The family stays, so once the address is confirmed it refreshes
    /// again. `username` is whose family it is.
    Unconfirmed { username: String },
    /// Revoke the family, `username`'s: a rotated token came back, so it leaked.
    Reuse { family: String, username: String },
    /// Change nothing: the request is a retry of the one that rotated the token, within the
    /// window and before the new refresh token was used. It gets the same answer, `sealed`
    /// with its `scope`, so concurrent requests with one token all succeed, without a second
    /// branch in the family.
    Replay { sealed: Vec<u8>, scope: String },
}

/// Decides a rotation.
pub fn decide(row: Option<RefreshRow>, request: RefreshRequest<'_>, now: UnixTime) -> Rotation {
    let Some(row) = row else {
        return Rotation::Invalid;
    };
    // Another client's token is not evidence of anything about this family (RFC 6749 §6: the
    // token is bound to its client), and a revoked family has nothing left to protect.
    if row.client_id != request.client_id || row.family_revoked {
        return Rotation::Invalid;
    }
    // RFC 9700 §4.14.2: a rotated token used again means it leaked; revoke the family, the
    // legitimate holder's current token included. Unless it is a retry of the request that
    // rotated it: the same scope asked for, within the window, the new token not used yet.
    let replay = match (row.rotated, &row.retry) {
        (false, _) => None,
        (true, Some(retry))
            if now < retry.until
                && !retry.successor_used
                && retry.successor_scope
                    == request
                        .scope
                        .map_or_else(|| row.scope.clone(), scope::normalize) =>
        {
            Some(retry.clone())
        }
        (true, _) => {
            return Rotation::Reuse {
                family: row.family_id,
                username: row.user.username,
            };
        }
    };
    // A family tied to a session ends with it (`scope::outlives_session`).
    if row.expires_at <= now || row.user.disabled || !row.session_alive {
        return Rotation::Invalid;
    }
    if !row.access_allowed {
        return Rotation::Denied {
            username: row.user.username,
        };
    }
    // The address rules hold at each refresh as at sign-in (`authorize::address_still_holds`):
    // a new access token would otherwise read at `/userinfo` an address nobody confirmed, for
    // an application that trusts it.
    let of = AddressOf::of(&row.user, &row.account_domains);
    if !address_still_holds(row.client_requires_confirmed_address, of) {
        return Rotation::Unconfirmed {
            username: row.user.username,
        };
    }
    if let Some(retry) = replay {
        return Rotation::Replay {
            sealed: retry.sealed,
            scope: retry.successor_scope,
        };
    }
    let scope = match request.scope {
        Some(requested) if !scope::is_subset(requested, &row.scope) => {
            return Rotation::ScopeExceeded;
        }
        Some(requested) => scope::normalize(requested),
        None => row.scope,
    };
    // RFC 8707 §2.2: each refresh may narrow the grant's resources, never widen them.
    let Some(resources) = resource::narrowed(request.resources, &row.resources) else {
        return Rotation::TargetExceeded;
    };
    Rotation::Issue(Box::new(Grant {
        user: row.user,
        client_id: row.client_id,
        scope,
        nonce: row.nonce,
        auth_time: row.auth_time,
        amr: row.amr,
        family_id: row.family_id,
        session_id_hash: None,
        resources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_000_000;

    fn row() -> RefreshRow {
        RefreshRow {
            family_id: "f".into(),
            scope: "openid email offline_access".into(),
            expires_at: NOW + 3600,
            rotated: false,
            client_id: "app".into(),
            nonce: Some("n".into()),
            auth_time: NOW - 100,
            amr: crate::model::Amr::PASSWORD,
            family_revoked: false,
            user: User::example(),
            session_alive: true,
            access_allowed: true,
            retry: None,
            resources: vec![],
            client_requires_confirmed_address: false,
            account_domains: vec![],
        }
    }

    const APP: RefreshRequest<'static> = RefreshRequest {
        client_id: "app",
        scope: None,
        resources: &[],
    };

    #[test]
    fn a_current_token_rotates_with_its_scope_or_a_narrower_one() {
        let Rotation::Issue(grant) = decide(Some(row()), APP, NOW) else {
            panic!("not issued");
        };
        assert_eq!(
            (
                grant.family_id.as_str(),
                grant.scope.as_str(),
                grant.nonce.as_deref()
            ),
            ("f", "openid email offline_access", Some("n"))
        );
        let narrower = RefreshRequest {
            scope: Some("email  openid"),
            ..APP
        };
        let Rotation::Issue(grant) = decide(Some(row()), narrower, NOW) else {
            panic!("not issued");
        };
        assert_eq!(grant.scope, "email openid");
    }

    /// Rotated by a request a moment ago, its answer kept for five seconds.
    fn retried(r: &mut RefreshRow) {
        r.rotated = true;
        r.retry = Some(RetryRow {
            until: NOW + 5,
            successor_used: false,
            successor_scope: r.scope.clone(),
            sealed: vec![1, 2, 3],
        });
    }

    fn retry(r: &mut RefreshRow) -> &mut RetryRow {
        r.retry.as_mut().unwrap()
    }

    #[test]
    fn outcomes() {
        type Case = (
            &'static str,
            fn(&mut RefreshRow),
            RefreshRequest<'static>,
            Rotation,
        );
        let reuse = Rotation::Reuse {
            family: "f".into(),
            username: "alice".into(),
        };
        let replay = Rotation::Replay {
            sealed: vec![1, 2, 3],
            scope: "openid email offline_access".into(),
        };
        let cases: Vec<Case> = vec![
            ("a retry within the window", retried, APP, replay.clone()),
            (
                "a retry in the window's last second",
                |r| {
                    retried(r);
                    retry(r).until = NOW + 1;
                },
                APP,
                replay,
            ),
            (
                "a retry at the window's end",
                |r| {
                    retried(r);
                    retry(r).until = NOW;
                },
                APP,
                reuse.clone(),
            ),
            (
                "a retry after the new token was used",
                |r| {
                    retried(r);
                    retry(r).successor_used = true;
                },
                APP,
                reuse.clone(),
            ),
            (
                "a retry asking for another scope",
                retried,
                RefreshRequest {
                    client_id: "app",
                    scope: Some("openid"),
                    resources: &[],
                },
                reuse.clone(),
            ),
            (
                "a retry asking again for the narrower scope it got",
                |r| {
                    retried(r);
                    retry(r).successor_scope = "email openid".into();
                },
                RefreshRequest {
                    client_id: "app",
                    scope: Some("email  openid"),
                    resources: &[],
                },
                Rotation::Replay {
                    sealed: vec![1, 2, 3],
                    scope: "email openid".into(),
                },
            ),
            (
                "a retry without the narrower scope it got",
                |r| {
                    retried(r);
                    retry(r).successor_scope = "email openid".into();
                },
                APP,
                reuse.clone(),
            ),
            (
                "another client's retry",
                retried,
                RefreshRequest {
                    client_id: "other",
                    scope: None,
                    resources: &[],
                },
                Rotation::Invalid,
            ),
            (
                "a retry once the family is revoked",
                |r| {
                    retried(r);
                    r.family_revoked = true;
                },
                APP,
                Rotation::Invalid,
            ),
            (
                "a retry once the session ended",
                |r| {
                    retried(r);
                    r.session_alive = false;
                },
                APP,
                Rotation::Invalid,
            ),
            (
                "a retry once outside the client's groups",
                |r| {
                    retried(r);
                    r.access_allowed = false;
                },
                APP,
                Rotation::Denied {
                    username: "alice".into(),
                },
            ),
            ("rotated before", |r| r.rotated = true, APP, reuse.clone()),
            // A rotated token is reuse even once expired or when its user is disabled: the
            // leak is the news, and revoking a dead family costs nothing.
            (
                "rotated and expired",
                |r| {
                    r.rotated = true;
                    r.expires_at = NOW - 1;
                },
                APP,
                reuse.clone(),
            ),
            (
                "another client's",
                |_| {},
                RefreshRequest {
                    client_id: "other",
                    scope: None,
                    resources: &[],
                },
                Rotation::Invalid,
            ),
            (
                "another client's, rotated: not reuse",
                |r| r.rotated = true,
                RefreshRequest {
                    client_id: "other",
                    scope: None,
                    resources: &[],
                },
                Rotation::Invalid,
            ),
            (
                "family revoked",
                |r| r.family_revoked = true,
                APP,
                Rotation::Invalid,
            ),
            (
                "family revoked, rotated: already handled",
                |r| {
                    r.family_revoked = true;
                    r.rotated = true;
                },
                APP,
                Rotation::Invalid,
            ),
            (
                "expired at now",
                |r| r.expires_at = NOW,
                APP,
                Rotation::Invalid,
            ),
            (
                "user disabled",
                |r| r.user.disabled = true,
                APP,
                Rotation::Invalid,
            ),
            (
                "session ended",
                |r| r.session_alive = false,
                APP,
                Rotation::Invalid,
            ),
            (
                "outside the client's groups",
                |r| r.access_allowed = false,
                APP,
                Rotation::Denied {
                    username: "alice".into(),
                },
            ),
            (
                "the client requires a confirmed address, and it is not",
                |r| r.client_requires_confirmed_address = true,
                APP,
                Rotation::Unconfirmed {
                    username: "alice".into(),
                },
            ),
            (
                "the account's domains, its address unconfirmed",
                |r| r.account_domains = vec!["example.com".into()],
                APP,
                Rotation::Unconfirmed {
                    username: "alice".into(),
                },
            ),
            (
                "the account's domains, its address confirmed elsewhere",
                |r| {
                    r.account_domains = vec!["example.org".into()];
                    r.user.email_verified = true;
                },
                APP,
                Rotation::Unconfirmed {
                    username: "alice".into(),
                },
            ),
            (
                "a retry once the address is unconfirmed",
                |r| {
                    retried(r);
                    r.client_requires_confirmed_address = true;
                },
                APP,
                Rotation::Unconfirmed {
                    username: "alice".into(),
                },
            ),
            // Reuse is news whatever the address.
            (
                "unconfirmed, rotated",
                |r| {
                    r.client_requires_confirmed_address = true;
                    r.rotated = true;
                },
                APP,
                reuse.clone(),
            ),
            // Reuse is news whoever may use the client now.
            (
                "outside the groups, rotated",
                |r| {
                    r.access_allowed = false;
                    r.rotated = true;
                },
                APP,
                reuse.clone(),
            ),
            (
                "wider scope",
                |_| {},
                RefreshRequest {
                    client_id: "app",
                    scope: Some("openid profile"),
                    resources: &[],
                },
                Rotation::ScopeExceeded,
            ),
        ];
        for (name, change, request, expected) in cases {
            let mut r = row();
            change(&mut r);
            assert_eq!(decide(Some(r), request, NOW), expected, "{name}");
        }
        assert_eq!(decide(None, APP, NOW), Rotation::Invalid, "unknown token");
    }

    #[test]
    fn a_confirmed_address_where_one_is_required_refreshes() {
        type Change = fn(&mut RefreshRow);
        let cases: [(&str, Change); 3] = [
            ("no rule, unconfirmed", |_| {}),
            ("the client requires one", |r| {
                r.client_requires_confirmed_address = true;
                r.user.email_verified = true;
            }),
            ("the account's domains, at one of them", |r| {
                r.account_domains = vec!["example.org".into(), "example.com".into()];
                r.user.email_verified = true;
            }),
        ];
        for (name, change) in cases {
            let mut r = row();
            change(&mut r);
            let outcome = decide(Some(r.clone()), APP, NOW);
            assert!(matches!(outcome, Rotation::Issue(_)), "{name}: {outcome:?}");
            // A retry is answered as the first request was, under the same rules.
            retried(&mut r);
            let outcome = decide(Some(r), APP, NOW);
            assert!(
                matches!(outcome, Rotation::Replay { .. }),
                "{name}: {outcome:?}"
            );
        }
    }

    #[test]
    fn a_refresh_narrows_the_grants_resources_and_never_widens_them() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let granted = || RefreshRow {
            resources: strings(&["urn:a", "urn:b"]),
            ..row()
        };
        let for_resources = |asked: &[String]| {
            let request = RefreshRequest {
                resources: asked,
                ..APP
            };
            match decide(Some(granted()), request, NOW) {
                Rotation::Issue(grant) => Ok(grant.resources),
                other => Err(other),
            }
        };
        assert_eq!(for_resources(&[]), Ok(strings(&["urn:a", "urn:b"])));
        assert_eq!(for_resources(&strings(&["urn:b"])), Ok(strings(&["urn:b"])));
        assert_eq!(
            for_resources(&strings(&["urn:b", "urn:c"])),
            Err(Rotation::TargetExceeded)
        );
        let none = RefreshRequest {
            resources: &[],
            ..APP
        };
        let Rotation::Issue(grant) = decide(Some(row()), none, NOW) else {
            panic!("not issued");
        };
        assert!(grant.resources.is_empty(), "a grant for no resource");
        // A rotated token is reuse, whatever the request names.
        let mut rotated = granted();
        rotated.rotated = true;
        let wider = strings(&["urn:c"]);
        let request = RefreshRequest {
            resources: &wider,
            ..APP
        };
        assert_eq!(
            decide(Some(rotated), request, NOW),
            Rotation::Reuse {
                family: "f".into(),
                username: "alice".into(),
            }
        );
    }

    fn stored(hash: &str, scope: &str) -> StoredToken {
        StoredToken {
            hash: hash.into(),
            scope: scope.into(),
            expires_at: NOW + 3600,
        }
    }

    /// Generation 3 is current, narrowed from generation 2, whose rotation's answer is kept.
    fn family() -> FamilyTokens {
        FamilyTokens {
            current: Some(stored("g3", "openid")),
            previous: Some((
                StoredToken {
                    expires_at: NOW + 3000,
                    ..stored("g2", "openid email offline_access")
                },
                vec![4, 5],
                NOW + 5,
            )),
        }
    }

    #[test]
    fn a_token_of_the_family_format_is_judged_by_its_generation() {
        let judged = |family: &FamilyTokens, hash: &str, request| {
            let state = generation(family, hash);
            let row = RefreshRow {
                scope: state.scope,
                expires_at: state.expires_at,
                rotated: state.rotated,
                retry: state.retry,
                ..row()
            };
            decide(Some(row), request, NOW)
        };
        let reuse = Rotation::Reuse {
            family: "f".into(),
            username: "alice".into(),
        };
        let Rotation::Issue(grant) = judged(&family(), "g3", APP) else {
            panic!("the current token does not rotate");
        };
        assert_eq!(grant.scope, "openid");
        // The one before: a retry of the request that rotated it gets that answer.
        let narrowed = RefreshRequest {
            scope: Some("openid"),
            ..APP
        };
        assert_eq!(
            judged(&family(), "g2", narrowed),
            Rotation::Replay {
                sealed: vec![4, 5],
                scope: "openid".into()
            }
        );
        // ... but not another request, nor once its answer is forgotten.
        assert_eq!(judged(&family(), "g2", APP), reuse);
        let forgotten = FamilyTokens {
            previous: None,
            ..family()
        };
        assert_eq!(judged(&forgotten, "g2", narrowed), reuse);
        // Any other token the family's MAC vouches for was rotated before.
        assert_eq!(judged(&family(), "g1", APP), reuse);
        // The current token is judged without the one before it: a store that keeps that one
        // apart reads it only when the token presented is not the current one.
        assert_eq!(judged(&forgotten, "g3", APP), judged(&family(), "g3", APP));
        assert_eq!(
            family().current_if("g3").map(|c| c.hash.as_str()),
            Some("g3")
        );
        assert_eq!(family().current_if("g2"), None);
        // A family that has no token of this format yet knows none of them as current.
        let none = FamilyTokens {
            current: None,
            previous: None,
        };
        assert_eq!(judged(&none, "g3", APP), reuse);
        assert_eq!(none.current_if("g3"), None);
        assert_eq!(
            generation(&family(), "g2").expires_at,
            NOW + 3000,
            "the previous token keeps its own expiry"
        );
    }
}
