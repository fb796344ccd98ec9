//! Clients kept in memory between requests, so that a token request on PostgreSQL does not
//! pay a round trip to look up the client it authenticates (a refresh is otherwise three: the
//! client, the family, the rotation).
//!
//! A client is kept only while this instance hears of every change to the `client` table: a
//! trigger (migration 23) notifies the channel [`CHANNEL`] with the client's id when a row is
//! updated or deleted, PostgreSQL delivers it to every instance listening once the change
//! commits, and each one forgets that client. While the listening connection is down, nothing
//! is kept and every lookup reads the table, as before; when it comes back, everything kept
//! before is forgotten, since changes made meanwhile were not heard. A lookup that read the
//! table while a change was heard does not keep what it read (it may be the row before the
//! change). Whatever else happens, a client is kept at most [`KEPT_FOR`]. Changes this instance
//! makes are forgotten at once, without waiting to hear them; another instance's (or the
//! CLI's) are heard within moments of their commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::model::Client;

/// The channel the trigger notifies (`0023_client_changes.sql`).
pub(super) const CHANNEL: &str = "gatehouse_client_changed";
/// The longest a client is kept, heard of or not.
pub(super) const KEPT_FOR: Duration = Duration::from_secs(60);
/// The most clients kept; past it, those kept over half of [`KEPT_FOR`] are forgotten, and all
/// of them if that is not enough.
const MOST_KEPT: usize = 4096;
/// How long the listener waits before it connects again after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Kept {
    /// Whether every change is being heard: only then is anything kept.
    listening: bool,
    /// Counts what was heard (changes, a reconnection): a lookup keeps what it read only if
    /// nothing was heard while it read.
    heard: u64,
    clients: HashMap<String, (Client, Instant)>,
}

/// The clients kept, shared by the store and its listener.
#[derive(Default)]
pub(super) struct ClientCache {
    kept: Mutex<Kept>,
}

/// What a lookup found kept.
pub(super) enum Lookup {
    Kept(Box<Client>),
    /// Not kept: read it, then [`ClientCache::keep`] it with this ticket (`None`: nothing is
    /// kept now).
    Read(Option<u64>),
}

impl ClientCache {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Nothing held under the lock can be left half-changed by a panic.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn lookup(&self, client_id: &str, now: Instant) -> Lookup {
        let kept = self.kept();
        if !kept.listening {
            return Lookup::Read(None);
        }
        match kept.clients.get(client_id) {
            Some((client, since)) if now.duration_since(*since) < KEPT_FOR => {
                Lookup::Kept(Box::new(client.clone()))
            }
            _ => Lookup::Read(Some(kept.heard)),
        }
    }

    /// Keeps `client`, read since [`Self::lookup`] gave `ticket`, unless a change was heard
    /// meanwhile.
    pub(super) fn keep(&self, client: &Client, ticket: Option<u64>, now: Instant) {
        let mut kept = self.kept();
        if !kept.listening || ticket != Some(kept.heard) {
            return;
        }
        if kept.clients.len() >= MOST_KEPT {
            kept.clients
                .retain(|_, (_, since)| now.duration_since(*since) < KEPT_FOR / 2);
            if kept.clients.len() >= MOST_KEPT {
                kept.clients.clear();
            }
        }
        kept.clients
            .insert(client.client_id.clone(), (client.clone(), now));
    }

    /// A change to `client_id` was made or heard of.
    pub(super) fn forget(&self, client_id: &str) {
        let mut kept = self.kept();
        kept.heard += 1;
        kept.clients.remove(client_id);
    }

    /// Forgets everything; keeps clients again from now only if `listening`.
    fn forget_all(&self, listening: bool) {
        let mut kept = self.kept();
        kept.heard += 1;
        kept.listening = listening;
        kept.clients.clear();
    }

    /// Whether clients are being kept (the listener hears every change).
    #[cfg(test)]
    fn listening(&self) -> bool {
        self.kept().listening
    }
}

/// Hears of changes to clients for `cache` until aborted (the store's drop aborts it).
pub(super) fn listen(pool: PgPool, cache: Arc<ClientCache>) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        loop {
            let listener = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            match listener.await {
                Ok(mut listener) => {
                    cache.forget_all(true);
                    let error = loop {
                        match listener.try_recv().await {
                            Ok(Some(change)) => cache.forget(change.payload()),
                            // The connection was lost and made again: what changed meanwhile
                            // was not heard.
                            Ok(None) => cache.forget_all(true),
                            Err(e) => break e,
                        }
                    };
                    cache.forget_all(false);
                    tracing::warn!(error = %error, "not hearing of client changes: clients are read for each request until the connection is back");
                }
                Err(error) => {
                    cache.forget_all(false);
                    tracing::debug!(error = %error, "cannot listen for client changes yet");
                }
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    })
    .abort_handle()
}

/// Stops the listener when the store goes.
pub(super) struct Listening(pub(super) tokio::task::AbortHandle);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, name: &str) -> Client {
        let mut c = Client::example(id, false);
        c.display.name = Some(name.into());
        c
    }

    fn kept(cache: &ClientCache, id: &str, now: Instant) -> Option<String> {
        match cache.lookup(id, now) {
            Lookup::Kept(c) => c.display.name.clone(),
            Lookup::Read(_) => None,
        }
    }

    fn ticket(cache: &ClientCache, id: &str, now: Instant) -> Option<u64> {
        match cache.lookup(id, now) {
            Lookup::Read(ticket) => ticket,
            Lookup::Kept(_) => panic!("{id} is kept"),
        }
    }

    #[test]
    fn nothing_is_kept_while_changes_are_not_heard() {
        let now = Instant::now();
        let cache = ClientCache::default();
        assert!(!cache.listening());
        assert_eq!(ticket(&cache, "web", now), None);
        cache.keep(&client("web", "Web"), None, now);
        assert_eq!(kept(&cache, "web", now), None);
        cache.forget_all(true);
        let t = ticket(&cache, "web", now);
        cache.keep(&client("web", "Web"), t, now);
        assert_eq!(kept(&cache, "web", now).as_deref(), Some("Web"));
        // The connection is lost: everything is forgotten, and nothing kept until it is back.
        cache.forget_all(false);
        assert_eq!(kept(&cache, "web", now), None);
        assert_eq!(ticket(&cache, "web", now), None);
    }

    #[test]
    fn a_change_heard_is_forgotten_and_a_read_it_overtook_is_not_kept() {
        let now = Instant::now();
        let cache = ClientCache::default();
        cache.forget_all(true);
        let t = ticket(&cache, "web", now);
        cache.keep(&client("web", "Web"), t, now);
        cache.forget("web");
        assert_eq!(kept(&cache, "web", now), None, "changed: read again");
        // A read begun before a change is heard may hold the row before it.
        let t = ticket(&cache, "web", now);
        cache.forget("web");
        cache.keep(&client("web", "Old"), t, now);
        assert_eq!(kept(&cache, "web", now), None);
        // A reconnection, where changes may have been missed, voids tickets too.
        let t = ticket(&cache, "web", now);
        cache.forget_all(true);
        cache.keep(&client("web", "Old"), t, now);
        assert_eq!(kept(&cache, "web", now), None);
    }

    #[test]
    fn a_client_is_kept_for_a_minute_at_most() {
        let now = Instant::now();
        let cache = ClientCache::default();
        cache.forget_all(true);
        let t = ticket(&cache, "web", now);
        cache.keep(&client("web", "Web"), t, now);
        let later = now + KEPT_FOR - Duration::from_millis(1);
        assert_eq!(kept(&cache, "web", later).as_deref(), Some("Web"));
        assert_eq!(kept(&cache, "web", now + KEPT_FOR), None);
    }

    #[test]
    fn the_number_kept_is_bounded() {
        let now = Instant::now();
        let cache = ClientCache::default();
        cache.forget_all(true);
        for i in 0..MOST_KEPT + 10 {
            let id = format!("c{i}");
            let t = ticket(&cache, &id, now);
            cache.keep(&client(&id, "C"), t, now);
        }
        assert!(cache.kept().clients.len() <= MOST_KEPT);
        assert!(kept(&cache, &format!("c{}", MOST_KEPT + 9), now).is_some());
    }
}
