//! The transparent channel: commands (`SendCmd`) and bulk transfers (`SendBuffer`,
//! `SendFile`) relayed between users of one tenant.
//!
//! The server never looks into payloads and never buffers more than the flow control allows:
//! a command is relayed at once and answered when the target's SDK acknowledges it; a
//! transfer's chunks are forwarded as they come, in the receiver's bulk lane (see
//! [`crate::directory::outbound`]), within the credit the receiver's SDK grants the sender's
//! SDK.
//!
//! One table under one lock. Every transition sends its notifications (and runs the
//! requester's `ack`, which queues its reply) while holding the lock, so the parties see the
//! transitions of one transfer in one order: e.g. a sender never gets credit after the
//! result of its transfer, and a receiver whose completion was accepted never hears the
//! transfer was cancelled. Lock order (the server's one order: see the [crate]
//! documentation): this table, then the directory and session lanes; the directory never
//! calls back into here.
//!
//! A transfer's end of data ([`Event::TransferEnd`]) travels in the receiver's bulk lane,
//! behind the chunks it follows; everything else travels in the control lanes. Chunks still
//! queued when a transfer is cancelled may reach the receiver after the cancellation.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crvideo_proto::data::encode_command;
use crvideo_proto::{
    encode, valid_call_id, ErrorCode, Event, Reply, ServerFrame, TransferKind, MAX_CMD_BYTES,
};
use tokio_tungstenite::tungstenite::{Bytes, Message};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::directory::Directory;

/// A command relayed to its target, waiting for the target's acknowledgement.
struct PendingCmd {
    sender: SessionHandle,
    /// The sender's request id, answered on acknowledgement.
    re: u64,
    receiver: SessionId,
}

/// A bulk transfer between offer and its end.
struct Transfer {
    sender: SessionHandle,
    receiver: SessionHandle,
    /// Announced size, for the log.
    total: u64,
}

impl Transfer {
    fn sent_by(&self, session: SessionId) -> bool {
        self.sender.session_id() == session
    }

    fn received_by(&self, session: SessionId) -> bool {
        self.receiver.session_id() == session
    }
}

/// What a session takes part in, for its cleanup.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Cmd(u64),
    Transfer(String),
}

#[derive(Default)]
struct Table {
    /// By relay id.
    commands: HashMap<u64, PendingCmd>,
    /// Per sender session: how many of its commands await acknowledgement.
    cmds_in_flight: HashMap<SessionId, usize>,
    /// By tenant, then transfer id: the ids are chosen by the senders' SDKs, so each tenant
    /// has its own (one tenant can neither take nor probe another's ids).
    transfers: HashMap<Arc<str>, HashMap<String, Transfer>>,
    /// Session → the commands and transfers it is a party of (both parties of a transfer
    /// are of one tenant).
    by_session: HashMap<SessionId, HashSet<Key>>,
}

impl Table {
    fn index(&mut self, session: SessionId, key: Key) {
        self.by_session.entry(session).or_default().insert(key);
    }

    fn unindex(&mut self, session: SessionId, key: &Key) {
        if let Some(keys) = self.by_session.get_mut(&session) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_session.remove(&session);
            }
        }
    }

    fn remove_command(&mut self, relay_id: u64) -> Option<PendingCmd> {
        let cmd = self.commands.remove(&relay_id)?;
        let key = Key::Cmd(relay_id);
        let sender = cmd.sender.session_id();
        self.unindex(sender, &key);
        self.unindex(cmd.receiver, &key);
        if let Some(n) = self.cmds_in_flight.get_mut(&sender) {
            *n -= 1;
            if *n == 0 {
                self.cmds_in_flight.remove(&sender);
            }
        }
        Some(cmd)
    }

    /// Transfer `id` of `tenant`.
    fn transfer(&self, tenant: &str, id: &str) -> Option<&Transfer> {
        self.transfers.get(tenant)?.get(id)
    }

    fn remove_transfer(&mut self, tenant: &str, id: &str) -> Option<Transfer> {
        let of_tenant = self.transfers.get_mut(tenant)?;
        let transfer = of_tenant.remove(id)?;
        if of_tenant.is_empty() {
            self.transfers.remove(tenant);
        }
        let key = Key::Transfer(id.to_owned());
        self.unindex(transfer.sender.session_id(), &key);
        self.unindex(transfer.receiver.session_id(), &key);
        Some(transfer)
    }
}

/// A new bulk transfer, as the sender offers it.
pub struct Offer {
    pub transfer_id: String,
    pub target: String,
    pub kind: TransferKind,
    pub name: String,
    pub total: u64,
}

/// Every command awaiting acknowledgement and every transfer in progress.
pub struct Relay {
    table: Mutex<Table>,
    next_relay_id: AtomicU64,
    /// Most transfers one session may be sending at once.
    max_transfers_per_user: usize,
    /// Most commands one session may have awaiting acknowledgement: this bounds the replies
    /// that arrive at once when their target goes away.
    max_cmds_in_flight: usize,
}

impl Default for Relay {
    fn default() -> Relay {
        Relay::new()
    }
}

fn event(e: Event) -> ServerFrame {
    ServerFrame::Event(e)
}

/// Queues a reply to `to`, unless the request was one-way (id 0).
fn reply(to: &SessionHandle, reply: Reply) {
    if reply.re != 0 {
        let _ = to.send(&ServerFrame::Reply(reply));
    }
}

impl Relay {
    pub fn new() -> Relay {
        Relay::with_limits(&crate::config::Limits::default(), 0)
    }

    /// A relay with the `max_transfers_per_user` and `max_cmds_in_flight` of `limits`,
    /// numbering its commands from `id_base + 1` (a cluster node's tag: see
    /// [`crate::cluster`]).
    pub fn with_limits(limits: &crate::config::Limits, id_base: u64) -> Relay {
        Relay {
            table: Mutex::new(Table::default()),
            // Relay ids start at 1: 0 is never used.
            next_relay_id: AtomicU64::new(id_base + 1),
            max_transfers_per_user: limits.max_transfers_per_user,
            max_cmds_in_flight: limits.max_cmds_in_flight,
        }
    }

    /// `SendCmd`: relays `payload` from `sender` to `target` (a user of the sender's tenant,
    /// possibly the sender) as a command frame carrying a fresh relay id and the sender's user
    /// ID. The sender's reply to request `re` follows the target's acknowledgement
    /// ([`Relay::cmd_ack`]), or `SENDDATA_TARGETINVALID` if the target goes away first.
    /// Errors (the caller replies): `SENDCMD_LARGE`, `SENDDATA_TARGETINVALID`,
    /// `TOO_FREQUENT` (the sender has `max_cmds_in_flight` commands awaiting acknowledgement).
    pub fn command(
        &self,
        directory: &dyn Directory,
        sender: &SessionHandle,
        re: u64,
        target: &str,
        payload: &[u8],
    ) -> Result<(), ErrorCode> {
        if payload.len() > MAX_CMD_BYTES {
            return Err(ErrorCode::SendCmdLarge);
        }
        let mut table = self.table.lock().unwrap();
        let in_flight = table.cmds_in_flight.get(&sender.session_id()).copied();
        if in_flight.unwrap_or(0) >= self.max_cmds_in_flight {
            return Err(ErrorCode::TooFrequent);
        }
        // Looked up under the table lock: a target that leaves after this finds the command
        // in the table when it cleans up (see `leave`).
        let receiver = directory
            .get(sender.tenant(), target)
            .ok_or(ErrorCode::SendDataTargetInvalid)?;
        let relay_id = self.next_relay_id.fetch_add(1, Ordering::Relaxed);
        let frame = encode_command(relay_id, sender.user_id(), payload);
        if receiver.send_message(Message::binary(frame)).is_err() {
            return Err(ErrorCode::SendDataTargetInvalid);
        }
        let key = Key::Cmd(relay_id);
        table.index(sender.session_id(), key.clone());
        table.index(receiver.session_id(), key);
        *table.cmds_in_flight.entry(sender.session_id()).or_default() += 1;
        table.commands.insert(
            relay_id,
            PendingCmd {
                sender: sender.clone(),
                re,
                receiver: receiver.session_id(),
            },
        );
        Ok(())
    }

    /// The target of command `relay_id` acknowledges it: the sender gets its reply (0).
    /// False (nothing happens) if the command is unknown or was relayed to another session.
    pub fn cmd_ack(&self, receiver: &SessionHandle, relay_id: u64) -> bool {
        let mut table = self.table.lock().unwrap();
        let mine = table
            .commands
            .get(&relay_id)
            .is_some_and(|c| c.receiver == receiver.session_id());
        if !mine {
            return false;
        }
        let cmd = table.remove_command(relay_id).expect("checked above");
        reply(&cmd.sender, Reply::ok(cmd.re, ()));
        true
    }

    /// The sender offers a transfer. On success `ack` runs (the sender's reply), then the
    /// target gets [`Event::TransferOffered`]. Errors: `PARAM_ERR` (bad or used transfer
    /// id), `SENDDATA_TARGETINVALID` (target not online in the sender's tenant),
    /// `TOO_FREQUENT` (the sender already sends `max_transfers_per_user` transfers).
    pub fn offer(
        &self,
        directory: &dyn Directory,
        sender: &SessionHandle,
        offer: Offer,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        if !valid_call_id(&offer.transfer_id)
            || table
                .transfer(sender.tenant(), &offer.transfer_id)
                .is_some()
        {
            return Err(ErrorCode::ParamErr);
        }
        let sending = table
            .by_session
            .get(&sender.session_id())
            .map_or(0, |keys| {
                keys.iter()
                    .filter(|k| match k {
                        Key::Transfer(id) => table
                            .transfer(sender.tenant(), id)
                            .is_some_and(|t| t.sent_by(sender.session_id())),
                        Key::Cmd(_) => false,
                    })
                    .count()
            });
        if sending >= self.max_transfers_per_user {
            return Err(ErrorCode::TooFrequent);
        }
        let receiver = directory
            .get(sender.tenant(), &offer.target)
            .ok_or(ErrorCode::SendDataTargetInvalid)?;
        let key = Key::Transfer(offer.transfer_id.clone());
        table.index(sender.session_id(), key.clone());
        table.index(receiver.session_id(), key);
        table
            .transfers
            .entry(sender.tenant_arc())
            .or_default()
            .insert(
                offer.transfer_id.clone(),
                Transfer {
                    sender: sender.clone(),
                    receiver: receiver.clone(),
                    total: offer.total,
                },
            );
        tracing::debug!(
            tenant = sender.tenant(),
            sender = sender.user_id(),
            receiver = receiver.user_id(),
            transfer = %offer.transfer_id,
            total = offer.total,
            "transfer offered"
        );
        ack();
        // A receiver that cannot be told is ending: its cleanup ends the transfer.
        let _ = receiver.send(&event(Event::TransferOffered {
            transfer_id: offer.transfer_id,
            source: sender.user_id().to_owned(),
            kind: offer.kind,
            name: offer.name,
            total: offer.total,
        }));
        Ok(())
    }

    /// The receiver of transfer `id` grants credit: forwarded to the sender. False (nothing
    /// happens) if the transfer is unknown or `receiver` is not its receiver.
    pub fn credit(&self, receiver: &SessionHandle, id: &str, bytes: u64, received: u64) -> bool {
        let table = self.table.lock().unwrap();
        let Some(t) = table
            .transfer(receiver.tenant(), id)
            .filter(|t| t.received_by(receiver.session_id()))
        else {
            return false;
        };
        let _ = t.sender.send(&event(Event::TransferCredit {
            transfer_id: id.to_owned(),
            bytes,
            received,
        }));
        true
    }

    /// A chunk frame of transfer `id` from `sender`: `frame` (the whole frame as received) is
    /// queued unchanged in the receiver's bulk lane. False (dropped) if the transfer is
    /// unknown or `sender` is not its sender.
    pub fn chunk(&self, sender: &SessionHandle, id: &str, frame: Bytes) -> bool {
        let table = self.table.lock().unwrap();
        let Some(t) = table
            .transfer(sender.tenant(), id)
            .filter(|t| t.sent_by(sender.session_id()))
        else {
            return false;
        };
        // A full lane ends the receiver's session; its cleanup ends the transfer.
        let _ = t.receiver.send_bulk(Message::Binary(frame));
        true
    }

    /// The sender of transfer `id` sent every chunk: the receiver gets
    /// [`Event::TransferEnd`], in its bulk lane (after the chunks). False if the transfer is
    /// unknown or `sender` is not its sender.
    pub fn end(&self, sender: &SessionHandle, id: &str, digest: String) -> bool {
        let table = self.table.lock().unwrap();
        let Some(t) = table
            .transfer(sender.tenant(), id)
            .filter(|t| t.sent_by(sender.session_id()))
        else {
            return false;
        };
        let frame = event(Event::TransferEnd {
            transfer_id: id.to_owned(),
            digest,
        });
        let _ = t.receiver.send_bulk(Message::text(encode(&frame)));
        true
    }

    /// The receiver holds every byte of transfer `id`: it ends, `ack` runs (the receiver's
    /// reply), the sender gets `TransferResult` 0. `TRANSID_INVALID` if the transfer is
    /// unknown (e.g. cancelled first) or `receiver` is not its receiver.
    pub fn complete(
        &self,
        receiver: &SessionHandle,
        id: &str,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        if !table
            .transfer(receiver.tenant(), id)
            .is_some_and(|t| t.received_by(receiver.session_id()))
        {
            return Err(ErrorCode::TransIdInvalid);
        }
        let t = table
            .remove_transfer(receiver.tenant(), id)
            .expect("checked above");
        tracing::debug!(transfer = %id, total = t.total, "transfer complete");
        ack();
        let _ = t.sender.send(&event(Event::TransferResult {
            transfer_id: id.to_owned(),
            code: 0,
        }));
        Ok(())
    }

    /// The sender cancels transfer `id`: it ends, `ack` runs (the sender's reply), the
    /// receiver gets `TransferCancelled`. `TRANSID_INVALID` if the transfer is unknown
    /// (already ended) or `sender` is not its sender.
    pub fn cancel(
        &self,
        sender: &SessionHandle,
        id: &str,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        if !table
            .transfer(sender.tenant(), id)
            .is_some_and(|t| t.sent_by(sender.session_id()))
        {
            return Err(ErrorCode::TransIdInvalid);
        }
        let t = table
            .remove_transfer(sender.tenant(), id)
            .expect("checked above");
        tracing::debug!(transfer = %id, total = t.total, "transfer cancelled");
        ack();
        let _ = t.receiver.send(&cancelled(id));
        Ok(())
    }

    /// A party of transfer `id` gives up with `code`: it ends; if the receiver gave up, the
    /// sender gets `TransferResult { code }` (code 0, which would claim success, is reported
    /// as `SENDFAIL`); if the sender gave up, the receiver gets `TransferCancelled`. False if
    /// the transfer is unknown or `party` takes no part in it.
    pub fn abort(&self, party: &SessionHandle, id: &str, code: i32) -> bool {
        let mut table = self.table.lock().unwrap();
        let session = party.session_id();
        if !table
            .transfer(party.tenant(), id)
            .is_some_and(|t| t.sent_by(session) || t.received_by(session))
        {
            return false;
        }
        let t = table
            .remove_transfer(party.tenant(), id)
            .expect("checked above");
        tracing::debug!(transfer = %id, total = t.total, code, "transfer aborted");
        // Both, for a transfer to oneself: the session's sending and receiving sides each
        // hear of the end.
        if t.received_by(session) {
            let code = if code == 0 {
                ErrorCode::SendFail.code()
            } else {
                code
            };
            let _ = t.sender.send(&event(Event::TransferResult {
                transfer_id: id.to_owned(),
                code,
            }));
        }
        if t.sent_by(session) {
            let _ = t.receiver.send(&cancelled(id));
        }
        true
    }

    /// A session is going away (call it once it left the directory, so nothing new can be
    /// addressed to it): the senders of commands it did not acknowledge get
    /// `SENDDATA_TARGETINVALID`; its commands are forgotten; the receivers of its transfers
    /// get `TransferCancelled`, the senders of transfers to it `TransferResult` with
    /// `SENDDATA_TARGETINVALID`.
    pub fn leave(&self, handle: &SessionHandle) {
        let session = handle.session_id();
        let mut table = self.table.lock().unwrap();
        let Some(keys) = table.by_session.remove(&session) else {
            return;
        };
        for key in keys {
            match key {
                Key::Cmd(relay_id) => {
                    let Some(cmd) = table.remove_command(relay_id) else {
                        continue;
                    };
                    if cmd.sender.session_id() != session {
                        reply(
                            &cmd.sender,
                            Reply::err(cmd.re, ErrorCode::SendDataTargetInvalid),
                        );
                    }
                }
                Key::Transfer(id) => {
                    let Some(t) = table.remove_transfer(handle.tenant(), &id) else {
                        continue;
                    };
                    if t.sent_by(session) && !t.received_by(session) {
                        let _ = t.receiver.send(&cancelled(&id));
                    } else if t.received_by(session) && !t.sent_by(session) {
                        let _ = t.sender.send(&event(Event::TransferResult {
                            transfer_id: id,
                            code: ErrorCode::SendDataTargetInvalid.code(),
                        }));
                    }
                }
            }
        }
    }

    /// How many commands await acknowledgement.
    pub fn pending_commands(&self) -> usize {
        self.table.lock().unwrap().commands.len()
    }

    /// Whether transfer `id` of `tenant` is in progress here.
    pub fn knows(&self, tenant: &str, id: &str) -> bool {
        let table = self.table.lock().unwrap();
        table
            .transfers
            .get(tenant)
            .is_some_and(|t| t.contains_key(id))
    }

    /// How many transfers are in progress.
    pub fn transfers(&self) -> usize {
        let table = self.table.lock().unwrap();
        table.transfers.values().map(HashMap::len).sum()
    }
}

fn cancelled(id: &str) -> ServerFrame {
    event(Event::TransferCancelled {
        transfer_id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::local::LocalDirectory;
    use crate::directory::outbound::{Outbound, Outbox, SessionLink};
    use crate::directory::WantedId;
    use crvideo_proto::data::{decode_data, encode_chunk, DataFrame};

    /// A logged-in session whose outbound lanes the test can read.
    struct Probe {
        handle: SessionHandle,
        rx: Outbox,
    }

    impl Probe {
        fn login(dir: &LocalDirectory, tenant: &str, user: &str, id: SessionId) -> Probe {
            let (l, rx, _stop) = SessionLink::new(id, "127.0.0.1:1".parse().unwrap());
            let (handle, _) = dir.register(tenant, WantedId::Given(user), "nick", l);
            Probe { handle, rx }
        }

        /// Everything queued so far (control lane first), text as is, binary as `bin:<len>`.
        fn drain(&mut self) -> Vec<String> {
            let mut out = Vec::new();
            while let Ok(Outbound::Message(m)) = self.rx.try_recv() {
                out.push(match m {
                    Message::Text(t) => t.to_string(),
                    Message::Binary(b) => format!("bin:{}", b.len()),
                    other => format!("{other:?}"),
                });
            }
            out
        }

        fn next_binary(&mut self) -> Bytes {
            match self.rx.try_recv() {
                Ok(Outbound::Message(Message::Binary(b))) => b,
                _ => panic!("expected a binary frame"),
            }
        }
    }

    fn offer(id: &str, target: &str) -> Offer {
        Offer {
            transfer_id: id.into(),
            target: target.into(),
            kind: TransferKind::Buffer,
            name: String::new(),
            total: 10,
        }
    }

    #[test]
    fn commands_in_flight_are_capped_per_sender_and_all_answered_when_the_target_goes() {
        let limits = crate::config::Limits {
            max_cmds_in_flight: 3,
            ..Default::default()
        };
        let (dir, relay) = (LocalDirectory::new(), Relay::with_limits(&limits, 0));
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let mut ben = Probe::login(&dir, "t", "ben", 2);
        let cat = Probe::login(&dir, "t", "cat", 3);
        for re in 1..=3 {
            relay.command(&dir, &amy.handle, re, "ben", b"x").unwrap();
        }
        assert_eq!(
            relay.command(&dir, &amy.handle, 4, "ben", b"x"),
            Err(ErrorCode::TooFrequent)
        );
        // Another sender has its own allowance.
        relay.command(&dir, &cat.handle, 1, "ben", b"x").unwrap();
        // An acknowledgement frees a place.
        let DataFrame::Command { id, .. } = decode_data(&ben.next_binary()).unwrap() else {
            panic!("not a command")
        };
        assert!(relay.cmd_ack(&ben.handle, id));
        relay.command(&dir, &amy.handle, 5, "ben", b"x").unwrap();
        assert_eq!(
            relay.command(&dir, &amy.handle, 6, "ben", b"x"),
            Err(ErrorCode::TooFrequent)
        );
        // The target goes: every command still waiting is answered, and the places free.
        dir.remove("t", "ben", 2);
        relay.leave(&ben.handle);
        let mut answered = amy.drain();
        answered.sort();
        assert_eq!(
            answered,
            vec![
                r#"{"t":"reply","re":1,"code":0}"#,
                r#"{"t":"reply","re":2,"code":1102}"#,
                r#"{"t":"reply","re":3,"code":1102}"#,
                r#"{"t":"reply","re":5,"code":1102}"#,
            ]
        );
        let _ben = Probe::login(&dir, "t", "ben", 4);
        for re in 7..=9 {
            relay.command(&dir, &amy.handle, re, "ben", b"x").unwrap();
        }
    }

    #[test]
    fn transfer_ids_are_per_tenant() {
        let (dir, relay) = (LocalDirectory::new(), Relay::new());
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let mut ben = Probe::login(&dir, "t", "ben", 2);
        let mut xia = Probe::login(&dir, "u", "xia", 3);
        let mut yan = Probe::login(&dir, "u", "yan", 4);
        relay
            .offer(&dir, &amy.handle, offer("same-id", "ben"), || {})
            .unwrap();
        // Another tenant may use the same id: its own transfer, not a refusal that would
        // tell it the id is taken.
        relay
            .offer(&dir, &xia.handle, offer("same-id", "yan"), || {})
            .unwrap();
        assert_eq!(relay.transfers(), 2);
        assert_eq!(
            relay.offer(&dir, &amy.handle, offer("same-id", "ben"), || {}),
            Err(ErrorCode::ParamErr),
            "in use within the tenant"
        );
        // Each acts on its own tenant's transfer only.
        let (_, _) = (ben.drain(), yan.drain());
        assert!(relay.credit(&yan.handle, "same-id", 100, 0));
        assert_eq!(xia.drain().len(), 1);
        assert!(amy.drain().is_empty());
        assert!(relay.complete(&ben.handle, "same-id", || {}).is_ok());
        assert_eq!(relay.transfers(), 1);
        assert!(relay.cancel(&xia.handle, "same-id", || {}).is_ok());
        assert_eq!(relay.transfers(), 0);
    }

    #[test]
    fn command_waits_for_the_ack_of_its_receiver() {
        let (dir, relay) = (LocalDirectory::new(), Relay::new());
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let mut ben = Probe::login(&dir, "t", "ben", 2);
        relay
            .command(&dir, &amy.handle, 7, "ben", &[0, 255, 0])
            .unwrap();
        let frame = ben.next_binary();
        let DataFrame::Command { id, peer, payload } = decode_data(&frame).unwrap() else {
            panic!("not a command")
        };
        assert_ne!(id, 0);
        assert_eq!((peer, payload), ("amy", &[0u8, 255, 0][..]));
        assert!(amy.drain().is_empty());
        assert!(!relay.cmd_ack(&amy.handle, id), "only the receiver acks");
        assert!(relay.cmd_ack(&ben.handle, id));
        assert!(!relay.cmd_ack(&ben.handle, id), "once");
        assert_eq!(amy.drain(), vec![r#"{"t":"reply","re":7,"code":0}"#]);
        assert_eq!(relay.pending_commands(), 0);

        let big = vec![0u8; MAX_CMD_BYTES + 1];
        assert_eq!(
            relay.command(&dir, &amy.handle, 8, "ben", &big),
            Err(ErrorCode::SendCmdLarge)
        );
        for target in ["nobody", ""] {
            assert_eq!(
                relay.command(&dir, &amy.handle, 9, target, b"x"),
                Err(ErrorCode::SendDataTargetInvalid)
            );
        }
        let _other = Probe::login(&dir, "u", "cat", 3);
        assert_eq!(
            relay.command(&dir, &amy.handle, 9, "cat", b"x"),
            Err(ErrorCode::SendDataTargetInvalid),
            "other tenant"
        );
    }

    #[test]
    fn leaving_sessions_release_their_commands() {
        let (dir, relay) = (LocalDirectory::new(), Relay::new());
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let ben = Probe::login(&dir, "t", "ben", 2);
        relay.command(&dir, &amy.handle, 3, "ben", b"a").unwrap();
        relay.command(&dir, &ben.handle, 4, "amy", b"b").unwrap();
        relay.command(&dir, &amy.handle, 0, "ben", b"c").unwrap();
        amy.drain();
        relay.leave(&ben.handle);
        assert_eq!(relay.pending_commands(), 0);
        // Only the request with an id is answered.
        assert_eq!(amy.drain(), vec![r#"{"t":"reply","re":3,"code":1102}"#]);
    }

    #[test]
    fn transfer_flow_keeps_its_order() {
        let (dir, relay) = (LocalDirectory::new(), Relay::new());
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let mut ben = Probe::login(&dir, "t", "ben", 2);
        let mut acked = false;
        relay
            .offer(&dir, &amy.handle, offer("t1", "ben"), || acked = true)
            .unwrap();
        assert!(acked);
        assert_eq!(
            relay.offer(&dir, &amy.handle, offer("t1", "ben"), || {}),
            Err(ErrorCode::ParamErr)
        );
        assert_eq!(
            relay.offer(&dir, &amy.handle, offer("bad id", "ben"), || {}),
            Err(ErrorCode::ParamErr)
        );
        assert_eq!(
            relay.offer(&dir, &amy.handle, offer("t2", "nobody"), || {}),
            Err(ErrorCode::SendDataTargetInvalid)
        );
        assert_eq!(
            ben.drain(),
            vec![
                r#"{"t":"event","ev":"transfer_offered","transfer_id":"t1","source":"amy","kind":"buffer","name":"","total":10}"#
            ]
        );
        assert!(
            !relay.credit(&amy.handle, "t1", 5, 0),
            "sender cannot credit"
        );
        assert!(relay.credit(&ben.handle, "t1", 5, 0));
        assert_eq!(
            amy.drain(),
            vec![
                r#"{"t":"event","ev":"transfer_credit","transfer_id":"t1","bytes":5,"received":0}"#
            ]
        );
        let chunk = Bytes::from(encode_chunk("t1", 0, b"hello"));
        assert!(!relay.chunk(&ben.handle, "t1", chunk.clone()));
        assert!(relay.chunk(&amy.handle, "t1", chunk.clone()));
        assert!(relay.end(&amy.handle, "t1", "d".into()));
        // The end of data follows the chunk even though a later control frame overtakes it.
        assert!(relay.credit(&ben.handle, "t1", 5, 5));
        assert_eq!(
            ben.next_binary().as_ptr(),
            chunk.as_ptr(),
            "the same bytes, not a copy"
        );
        assert_eq!(
            ben.drain(),
            vec![r#"{"t":"event","ev":"transfer_end","transfer_id":"t1","digest":"d"}"#]
        );
        assert_eq!(
            relay.complete(&amy.handle, "t1", || {}),
            Err(ErrorCode::TransIdInvalid),
            "only the receiver completes"
        );
        amy.drain();
        relay.complete(&ben.handle, "t1", || {}).unwrap();
        assert_eq!(
            amy.drain(),
            vec![r#"{"t":"event","ev":"transfer_result","transfer_id":"t1","code":0}"#]
        );
        assert_eq!(
            relay.cancel(&amy.handle, "t1", || {}),
            Err(ErrorCode::TransIdInvalid)
        );
        assert_eq!(relay.transfers(), 0);
    }

    #[test]
    fn cancel_abort_and_leave_tell_the_other_party() {
        let (dir, relay) = (LocalDirectory::new(), Relay::new());
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        let mut ben = Probe::login(&dir, "t", "ben", 2);
        for id in ["c", "ra", "sa", "sl", "rl"] {
            relay
                .offer(&dir, &amy.handle, offer(id, "ben"), || {})
                .unwrap();
        }
        ben.drain();
        assert_eq!(
            relay.cancel(&ben.handle, "c", || {}),
            Err(ErrorCode::TransIdInvalid),
            "only the sender cancels"
        );
        relay.cancel(&amy.handle, "c", || {}).unwrap();
        assert!(relay.abort(&ben.handle, "ra", 1402));
        assert!(relay.abort(&amy.handle, "sa", 1401));
        assert!(!relay.abort(&amy.handle, "sa", 1401));
        assert_eq!(
            ben.drain(),
            vec![
                r#"{"t":"event","ev":"transfer_cancelled","transfer_id":"c"}"#,
                r#"{"t":"event","ev":"transfer_cancelled","transfer_id":"sa"}"#,
            ]
        );
        assert_eq!(
            amy.drain(),
            vec![r#"{"t":"event","ev":"transfer_result","transfer_id":"ra","code":1402}"#]
        );
        relay.leave(&ben.handle);
        let mut results = amy.drain();
        results.sort();
        assert_eq!(
            results,
            vec![
                r#"{"t":"event","ev":"transfer_result","transfer_id":"rl","code":1102}"#,
                r#"{"t":"event","ev":"transfer_result","transfer_id":"sl","code":1102}"#,
            ]
        );
        assert_eq!(relay.transfers(), 0);

        relay
            .offer(&dir, &amy.handle, offer("x", "ben"), || {})
            .unwrap();
        ben.drain();
        relay.leave(&amy.handle);
        assert_eq!(
            ben.drain(),
            vec![r#"{"t":"event","ev":"transfer_cancelled","transfer_id":"x"}"#]
        );
        assert!(relay.table.lock().unwrap().by_session.is_empty());
    }

    #[test]
    fn transfer_to_oneself_tells_both_sides() {
        let (dir, relay) = (LocalDirectory::new(), Relay::new());
        let mut amy = Probe::login(&dir, "t", "amy", 1);
        relay
            .offer(&dir, &amy.handle, offer("s", "amy"), || {})
            .unwrap();
        assert!(relay.abort(&amy.handle, "s", 0));
        let got = amy.drain();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[1].contains(r#""ev":"transfer_result","transfer_id":"s","code":1000"#));
        assert!(got[2].contains(r#""ev":"transfer_cancelled""#));
        relay
            .offer(&dir, &amy.handle, offer("s", "amy"), || {})
            .unwrap();
        amy.drain();
        relay.leave(&amy.handle);
        assert!(amy.drain().is_empty(), "nobody left to tell");
        assert_eq!(relay.transfers(), 0);
    }
}
