//! Transparent-channel requests and binary frames of a session; the state is in
//! [`crate::services::relay`].
//!
//! One-way messages (credit, end of data, abort, command acknowledgement) are normally sent
//! with id 0 and then never answered, errors included (they are logged at debug). Sent with
//! an id they are answered like any request: 0, or `TRANSID_INVALID` when they did not apply.

use crvideo_proto::data::{decode_data, DataFrame};
use crvideo_proto::{ErrorCode, Reply, Request};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Bytes;
use tracing::{debug, warn};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::services::relay::Offer;
use crate::session::{Phase, Session};

impl Session {
    /// Handles one binary frame: a command or a transfer chunk from a logged-in session.
    /// Anything else (a frame before login, one that does not decode) ends the session.
    pub(crate) fn on_binary(&mut self, data: Bytes) -> Option<Stop> {
        let Phase::LoggedIn(handle) = &self.phase else {
            warn!(
                peer = %self.peer(),
                session = self.id(),
                "closing: binary frame ({} bytes) before login",
                data.len()
            );
            return Some(Stop::close(CloseCode::Policy, "binary frame before login"));
        };
        let handle = &handle.clone();
        let shared = &self.shared.clone();
        match decode_data(&data) {
            Err(e) => {
                warn!(
                    peer = %self.peer(),
                    session = self.id(),
                    "closing: {e} ({} bytes)",
                    data.len()
                );
                Some(Stop::close(CloseCode::Policy, "bad binary frame"))
            }
            Ok(DataFrame::Command { id, peer, payload }) => {
                if !self.commands.take() {
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "command {id} refused: over the command rate limit"
                    );
                    return self.reply(Reply::err(id, ErrorCode::TooFrequent));
                }
                match shared
                    .relay
                    .command(&*shared.directory, handle, id, peer, payload)
                {
                    Ok(()) => None,
                    Err(code) => {
                        debug!(
                            session = self.id(),
                            user = handle.user_id(),
                            "command {id} ({} bytes) refused: {code}",
                            payload.len()
                        );
                        self.reply(Reply::err(id, code))
                    }
                }
            }
            Ok(DataFrame::Chunk {
                transfer_id,
                offset,
                ..
            }) => {
                if !shared.relay.chunk(handle, transfer_id, data.clone()) {
                    // Normal for chunks in flight when a transfer ends.
                    debug!(
                        session = self.id(),
                        user = handle.user_id(),
                        "dropping a chunk (offset {offset}) of transfer {transfer_id:?}: not a transfer this session sends"
                    );
                }
                None
            }
        }
    }

    /// A transparent-channel request of a logged-in session.
    pub(crate) fn relay_request(
        &mut self,
        re: u64,
        handle: &SessionHandle,
        request: Request,
    ) -> Option<Stop> {
        let shared = self.shared.clone();
        let (relay, directory) = (&shared.relay, &*shared.directory);
        let mut stop = None;
        let ack = || stop = self.reply(Reply::ok(re, ()));
        let op = request.op();
        let result = match request {
            Request::TransferOffer {
                transfer_id,
                target,
                kind,
                name,
                total,
            } => relay.offer(
                directory,
                handle,
                Offer {
                    transfer_id,
                    target,
                    kind,
                    name,
                    total,
                },
                ack,
            ),
            Request::TransferComplete { transfer_id } => relay.complete(handle, &transfer_id, ack),
            Request::TransferCancel { transfer_id } => relay.cancel(handle, &transfer_id, ack),
            Request::TransferCredit {
                transfer_id,
                bytes,
                received,
            } => one_way(relay.credit(handle, &transfer_id, bytes, received), ack),
            Request::TransferEnd {
                transfer_id,
                digest,
            } => one_way(relay.end(handle, &transfer_id, digest), ack),
            Request::TransferAbort { transfer_id, code } => {
                one_way(relay.abort(handle, &transfer_id, code), ack)
            }
            Request::CmdAck { relay_id } => one_way(relay.cmd_ack(handle, relay_id), ack),
            other => unreachable!("not a relay request: {}", other.op()),
        };
        match result {
            Ok(()) => stop,
            Err(code) => {
                debug!(
                    session = self.id(),
                    user = handle.user_id(),
                    "{op} (id {re}) refused: {code}"
                );
                self.reply(Reply::err(re, code))
            }
        }
    }
}

/// The result of a one-way message: `ack` if it applied, else `TRANSID_INVALID`.
fn one_way(applied: bool, ack: impl FnOnce()) -> Result<(), ErrorCode> {
    if applied {
        ack();
        Ok(())
    } else {
        Err(ErrorCode::TransIdInvalid)
    }
}
