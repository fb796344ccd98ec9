//! Clients kept in memory between requests, so that a token request does not pay a read of
//! the client it authenticates: on PostgreSQL a round trip (a refresh is otherwise three: the
//! client, the family, the rotation), on SQLite a reader's turn and the row's parsing.
//!
//! A change this process makes is forgotten at once, after it commits; a lookup that read the
//! table while a change was made does not keep what it read (it may be the row before the
//! change). A change made elsewhere (another process, the CLI, by hand) is learnt of as each
//! backend can:
//!
//! - **PostgreSQL** ([`ClientCache::while_heard`]): a trigger (migration 23) notifies a channel
//!   with the client's id when a row is updated or deleted, PostgreSQL delivers it to every
//!   instance listening once the change commits, and each one forgets that client. While the
//!   listening connection is down, nothing is kept and every lookup reads the table; when it
//!   comes back, everything kept before is forgotten, since changes made meanwhile were not
//!   heard. Whatever else happens, a client is kept at most a minute.
//! - **SQLite** ([`ClientCache::for_at_most`]): another process cannot tell this one of its
//!   change, and asking the file at each request is the read this saves; so a client is kept
//!   for a second at most ([`SQLITE_KEPT_FOR`]), and another process's change is used within
//!   a second of its commit, as a request that was already under way would have used the row
//!   before it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::model::Client;
use crate::store::StoreResult;

/// The longest PostgreSQL keeps a client, heard of or not.
pub(super) const POSTGRES_KEPT_FOR: Duration = Duration::from_secs(60);
/// The longest SQLite keeps a client: how soon another process's change is used.
pub(super) const SQLITE_KEPT_FOR: Duration = Duration::from_secs(1);
/// The most clients kept; past it, those kept over half of the longest are forgotten, and all
/// of them if that is not enough.
const MOST_KEPT: usize = 4096;

#[derive(Default)]
struct Kept {
    /// Whether every change is being heard: only then is anything kept.
    listening: bool,
    /// Counts what was heard (changes, a reconnection): a lookup keeps what it read only if
    /// nothing was heard while it read.
    heard: u64,
    clients: HashMap<String, (Client, Instant)>,
}

/// The clients kept.
pub(super) struct ClientCache {
    kept: Mutex<Kept>,
    /// The longest a client is kept.
    kept_for: Duration,
}

/// What a lookup found kept.
enum Lookup {
    Kept(Box<Client>),
    /// Not kept: read it, then [`ClientCache::keep`] it with this ticket (`None`: nothing is
    /// kept now).
    Read(Option<u64>),
}

impl ClientCache {
    /// Keeps clients only while told that every change is heard
    /// ([`Self::forget_all`]`(true)`), each for [`POSTGRES_KEPT_FOR`] at most.
    pub(super) fn while_heard() -> Self {
        ClientCache {
            kept: Mutex::default(),
            kept_for: POSTGRES_KEPT_FOR,
        }
    }

    /// Keeps each client for `kept_for` at most, from now on.
    pub(super) fn for_at_most(kept_for: Duration) -> Self {
        let cache = ClientCache {
            kept: Mutex::default(),
            kept_for,
        };
        cache.kept().listening = true;
        cache
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        // Nothing held under the lock can be left half-changed by a panic.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, client_id: &str, now: Instant) -> Lookup {
        let kept = self.kept();
        if !kept.listening {
            return Lookup::Read(None);
        }
        match kept.clients.get(client_id) {
            Some((client, since)) if now.duration_since(*since) < self.kept_for => {
                Lookup::Kept(Box::new(client.clone()))
            }
            _ => Lookup::Read(Some(kept.heard)),
        }
    }

    /// The client `client_id`: the one kept, else what `read` reads (kept if nothing changed
    /// meanwhile).
    pub(super) async fn client<F>(
        &self,
        client_id: &str,
        read: impl FnOnce() -> F,
    ) -> StoreResult<Option<Client>>
    where
        F: Future<Output = StoreResult<Option<Client>>>,
    {
        let asked = Instant::now();
        let ticket = match self.lookup(client_id, asked) {
            Lookup::Kept(client) => return Ok(Some(*client)),
            Lookup::Read(ticket) => ticket,
        };
        let client = read().await?;
        if let Some(c) = &client {
            // Kept from before the read: what it read is no older than that, so a change it
            // missed is not used more than `kept_for` after its commit.
            self.keep(c, ticket, asked);
        }
        Ok(client)
    }

    /// Keeps `client`, read since [`Self::lookup`] gave `ticket`, unless a change was heard
    /// meanwhile.
    fn keep(&self, client: &Client, ticket: Option<u64>, now: Instant) {
        let kept_for = self.kept_for;
        let mut kept = self.kept();
        if !kept.listening || ticket != Some(kept.heard) {
            return;
        }
        if kept.clients.len() >= MOST_KEPT {
            kept.clients
                .retain(|_, (_, since)| now.duration_since(*since) < kept_for / 2);
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
    pub(super) fn forget_all(&self, listening: bool) {
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
        let cache = ClientCache::while_heard();
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
        let cache = ClientCache::while_heard();
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
        let cache = ClientCache::while_heard();
        cache.forget_all(true);
        let t = ticket(&cache, "web", now);
        cache.keep(&client("web", "Web"), t, now);
        let later = now + POSTGRES_KEPT_FOR - Duration::from_millis(1);
        assert_eq!(kept(&cache, "web", later).as_deref(), Some("Web"));
        assert_eq!(kept(&cache, "web", now + POSTGRES_KEPT_FOR), None);
    }

    #[test]
    fn on_sqlite_a_client_is_kept_for_a_second_and_a_change_here_forgotten_at_once() {
        let now = Instant::now();
        let cache = ClientCache::for_at_most(SQLITE_KEPT_FOR);
        let t = ticket(&cache, "web", now);
        assert!(t.is_some(), "kept from the start, with no listener");
        cache.keep(&client("web", "Web"), t, now);
        let later = now + SQLITE_KEPT_FOR - Duration::from_millis(1);
        assert_eq!(kept(&cache, "web", later).as_deref(), Some("Web"));
        assert_eq!(kept(&cache, "web", now + SQLITE_KEPT_FOR), None);
        // A change made here: read again, and a read it overtook is not kept.
        let now = now + SQLITE_KEPT_FOR;
        let t = ticket(&cache, "web", now);
        cache.keep(&client("web", "Web"), t, now);
        let t = ticket(&cache, "app", now);
        cache.forget("web");
        assert_eq!(kept(&cache, "web", now), None);
        cache.keep(&client("app", "Old"), t, now);
        assert_eq!(kept(&cache, "app", now), None);
    }

    #[test]
    fn the_number_kept_is_bounded() {
        let now = Instant::now();
        let cache = ClientCache::while_heard();
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
