//! How a session answers a request: the reply, queued in the session's control lane.
//!
//! A service that changes shared state sends the reply itself, under its own lock and before
//! the events the change causes, so the requester always hears of its request first. It
//! takes the reply as a closure: `ack` (the success reply, with its data) from services that
//! return their refusal, or `respond` (the reply to any result) from the queues, whose
//! refusals go out under their lock too.

use crvideo_proto::{ErrorCode, Reply, ServerFrame};
use serde::Serialize;
use tracing::debug;

use super::Session;
use crate::directory::outbound::Stop;

impl Session {
    /// Queues a reply. A full queue ends the session. A one-way message (id 0) gets none.
    pub(crate) fn reply(&self, reply: Reply) -> Option<Stop> {
        if reply.re == 0 {
            if reply.code != 0 {
                debug!(
                    peer = %self.peer(),
                    session = self.id(),
                    "one-way message failed: code {}",
                    reply.code
                );
            }
            return None;
        }
        match self.link.send(&ServerFrame::Reply(reply)) {
            Ok(()) => None,
            Err(_) => Some(Stop::abort("client not reading")),
        }
    }

    /// Refuses request `re` with `code`.
    pub(crate) fn refuse(&self, re: u64, code: ErrorCode) -> Option<Stop> {
        self.reply(Reply::err(re, code))
    }

    /// Answers request `re` through `serve`, which gets `ack` (queues the success reply) and
    /// returns the refusal to reply with instead.
    pub(crate) fn acked(
        &self,
        re: u64,
        serve: impl FnOnce(&mut dyn FnMut()) -> Result<(), ErrorCode>,
    ) -> Option<Stop> {
        self.acked_with(re, |ack: &mut dyn FnMut(())| serve(&mut || ack(())))
    }

    /// [`Session::acked`], for a success reply with data.
    pub(crate) fn acked_with<T: Serialize>(
        &self,
        re: u64,
        serve: impl FnOnce(&mut dyn FnMut(T)) -> Result<(), ErrorCode>,
    ) -> Option<Stop> {
        let mut stop = None;
        let result = serve(&mut |data| stop = self.reply(Reply::ok(re, data)));
        match result {
            Ok(()) => stop,
            Err(code) => self.refuse(re, code),
        }
    }

    /// Answers request `re` through `serve`, which gets `respond` (queues the reply to the
    /// result it is given).
    pub(crate) fn responded<T: Serialize>(
        &self,
        re: u64,
        serve: impl FnOnce(&mut dyn FnMut(Result<T, ErrorCode>)),
    ) -> Option<Stop> {
        let mut stop = None;
        serve(&mut |result| stop = self.reply(Reply::from_result(re, result)));
        stop
    }
}
