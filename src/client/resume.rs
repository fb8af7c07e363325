//! Session resume, the SDK's side. Right after login the engine asks the server to keep the
//! session through connection losses (`enable_resume`, for the Init parameter
//! `resumeWindowMs`, default 30 s). When the connection is lost, the app hears
//! `Reconnecting()` instead of `LineOff`, and a task reconnects to the same server (first
//! attempt at once, then with a growing, jittered delay) and resumes the session there. On
//! success each side sends again the text frames the other missed (see
//! [`crvideo_proto::replay`]), requests in flight complete, what the app called meanwhile goes
//! out, and the app hears `Reconnected()`. Presence, meeting membership and calls are kept
//! by the server all along. Transfers and commands in flight do not survive: they end when
//! the connection is lost (CONNECTIONLOST). Only when the window passes, or the server no
//! longer has the session, does the app get `LineOff(CONNECTIONLOST)`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crvideo_proto::{encode, ClientFrame, Request, ResumeInfo};
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::connection::Connection;
use super::engine::{Engine, State};
use super::handshake::{self, TlsSettings};
use super::{Internal, RequestSpec, SessionLocal};
use crate::dispatch::Event;
use crate::params::ServerAddr;
use crate::ErrorCode;

/// What resuming a session takes.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub token: String,
    pub window: Duration,
}

/// Longest a Logout while reconnecting spends trying to tell the server.
const GOODBYE_BUDGET: Duration = Duration::from_secs(2);
/// Longest one reconnect attempt may take (a network that swallows the attempt must not use
/// up the whole window).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// The first delay between reconnect attempts (the first attempt is at once)...
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// ... doubling up to this.
const MAX_RETRY: Duration = Duration::from_secs(2);

/// The delay before reconnect attempt `n` (0-based): none for the first, then
/// [`FIRST_RETRY`] doubling up to [`MAX_RETRY`], each between half and all of it (jitter, so
/// that many clients cut off at once do not come back at once).
fn retry_delay(n: u32) -> Duration {
    if n == 0 {
        return Duration::ZERO;
    }
    let full = FIRST_RETRY
        .saturating_mul(1 << (n - 1).min(16))
        .min(MAX_RETRY);
    let mut random = [0u8; 2];
    let _ = getrandom::getrandom(&mut random);
    let fraction = 0.5 + f64::from(u16::from_be_bytes(random)) / f64::from(u16::MAX) / 2.0;
    full.mul_f64(fraction)
}

/// Tries to resume until `deadline`; reports the outcome as [`Internal::Resumed`].
async fn reconnect(
    server: ServerAddr,
    tls: TlsSettings,
    ticket: Ticket,
    received: u64,
    deadline: Instant,
    attempt: u64,
    internal: mpsc::UnboundedSender<Internal>,
) {
    let mut n = 0;
    let result = loop {
        let wake = Instant::now() + retry_delay(n);
        n += 1;
        if wake >= deadline {
            break Err(ErrorCode::ConnectionLost.code());
        }
        tokio::time::sleep_until(wake.into()).await;
        let left = deadline.saturating_duration_since(Instant::now());
        let tried = handshake::resume(&server, &tls, ticket.token.clone(), received);
        match tokio::time::timeout(left.min(ATTEMPT_TIMEOUT), tried).await {
            Ok(Ok(resumed)) => break Ok(Box::new(resumed)),
            Ok(Err(Ok(code))) => {
                tracing::warn!(code, "the server cannot resume the session");
                // A login elsewhere ended it meanwhile: said as such; anything else is a
                // lost connection.
                let kicked = ErrorCode::KickoutByRelogin.code();
                break Err(if code == kicked {
                    code
                } else {
                    ErrorCode::ConnectionLost.code()
                });
            }
            Ok(Err(Err(code))) => tracing::info!(code, "reconnect attempt {n} failed"),
            Err(_) => tracing::info!("reconnect attempt {n} timed out"),
        }
    };
    let _ = internal.send(Internal::Resumed { attempt, result });
}

impl Engine {
    /// Right after login: asks the server to keep the session through connection losses.
    /// Frames after this request (and after its reply, the other way) are counted.
    pub(super) fn enable_resume(&mut self) {
        let window_ms = self.config.resume_window.as_millis() as u64;
        if window_ms == 0 {
            return;
        }
        let replay = self.lanes().map(|l| l.replay.clone());
        let spec = RequestSpec::new(
            Request::EnableResume { window_ms },
            move |local: &mut SessionLocal, result| {
                let info = result
                    .ok()
                    .and_then(|data| serde_json::from_value::<ResumeInfo>(data).ok());
                match info {
                    Some(info) if !info.token.is_empty() && info.window_ms > 0 => {
                        local.resume = Some(Ticket {
                            token: info.token,
                            window: Duration::from_millis(info.window_ms),
                        });
                        local.counting_received = true;
                    }
                    _ => {
                        // Not granted: nothing will be acknowledged, keep nothing.
                        tracing::info!(
                            "the server does not keep sessions through connection losses"
                        );
                        if let Some(replay) = replay {
                            replay.lock().stop_counting();
                        }
                    }
                }
                None
            },
        );
        self.request(spec);
        if let Some(lanes) = self.lanes() {
            lanes.start_counting();
        }
    }

    /// The current connection is lost. With a resume ticket, starts reconnecting (true);
    /// otherwise false (the session is over).
    pub(super) fn start_resume(&mut self, conn: Connection) -> bool {
        let (Some(ticket), Some(server)) = (self.local.resume.clone(), self.server.clone()) else {
            drop(conn);
            return false;
        };
        conn.abort();
        // Nothing half-sent survives: the server ended them too (the other parties are told).
        self.end_transfers(ErrorCode::ConnectionLost);
        self.suspend_netdisk();
        self.net = Default::default();
        self.next_attempt += 1;
        let attempt = self.next_attempt;
        let received = self
            .lanes()
            .map_or(0, |l| l.received.load(Ordering::Relaxed));
        let deadline = Instant::now() + ticket.window;
        let task = tokio::spawn(reconnect(
            server,
            self.config.tls.clone(),
            ticket,
            received,
            deadline,
            attempt,
            self.internal.clone(),
        ));
        self.state = State::Reconnecting { attempt, task };
        self.events.push(Event::Reconnecting);
        true
    }

    /// The app logged out while reconnecting: one short attempt to resume the session just
    /// to end it (`logout`), so that the others see the user go now, not when the window
    /// passes. The handle finishes within [`GOODBYE_BUDGET`].
    pub(super) fn resume_goodbye(&self) -> Option<tokio::task::JoinHandle<()>> {
        let ticket = self.local.resume.clone()?;
        let server = self.server.clone()?;
        let received = self
            .lanes()
            .map_or(0, |l| l.received.load(Ordering::Relaxed));
        let tls = self.config.tls.clone();
        Some(tokio::spawn(async move {
            let _ = tokio::time::timeout(GOODBYE_BUDGET, async {
                let Ok(resumed) = handshake::resume(&server, &tls, ticket.token, received).await
                else {
                    return;
                };
                let mut ws = resumed.ws;
                let logout = ClientFrame {
                    id: u64::MAX,
                    request: Request::Logout,
                };
                let _ = ws.send(Message::text(encode(&logout))).await;
                let _ = ws.close(None).await;
            })
            .await;
        }))
    }

    /// A reconnect task ended.
    pub(super) fn on_resumed(
        &mut self,
        attempt: u64,
        result: Result<Box<handshake::Resumed>, i32>,
    ) {
        if !matches!(&self.state, State::Reconnecting { attempt: a, .. } if *a == attempt) {
            return;
        }
        let lanes = self.lanes().cloned();
        let (resumed, lanes) = match (result, lanes) {
            (Ok(resumed), Some(lanes)) => (resumed, lanes),
            (Err(code), _) => {
                let code = ErrorCode::from_code(code).unwrap_or(ErrorCode::ConnectionLost);
                return self.line_off(code);
            }
            (Ok(_), None) => return self.line_off(ErrorCode::ConnectionLost),
        };
        let handshake::Resumed {
            ws,
            hello,
            server_received,
        } = *resumed;
        let resend = {
            let mut replay = lanes.replay.lock();
            replay.ack(server_received);
            replay.after(server_received)
        };
        let Some(resend) = resend else {
            tracing::warn!("cannot send again what the server missed: ending the session");
            return self.line_off(ErrorCode::ConnectionLost);
        };
        tracing::info!(resent = resend.len(), "session resumed");
        let conn = Connection::start(attempt, ws, &hello, self.internal.clone(), &lanes, resend);
        self.state = State::Online { conn };
        self.events.push(Event::Reconnected);
        self.resume_netdisk();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_at_once_then_back_off_with_jitter_up_to_a_cap() {
        assert_eq!(retry_delay(0), Duration::ZERO);
        for n in 1..40 {
            let full = (FIRST_RETRY * 2u32.pow((n - 1).min(16))).min(MAX_RETRY);
            let d = retry_delay(n);
            assert!(d >= full / 2 && d <= full, "attempt {n}: {d:?} vs {full:?}");
        }
    }
}
