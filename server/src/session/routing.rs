//! Handling of the requests of one session: hello, login, logout. Later features add their
//! requests here (or in modules this one dispatches to).
//!
//! Never logs passwords or auth codes.

use std::time::Duration;

use crvideo_proto::{
    ClientFrame, ErrorCode, HelloOk, LoginOk, LoginRequest, MeetingList, Reply, Request,
    ResumeInfo, Resumed, ServerFrame, PROTOCOL_VERSION,
};
use serde::de::IgnoredAny;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, info, warn};

use crate::auth;
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::directory::WantedId;
use crate::services::meetings;
use crate::session::{Phase, Session};

/// The `server` field of the hello reply.
pub const SERVER_AGENT: &str = concat!("crvideo-server/", env!("CARGO_PKG_VERSION"));

/// Longest client-supplied text (agent, tenant) quoted in the log.
const LOG_TEXT_MAX: usize = 64;

impl Session {
    /// Handles one text frame. `Some(stop)` ends the session.
    pub(crate) async fn on_text(&mut self, text: &str) -> Option<Stop> {
        let max_depth = self.shared.config.limits.max_json_depth;
        if json_depth_exceeds(text, max_depth) {
            warn!(
                peer = %self.peer(),
                session = self.id(),
                "closing: JSON nested deeper than {max_depth} levels"
            );
            return Some(Stop::close(CloseCode::Policy, "JSON nested too deeply"));
        }
        let frame: ClientFrame = match crvideo_proto::decode(text) {
            Ok(frame) => frame,
            Err(e) => {
                // The error text may quote values (a password of the wrong type): log only
                // where it went wrong.
                let (code, what) = if serde_json::from_str::<IgnoredAny>(text).is_err() {
                    (CloseCode::Invalid, "invalid JSON")
                } else {
                    (CloseCode::Policy, "not a known request")
                };
                warn!(
                    peer = %self.peer(),
                    session = self.id(),
                    "closing: {what} ({:?} error at column {})",
                    e.classify(),
                    e.column()
                );
                return Some(Stop::close(code, what));
            }
        };
        let re = frame.id;
        // One-way messages (flow control, acknowledgements) are not limited.
        if re != 0 && !self.requests.take() {
            debug!(
                peer = %self.peer(),
                session = self.id(),
                "{} (id {re}) refused: over the request rate limit",
                frame.request.op()
            );
            return self.reply(Reply::err(re, ErrorCode::TooFrequent));
        }
        if let (Some(ticket), Request::Login(_) | Request::Resume { .. }) =
            (&self.prelogin, &frame.request)
        {
            // It is logging in: no longer the first to give way to newer connections.
            ticket.logging_in();
        }
        match (&self.phase, frame.request) {
            (Phase::AwaitHello, Request::Hello { version, agent }) => {
                self.hello(re, version, &agent)
            }
            (Phase::AwaitHello, other) => {
                warn!(
                    peer = %self.peer(),
                    session = self.id(),
                    "closing: {} before hello",
                    other.op()
                );
                Some(Stop::close(CloseCode::Policy, "hello expected"))
            }
            (_, Request::Hello { .. }) => self.reply(Reply::err(re, ErrorCode::ParamErr)),
            (Phase::AwaitLogin, Request::Resume { token, received }) => {
                self.resume(re, &token, received).await
            }
            (_, Request::Login(login)) => self.login(re, login).await,
            (Phase::AwaitLogin, _) => self.reply(Reply::err(re, ErrorCode::NotLogin)),
            (Phase::LoggedIn(handle), request) => {
                let handle = handle.clone();
                self.logged_in(re, &handle, request).await
            }
        }
    }

    /// A request of a logged-in session (hello and login are handled before).
    async fn logged_in(
        &mut self,
        re: u64,
        handle: &SessionHandle,
        request: Request,
    ) -> Option<Stop> {
        if !self.within_size_limits(&request) {
            debug!(
                session = self.id(),
                user = handle.user_id(),
                "{} (id {re}) refused: usr_ext_dat or meet_obj too long",
                request.op()
            );
            return self.reply(Reply::err(re, ErrorCode::ParamErr));
        }
        let store = &self.shared.store;
        let (tenant, user) = (handle.tenant(), handle.user_id());
        match request {
            Request::Logout => self.logout(re),
            Request::EnableResume { window_ms } => self.enable_resume(re, window_ms),
            Request::SetDnd { dnd } => self.set_dnd(re, handle, dnd),
            Request::GetUserStatus => self.get_user_status(re, handle),
            Request::SubscribeStatus => self.subscribe_status(re, handle),
            Request::UnsubscribeStatus => self.unsubscribe_status(re, handle),
            Request::CreateMeeting {
                subject,
                with_password,
            } => {
                let limits = &self.shared.config.limits;
                let caps = meetings::Caps {
                    per_user: limits.max_meetings_per_user,
                    per_tenant: limits.max_meetings_per_tenant,
                };
                let created =
                    meetings::create(store, caps, tenant, user, subject, with_password).await;
                self.reply(Reply::from_result(re, created))
            }
            Request::DestroyMeeting { meet_id } => {
                let destroyed = meetings::destroy(store, tenant, user, meet_id).await;
                if destroyed.is_ok() {
                    // A live room stops first: its members hear it before this reply.
                    let shared = &self.shared;
                    shared
                        .rooms
                        .meeting_destroyed(&*shared.directory, tenant, meet_id);
                }
                self.reply(Reply::from_result(re, destroyed))
            }
            Request::GetMeetings => {
                let max = self.shared.config.limits.max_meetings_per_tenant;
                let listed = meetings::list(store, tenant, max).await;
                let listed = listed.map(|mut meetings| {
                    for m in &mut meetings {
                        let count = self.shared.rooms.member_count(tenant, m.id);
                        m.member_count = count.try_into().unwrap_or(i32::MAX);
                    }
                    MeetingList { meetings }
                });
                self.reply(Reply::from_result(re, listed))
            }
            Request::EnterMeeting { .. }
            | Request::ExitMeeting
            | Request::StopMeeting
            | Request::SetMedia { .. }
            | Request::SendIm { .. }
            | Request::StartScreenShare
            | Request::StopScreenShare
            | Request::SetCtrlRight { .. }
            | Request::SwitchToPage { .. }
            | Request::SetVideoWallMode { .. }
            | Request::SetMainVideo { .. }
            | Request::CreateBoard { .. }
            | Request::CloseBoard { .. }
            | Request::SetBoardElement { .. }
            | Request::DelBoardElements { .. }
            | Request::SetMouseHotSpot { .. } => self.room_request(re, handle, request).await,
            Request::Call { .. }
            | Request::AcceptCall { .. }
            | Request::RejectCall { .. }
            | Request::HangupCall { .. }
            | Request::Invite { .. }
            | Request::CancelInvite { .. } => self.call_request(re, handle, request),
            Request::TransferOffer { .. }
            | Request::TransferCredit { .. }
            | Request::TransferEnd { .. }
            | Request::TransferComplete { .. }
            | Request::TransferAbort { .. }
            | Request::TransferCancel { .. }
            | Request::CmdAck { .. } => self.relay_request(re, handle, request),
            Request::QueueInit
            | Request::QueueRefresh
            | Request::StartQueuing { .. }
            | Request::StopQueuing
            | Request::StartService { .. }
            | Request::StopService { .. }
            | Request::ReqAssignUser
            | Request::AcceptAssignUser { .. }
            | Request::RejectAssignUser { .. } => self.queue_request(re, handle, request),
            Request::Hello { .. } | Request::Login(_) => unreachable!("handled by on_text"),
            // Only right after hello, on a new connection.
            Request::Resume { .. } => self.reply(Reply::err(re, ErrorCode::LoginStateError)),
        }
    }

    /// Whether the request's `usr_ext_dat` and `meet_obj` are within the configured limits.
    fn within_size_limits(&self, request: &Request) -> bool {
        let limits = &self.shared.config.limits;
        let (ext, meet) = match request {
            Request::Call {
                meet_obj,
                usr_ext_dat,
                ..
            }
            | Request::AcceptCall {
                meet_obj,
                usr_ext_dat,
                ..
            } => (usr_ext_dat.len(), meet_obj.len()),
            Request::RejectCall { usr_ext_dat, .. }
            | Request::HangupCall { usr_ext_dat, .. }
            | Request::StartQueuing { usr_ext_dat, .. } => (usr_ext_dat.len(), 0),
            Request::Invite { meet_obj, .. } => (0, meet_obj.len()),
            _ => (0, 0),
        };
        ext <= limits.max_usr_ext_dat_bytes && meet <= limits.max_meet_obj_bytes
    }

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

    fn hello(&mut self, re: u64, version: u32, agent: &str) -> Option<Stop> {
        let agent = clip(agent);
        if version != PROTOCOL_VERSION {
            info!(
                peer = %self.peer(),
                session = self.id(),
                "refusing client {agent:?}: protocol version {version}, this server speaks {PROTOCOL_VERSION}"
            );
            return self
                .reply(Reply::err(re, ErrorCode::MismatchClientVer))
                .or(Some(Stop::close(
                    CloseCode::Policy,
                    "protocol version mismatch",
                )));
        }
        info!(peer = %self.peer(), session = self.id(), "hello from {agent:?}");
        self.phase = Phase::AwaitLogin;
        let config = &self.shared.config;
        self.reply(Reply::ok(
            re,
            HelloOk {
                version: PROTOCOL_VERSION,
                server: SERVER_AGENT.into(),
                heartbeat_ms: config.heartbeat_ms,
                max_frame_bytes: config.max_frame_bytes,
            },
        ))
    }

    async fn login(&mut self, re: u64, login: LoginRequest) -> Option<Stop> {
        let peer = self.peer();
        let session = self.id();
        if matches!(self.phase, Phase::LoggedIn(_)) {
            return self.reply(Reply::err(re, ErrorCode::LoginStateError));
        }
        if let Err(why) = auth::validate_user_id(&login.user_id)
            .and_then(|()| auth::validate_nickname(&login.nickname))
        {
            info!(%peer, session, "login refused: {why}");
            return self.reply(Reply::err(re, ErrorCode::ParamErr));
        }

        let LoginRequest {
            tenant,
            password,
            user_id,
            nickname,
            auth_code,
        } = login;

        // Attempts from one address, and for one account, are checked a few at a time: many
        // in parallel would all start before the first failure counted. The back-off is
        // reckoned when the turn comes. A password that already passed goes ahead at once:
        // failures elsewhere never delay a correct login (and the reply would tell anyway).
        let shared = self.shared.clone();
        let known_good = shared.verified.is_verified(&tenant, &password);
        let turns = async {
            let by_address = shared.login_turns_by_address.turn(peer.ip()).await;
            let by_account = shared.login_turns_by_account.turn(tenant.clone()).await;
            (by_address, by_account)
        };
        let _turns = match known_good {
            true => None,
            false => match tokio::time::timeout_at(self.login_deadline, turns).await {
                Ok(turns) => Some(turns),
                Err(_) => {
                    info!(%peer, session, "closing: no turn to log in within the login timeout");
                    return Some(Stop::close(CloseCode::Policy, "login timeout"));
                }
            },
        };
        let delay = match known_good {
            true => Duration::ZERO,
            false => shared.login_throttle.delay(&tenant, peer.ip()),
        };
        if !delay.is_zero() {
            debug!(%peer, session, "login delayed {delay:?} after failed attempts");
            tokio::time::sleep(delay).await;
        }
        if let Err(code) = self
            .authenticate(&tenant, password, &user_id, &auth_code)
            .await
        {
            self.shared.login_throttle.failed(&tenant, peer.ip());
            return self.reply(Reply::err(re, code));
        }
        self.shared.login_throttle.succeeded(&tenant, peer.ip());

        let mut generate = auth::random_user_id;
        let wanted = if user_id.is_empty() {
            WantedId::Assign(&mut generate)
        } else {
            WantedId::Given(&user_id)
        };
        let (handle, replaced) =
            self.shared
                .directory
                .register(&tenant, wanted, &nickname, self.link.clone());
        if let Some(old) = replaced {
            info!(
                %peer,
                session,
                tenant = %tenant,
                user = handle.user_id(),
                old_session = old.session_id(),
                old_peer = %old.peer(),
                "relogin: kicking the older session"
            );
            old.kick(ErrorCode::KickoutByRelogin);
        }
        if let Some(budget) = self.shared.outbound_budget(&tenant) {
            self.link.join_tenant(budget);
        }
        info!(%peer, session, tenant = %tenant, user = handle.user_id(), "logged in");
        self.shared.remember_user(&tenant, handle.user_id());
        let user_id = handle.user_id().to_owned();
        self.phase = Phase::LoggedIn(handle);
        // Logged in: no longer among the connections waiting to (nor under their timeout).
        self.prelogin = None;
        self.reply(Reply::ok(re, LoginOk { user_id }))
    }

    /// Keeps this session for up to `window_ms` (within the server's `resume_window_ms`)
    /// after its connection is lost. From the reply on, both sides count the session's text
    /// frames (see [`crate::session::resumable`]).
    fn enable_resume(&mut self, re: u64, window_ms: u64) -> Option<Stop> {
        let window_ms = window_ms.min(self.shared.config.resume_window_ms);
        if window_ms == 0 || self.resume.is_some() {
            let (token, window_ms) = match &self.resume {
                Some((token, window)) => (token.clone(), window.as_millis() as u64),
                None => (String::new(), 0),
            };
            return self.reply(Reply::ok(re, ResumeInfo { token, window_ms }));
        }
        let token = crate::session::resumable::new_token();
        self.resumable.register(&token, self.link.clone());
        self.resume = Some((token.clone(), Duration::from_millis(window_ms)));
        let stop = self.reply(Reply::ok(re, ResumeInfo { token, window_ms }));
        self.link.queue_start_counting();
        self.counting = true;
        stop
    }

    /// `resume` on a new connection: takes over the parked session of `token` if it can
    /// send again what the client missed (`received` counts what it got).
    async fn resume(&mut self, re: u64, token: &str, received: u64) -> Option<Stop> {
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

    /// Checks the tenant password, then the user token the tenant may require. Logs why a
    /// login is refused (never the password or the token).
    async fn authenticate(
        &self,
        tenant: &str,
        password: String,
        user_id: &str,
        auth_code: &str,
    ) -> Result<(), ErrorCode> {
        let (peer, session) = (self.peer(), self.id());
        let config = self.shared.tenants.get(tenant);
        let hash = config.map(|t| t.password_hash().to_owned());
        if !self.shared.verify_login(tenant, password, hash).await {
            info!(%peer, session, tenant = ?clip(tenant), "login refused: wrong tenant or password");
            return Err(ErrorCode::AcntPswdErr);
        }
        let secret = config.and_then(|t| t.token_secret());
        let result = match secret {
            None if auth_code.is_empty() => return Ok(()),
            None => Err(ErrorCode::CustomAuthNotSupport),
            Some(_) if auth_code.is_empty() => Err(ErrorCode::CustomAuthNoInfo),
            Some(secret) => auth::check_token(secret, tenant, user_id, auth_code, auth::unix_now()),
        };
        if let Err(code) = result {
            let why = match code {
                ErrorCode::CustomAuthNotSupport => "a token, but the tenant uses none",
                ErrorCode::CustomAuthNoInfo => "no token, but the tenant requires one",
                ErrorCode::TokenTimeout => "token expired",
                _ => "invalid token",
            };
            info!(%peer, session, tenant = %tenant, user = ?clip(user_id), "login refused: {why}");
        }
        result
    }

    fn logout(&mut self, re: u64) -> Option<Stop> {
        // The read loop's end removes the directory entry (before the close handshake).
        if let Phase::LoggedIn(handle) = &self.phase {
            info!(
                peer = %self.peer(),
                session = self.id(),
                tenant = handle.tenant(),
                user = handle.user_id(),
                "logout"
            );
        }
        self.reply(Reply::ok(re, ()))
            .or(Some(Stop::close(CloseCode::Normal, "logout")))
    }
}

/// True if `text` nests arrays / objects deeper than `max` (a frame's top-level object is
/// depth 1). Counts brackets outside strings, without parsing: cheap, and run before serde
/// (whose own limit is 128).
pub fn json_depth_exceeds(text: &str, max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Client-supplied text, shortened for the log.
fn clip(text: &str) -> String {
    text.chars().take(LOG_TEXT_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::json_depth_exceeds;

    #[test]
    fn json_depth() {
        assert!(!json_depth_exceeds(r#"{"id":1}"#, 1));
        assert!(json_depth_exceeds(r#"{"a":[1]}"#, 1));
        assert!(!json_depth_exceeds(r#"{"a":[1]}"#, 2));
        assert!(
            !json_depth_exceeds(r#"{"a":"[[[[{{{{"}"#, 1),
            "brackets in strings"
        );
        assert!(
            !json_depth_exceeds(r#"{"a":"\"[[[["}"#, 1),
            "escaped quotes"
        );
        assert!(
            json_depth_exceeds(r#"{"a":"\\",[[1]]}"#, 2),
            "an escaped backslash ends"
        );
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(json_depth_exceeds(&deep, 32));
        assert!(!json_depth_exceeds(&deep[1..deep.len() - 1], 32));
        assert!(
            !json_depth_exceeds("[][][][][][]", 1),
            "siblings are not nesting"
        );
    }
}
