//! Calls and invitations: the state machine ringing → accepted → ended.
//!
//! One table for the whole server under one lock. Every transition — and the events it
//! sends to both parties, and the requester's reply (`ack`) — happens under that lock, so
//! the parties see each call's events in the order the transitions happened, each once.
//! Lock order (the server's one order: see the [crate] documentation): this table first;
//! under it the queues (told when a call is placed or ends), the directory (presence) and
//! session lanes; never the reverse.
//!
//! A user is in at most one call at a time (ringing or talking), as caller or callee. An
//! invitation makes only the invitee busy: an inviter may invite several people. A queue
//! agent in service (see [`crate::services::queues`]) is busy for everyone but its customer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crvideo_proto::{
    valid_call_id, ErrorCode, Event, ServerFrame, INVITE_ACCEPTED, INVITE_HUNG_UP,
    INVITE_NO_ANSWER, INVITE_REJECTED, INVITE_RINGING,
};
use tokio::task::AbortHandle;

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::directory::{Activity, Directory};
use crate::services::queues::Queues;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Call,
    Invite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Ringing,
    Accepted,
}

struct Call {
    kind: Kind,
    /// The caller, or the inviter.
    caller: SessionHandle,
    /// The callee, or the invitee.
    callee: SessionHandle,
    meet_obj: String,
    stage: Stage,
    no_answer_timer: Option<AbortHandle>,
}

impl Call {
    fn is_party(&self, session: SessionId) -> bool {
        self.caller.session_id() == session || self.callee.session_id() == session
    }

    /// The sessions whose user is busy because of this call.
    fn busy_parties(&self) -> Vec<&SessionHandle> {
        match self.kind {
            Kind::Call => vec![&self.caller, &self.callee],
            Kind::Invite => vec![&self.callee],
        }
    }
}

/// A new call or invitation.
pub struct Placement {
    pub kind: Kind,
    pub id: String,
    pub callee: String,
    pub meet_obj: String,
    pub usr_ext_dat: String,
}

/// A call's key: its tenant and its ID. IDs are chosen by the callers' SDKs, so each tenant
/// has its own (one tenant can neither take nor probe another's).
type CallKey = (Arc<str>, String);

fn call_key(party: &SessionHandle, id: &str) -> CallKey {
    (party.tenant_arc(), id.to_owned())
}

#[derive(Default)]
struct Table {
    calls: HashMap<CallKey, Call>,
    /// (tenant, user) → the call that makes them busy.
    busy: HashMap<(Arc<str>, Arc<str>), String>,
    /// Session → the calls it is a party of (of its tenant).
    by_session: HashMap<SessionId, Vec<String>>,
}

/// Every call and invitation in progress.
pub struct Calls {
    table: Mutex<Table>,
    no_answer_after: Duration,
    /// Told when a call (not an invitation) is placed or ends: it starts or ends a queue
    /// agent's service.
    queues: Arc<Queues>,
}

fn event(e: Event) -> ServerFrame {
    ServerFrame::Event(e)
}

fn busy_key(handle: &SessionHandle) -> (Arc<str>, Arc<str>) {
    (handle.tenant_arc(), handle.user_id_arc())
}

impl Calls {
    pub fn new(no_answer_after: Duration, queues: Arc<Queues>) -> Calls {
        Calls {
            table: Mutex::new(Table::default()),
            no_answer_after,
            queues,
        }
    }

    /// Tells the queues a call ended (its parties may be free for customers again).
    fn tell_queues_ended(&self, call: &Call) {
        if call.kind == Kind::Call {
            self.queues.call_ended(&call.caller, &call.callee);
        }
    }

    /// Places a call or invitation from `caller`. On success `ack` runs (the reply), then
    /// an invitation's inviter is told it rings, then the callee gets `CallIn`. `is_known`
    /// tells whether a user ID was ever seen (for `ERR_USER_NOT_FOUND`). `on_timeout` is
    /// spawned to end the call if still ringing after `call_timeout_secs` (it calls
    /// [`Calls::no_answer`] with the caller's tenant and the ID).
    pub fn place(
        &self,
        directory: &dyn Directory,
        caller: &SessionHandle,
        p: Placement,
        is_known: impl FnOnce(&str) -> bool,
        on_timeout: impl FnOnce(String, Duration) -> AbortHandle,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        if !valid_call_id(&p.id)
            || table.calls.contains_key(&call_key(caller, &p.id))
            || p.callee == caller.user_id()
        {
            return Err(ErrorCode::ParamErr);
        }
        // In a call here, or (in a cluster) in one another node holds: the directory's
        // copy of the call flag.
        let in_call = |party: &SessionHandle| {
            table.busy.contains_key(&busy_key(party))
                || directory
                    .availability(party)
                    .is_some_and(|(_, in_call)| in_call)
        };
        if p.kind == Kind::Call && in_call(caller) {
            return Err(ErrorCode::ErrCallExist);
        }
        let Some((callee, dnd)) = directory.lookup(caller.tenant(), &p.callee) else {
            return Err(if is_known(&p.callee) {
                ErrorCode::ErrOffline
            } else {
                ErrorCode::ErrUserNotFound
            });
        };
        // Busy: ringing or talking, DND on, or a queue agent serving another customer (its
        // presence shows busy too; only its customer may reach it).
        if dnd != 0 || in_call(&callee) || self.queues.serves_other_than(&callee, caller) {
            return Err(ErrorCode::ErrBusy);
        }
        let call = Call {
            kind: p.kind,
            caller: caller.clone(),
            callee: callee.clone(),
            meet_obj: p.meet_obj.clone(),
            stage: Stage::Ringing,
            no_answer_timer: Some(on_timeout(p.id.clone(), self.no_answer_after)),
        };
        for party in call.busy_parties() {
            table.busy.insert(busy_key(party), p.id.clone());
            directory.set_activity(party, Activity::Call, true);
        }
        for party in [&call.caller, &call.callee] {
            table
                .by_session
                .entry(party.session_id())
                .or_default()
                .push(p.id.clone());
        }
        table.calls.insert(call_key(caller, &p.id), call);
        if p.kind == Kind::Call {
            self.queues.call_placed(caller, &callee);
        }
        ack();
        if p.kind == Kind::Invite {
            let _ = caller.send(&invite_status(&p.id, INVITE_RINGING));
        }
        let _ = callee.send(&event(Event::CallIn {
            call_id: p.id,
            meet_obj: p.meet_obj,
            caller: caller.user_id().to_owned(),
            usr_ext_dat: p.usr_ext_dat,
        }));
        Ok(())
    }

    /// The callee accepts a ringing call or invitation.
    pub fn accept(
        &self,
        handle: &SessionHandle,
        id: &str,
        meet_obj: String,
        usr_ext_dat: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let call = table
            .calls
            .get_mut(&call_key(handle, id))
            .filter(|c| c.callee.session_id() == handle.session_id() && c.stage == Stage::Ringing)
            .ok_or(ErrorCode::InvalidCallId)?;
        call.stage = Stage::Accepted;
        if let Some(timer) = call.no_answer_timer.take() {
            timer.abort();
        }
        ack();
        let frame = match call.kind {
            Kind::Call => event(Event::CallAccepted {
                call_id: id.to_owned(),
                meet_obj: if meet_obj.is_empty() {
                    call.meet_obj.clone()
                } else {
                    meet_obj
                },
                usr_ext_dat,
            }),
            Kind::Invite => invite_status(id, INVITE_ACCEPTED),
        };
        let _ = call.caller.send(&frame);
        Ok(())
    }

    /// The callee rejects a ringing call or invitation.
    pub fn reject(
        &self,
        directory: &dyn Directory,
        handle: &SessionHandle,
        id: &str,
        usr_ext_dat: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let ringing_for_me = table.calls.get(&call_key(handle, id)).is_some_and(|c| {
            c.callee.session_id() == handle.session_id() && c.stage == Stage::Ringing
        });
        if !ringing_for_me {
            return Err(ErrorCode::InvalidCallId);
        }
        let call = end(&mut table, directory, &call_key(handle, id), None);
        ack();
        let frame = match call.kind {
            Kind::Call => event(Event::CallRejected {
                call_id: id.to_owned(),
                code: ErrorCode::ErrRefuse.code(),
                usr_ext_dat,
            }),
            Kind::Invite => invite_status(id, INVITE_REJECTED),
        };
        let _ = call.caller.send(&frame);
        self.tell_queues_ended(&call);
        Ok(())
    }

    /// Either party ends a call at any stage.
    pub fn hang_up(
        &self,
        directory: &dyn Directory,
        handle: &SessionHandle,
        id: &str,
        usr_ext_dat: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let key = call_key(handle, id);
        if !table
            .calls
            .get(&key)
            .is_some_and(|c| c.is_party(handle.session_id()))
        {
            return Err(ErrorCode::InvalidCallId);
        }
        let call = end(&mut table, directory, &key, None);
        ack();
        tell_other_party(&call, id, handle.session_id(), Ending::HungUp, usr_ext_dat);
        self.tell_queues_ended(&call);
        Ok(())
    }

    /// The inviter withdraws a ringing invitation.
    pub fn cancel_invite(
        &self,
        directory: &dyn Directory,
        handle: &SessionHandle,
        id: &str,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let key = call_key(handle, id);
        let mine = table.calls.get(&key).is_some_and(|c| {
            c.kind == Kind::Invite
                && c.caller.session_id() == handle.session_id()
                && c.stage == Stage::Ringing
        });
        if !mine {
            return Err(ErrorCode::InvalidCallId);
        }
        let call = end(&mut table, directory, &key, None);
        ack();
        let _ = call.callee.send(&hung_up(id, String::new()));
        Ok(())
    }

    /// The no-answer timer of call `id` of `tenant` fired: if it still rings, it ends.
    pub fn no_answer(&self, directory: &dyn Directory, tenant: Arc<str>, id: &str) {
        let mut table = self.table.lock().unwrap();
        let key = (tenant, id.to_owned());
        if !table
            .calls
            .get(&key)
            .is_some_and(|c| c.stage == Stage::Ringing)
        {
            return;
        }
        let call = end(&mut table, directory, &key, None);
        let to_caller = match call.kind {
            Kind::Call => event(Event::CallRejected {
                call_id: id.to_owned(),
                code: ErrorCode::ErrNoAnswer.code(),
                usr_ext_dat: String::new(),
            }),
            Kind::Invite => invite_status(id, INVITE_NO_ANSWER),
        };
        let _ = call.caller.send(&to_caller);
        let _ = call.callee.send(&hung_up(id, String::new()));
        self.tell_queues_ended(&call);
    }

    /// A session is going away: it hangs up all its calls. Its own presence is left alone
    /// (it goes offline next).
    pub fn leave(&self, directory: &dyn Directory, handle: &SessionHandle) {
        let mut table = self.table.lock().unwrap();
        let ids = table
            .by_session
            .remove(&handle.session_id())
            .unwrap_or_default();
        for id in ids {
            let key = call_key(handle, &id);
            if !table.calls.contains_key(&key) {
                continue;
            }
            let call = end(&mut table, directory, &key, Some(handle.session_id()));
            tell_other_party(
                &call,
                &id,
                handle.session_id(),
                Ending::WentOffline,
                String::new(),
            );
            self.tell_queues_ended(&call);
        }
    }

    /// How many calls and invitations are in progress.
    /// Whether call or invitation `id` of `tenant` is in progress here.
    pub fn knows(&self, tenant: &str, id: &str) -> bool {
        let key: CallKey = (Arc::from(tenant), id.to_owned());
        self.table.lock().unwrap().calls.contains_key(&key)
    }

    pub fn len(&self) -> usize {
        self.table.lock().unwrap().calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes a call from the table and frees its parties (presence back to not-in-call,
/// except for `leaving`, which is going offline anyway).
fn end(
    table: &mut Table,
    directory: &dyn Directory,
    key: &CallKey,
    leaving: Option<SessionId>,
) -> Call {
    let id = key.1.as_str();
    let mut call = table
        .calls
        .remove(key)
        .expect("caller checked the call exists");
    if let Some(timer) = call.no_answer_timer.take() {
        timer.abort();
    }
    for party in call.busy_parties() {
        let key = busy_key(party);
        if table.busy.get(&key).is_some_and(|c| c == id) {
            table.busy.remove(&key);
        }
        if Some(party.session_id()) != leaving {
            directory.set_activity(party, Activity::Call, false);
        }
    }
    for party in [&call.caller, &call.callee] {
        if let Some(ids) = table.by_session.get_mut(&party.session_id()) {
            ids.retain(|c| c != id);
            if ids.is_empty() {
                table.by_session.remove(&party.session_id());
            }
        }
    }
    call
}

/// How a party ended a call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    HungUp,
    WentOffline,
}

/// Tells the party that did not end the call that it ended.
fn tell_other_party(call: &Call, id: &str, ended_by: SessionId, how: Ending, usr_ext_dat: String) {
    if call.kind == Kind::Invite && call.callee.session_id() == ended_by {
        // The invitee ended it: the inviter hears how the invitation ended.
        let status = match (call.stage, how) {
            (Stage::Ringing, Ending::HungUp) => INVITE_REJECTED,
            (Stage::Ringing, Ending::WentOffline) => INVITE_NO_ANSWER,
            (Stage::Accepted, _) => INVITE_HUNG_UP,
        };
        let _ = call.caller.send(&invite_status(id, status));
        return;
    }
    let other = if call.caller.session_id() == ended_by {
        &call.callee
    } else {
        &call.caller
    };
    let _ = other.send(&hung_up(id, usr_ext_dat));
}

fn hung_up(id: &str, usr_ext_dat: String) -> ServerFrame {
    event(Event::CallHungup {
        call_id: id.to_owned(),
        usr_ext_dat,
    })
}

fn invite_status(id: &str, status: i32) -> ServerFrame {
    event(Event::InviteStatus {
        invite_id: id.to_owned(),
        status,
    })
}
