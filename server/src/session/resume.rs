//! The requests that make a session outlive its connection: `enable_resume`, and `resume` on
//! a new connection (see [`super::resumable`]).

use std::time::Duration;

use crvideo_proto::{ErrorCode, Reply, ResumeInfo, Resumed};
use tracing::info;

use super::resumable::new_token;
use super::Session;
use crate::directory::outbound::Stop;

impl Session {
    /// Keeps this session for up to `window_ms` (within the server's `resume_window_ms`)
    /// after its connection is lost. From the reply on, both sides count the session's text
    /// frames (see [`super::resumable`]).
    pub(crate) fn enable_resume(&mut self, re: u64, window_ms: u64) -> Option<Stop> {
        let window_ms = window_ms.min(self.shared.config.resume_window_ms);
        if window_ms == 0 || self.resume.is_some() {
            let (token, window_ms) = match &self.resume {
                Some((token, window)) => (token.clone(), window.as_millis() as u64),
                None => (String::new(), 0),
            };
            return self.reply(Reply::ok(re, ResumeInfo { token, window_ms }));
        }
        let token = new_token();
        self.resumable.register(&token, self.link.clone());
        self.resume = Some((token.clone(), Duration::from_millis(window_ms)));
        let stop = self.reply(Reply::ok(re, ResumeInfo { token, window_ms }));
        self.link.queue_start_counting();
        self.counting = true;
        stop
    }

    /// `resume` on a new connection: takes over the parked session of `token` if it can
    /// send again what the client missed (`received` counts what it got).
    pub(crate) async fn resume(&mut self, re: u64, token: &str, received: u64) -> Option<Stop> {
        self.logging_in();
        let mut taken = match self.resumable.take(token).await {
            Ok(taken) => taken,
            Err(code) => {
                info!(peer = %self.peer(), session = self.id(), "resume refused: {code}");
                return self.reply(Reply::err(re, code));
            }
        };
        let resend = taken.replay.lock().unwrap().after(received);
        let Some(resend) = resend else {
            info!(peer = %self.peer(), session = taken.id(), "resume refused: what the client missed is no longer kept");
            taken.go_offline();
            return self.reply(Reply::err(re, ErrorCode::ConnectionLost));
        };
        let reply = Reply::ok(
            re,
            Resumed {
                received: taken.received,
            },
        );
        self.take_over = Some((Box::new(taken), resend));
        self.reply(reply)
    }
}
