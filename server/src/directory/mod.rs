//! Who is online, with which presence, and how to reach their sessions: the seam between the
//! services and the place sessions live.
//!
//! Services never hold a session. They find a user's [`SessionHandle`] by (tenant, user)
//! through the [`Directory`] trait and send to it; sending only queues, never waits (see
//! [`outbound`]). [`local::LocalDirectory`] is the one implementation: the sessions of this
//! process. A directory shared by several server processes would be a second one.
//!
//! Everything takes it as `&dyn Directory` / `Arc<dyn Directory>`, a trait object rather than
//! a type parameter: the indirect call costs nothing next to the lock and hash lookup behind
//! every method, while a type parameter would run through every service, the shared state,
//! the session and the server for a choice made once at start.

pub mod handle;
pub mod local;
pub mod outbound;

use crvideo_proto::UserStatus;

use handle::SessionHandle;
use outbound::{SessionId, SessionLink};

/// The user ID a login asks for.
pub enum WantedId<'a> {
    /// This exact ID (a relogin replaces the session holding it).
    Given(&'a str),
    /// Any ID not online in the tenant, made by the given generator.
    Assign(&'a mut dyn FnMut() -> String),
}

/// What a user is doing, as far as presence shows it (see [`Directory::set_activity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Ringing or talking: busy.
    Call,
    /// A queue agent serving a customer: busy.
    Service,
    /// In a meeting room: in meeting (unless busy).
    Meeting,
}

/// Who is online in each tenant, with which presence, and the handle that reaches their
/// session.
///
/// Each tenant's changes happen in one order, and every subscriber of that tenant hears them
/// in that order, each once. An `ack` runs in that order too, before the change is told to
/// anyone, so a requester's reply precedes the notifications its request causes. A handle
/// whose session was replaced (a relogin) changes nothing any more: those methods return
/// false.
pub trait Directory: Send + Sync {
    /// Registers a session as (tenant, user) with its nickname, online and idle with DND off,
    /// and tells the tenant's subscribers (once, also for a relogin). Returns the new handle
    /// and the handle it replaced, if any (already removed, subscription included: the caller
    /// kicks it). Atomic: two logins racing for the same user leave exactly one entry, and an
    /// assigned ID is unique in the tenant.
    fn register(
        &self,
        tenant: &str,
        wanted: WantedId<'_>,
        nickname: &str,
        link: SessionLink,
    ) -> (SessionHandle, Option<SessionHandle>);

    /// Removes (tenant, user) if it is still `session`, and tells the subscribers the user is
    /// offline. True if removed.
    fn remove(&self, tenant: &str, user_id: &str, session: SessionId) -> bool;

    /// The session of (tenant, user) and its DND value, if online.
    fn lookup(&self, tenant: &str, user_id: &str) -> Option<(SessionHandle, i32)>;

    /// Sets the session's DND value: `ack`, then the change is published. False if the
    /// session was replaced (nothing changed, `ack` not run).
    fn set_dnd(&self, handle: &SessionHandle, dnd: i32, ack: &mut dyn FnMut()) -> bool;

    /// Marks the session as doing `activity` or not; its status follows (busy in a call or
    /// serving, else in meeting, else idle) and is published if it changed.
    fn set_activity(&self, handle: &SessionHandle, activity: Activity, on: bool) -> bool;

    /// The session's DND value and whether it is in a call; None if it is no longer
    /// registered (offline, or replaced by a relogin).
    fn availability(&self, handle: &SessionHandle) -> Option<(i32, bool)>;

    /// Subscribes the session to its tenant's presence changes: `ack`, then every change.
    fn subscribe(&self, handle: &SessionHandle, ack: &mut dyn FnMut()) -> bool;

    /// Ends the session's subscription (if any); no notification follows `ack`.
    fn unsubscribe(&self, handle: &SessionHandle, ack: &mut dyn FnMut());

    /// The presence of every online user of `tenant`, sorted by user ID.
    fn statuses(&self, tenant: &str) -> Vec<UserStatus>;

    /// The session of (tenant, user), if online.
    fn get(&self, tenant: &str, user_id: &str) -> Option<SessionHandle> {
        self.lookup(tenant, user_id).map(|(handle, _)| handle)
    }

    /// Sorted IDs of the users of `tenant` with a live session.
    fn online_users(&self, tenant: &str) -> Vec<String> {
        self.statuses(tenant)
            .into_iter()
            .map(|s| s.user_id)
            .collect()
    }
}
