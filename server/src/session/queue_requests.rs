//! Queue requests of a session; the state machine is in [`crate::services::queues`].

use crvideo_proto::{Reply, Request};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::session::Session;

impl Session {
    pub(crate) fn queue_request(
        &mut self,
        re: u64,
        handle: &SessionHandle,
        request: Request,
    ) -> Option<Stop> {
        let shared = self.shared.clone();
        let mut stop = None;
        shared.queues.request(handle, request, |result| {
            stop = self.reply(match result {
                Ok(data) => Reply::ok(re, data),
                Err(code) => Reply::err(re, code),
            })
        });
        stop
    }
}
