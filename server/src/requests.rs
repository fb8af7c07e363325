//! Handling of the requests of one session: hello, login, logout. Later features add their
//! requests here (or in modules this one dispatches to).
//!
//! Never logs passwords or auth codes.

use crvideo_proto::{
    ClientFrame, ErrorCode, HelloOk, LoginOk, LoginRequest, MeetingList, Reply, Request,
    ServerFrame, PROTOCOL_VERSION,
};
use serde::de::IgnoredAny;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, info, warn};

use crate::auth;
use crate::directory::{SessionHandle, WantedId};
use crate::link::Stop;
use crate::meetings;
use crate::session::{Phase, Session};

/// The `server` field of the hello reply.
pub const SERVER_AGENT: &str = concat!("crvideo-server/", env!("CARGO_PKG_VERSION"));

/// Longest client-supplied text (agent, tenant) quoted in the log.
const LOG_TEXT_MAX: usize = 64;

impl Session {
    /// Handles one text frame. `Some(stop)` ends the session.
    pub(crate) async fn on_text(&mut self, text: &str) -> Option<Stop> {
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
        let store = &self.shared.store;
        let (tenant, user) = (handle.tenant(), handle.user_id());
        match request {
            Request::Logout => self.logout(re),
            Request::SetDnd { dnd } => self.set_dnd(re, handle, dnd),
            Request::GetUserStatus => self.get_user_status(re, handle),
            Request::SubscribeStatus => self.subscribe_status(re, handle),
            Request::UnsubscribeStatus => self.unsubscribe_status(re, handle),
            Request::CreateMeeting {
                subject,
                with_password,
            } => {
                let created = meetings::create(store, tenant, user, subject, with_password).await;
                self.reply(Reply::from_result(re, created))
            }
            Request::DestroyMeeting { meet_id } => {
                let destroyed = meetings::destroy(store, tenant, user, meet_id).await;
                self.reply(Reply::from_result(re, destroyed))
            }
            Request::GetMeetings => {
                let listed = meetings::list(store, tenant).await;
                let listed = listed.map(|meetings| MeetingList { meetings });
                self.reply(Reply::from_result(re, listed))
            }
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
        }
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
            ..
        } = login;
        let hash = self
            .shared
            .tenants
            .get(&tenant)
            .map(|t| t.password_hash().to_owned());
        let verified = self.shared.verify_login(&tenant, password, hash).await;
        if !verified {
            info!(%peer, session, tenant = ?clip(&tenant), "login refused: wrong tenant or password");
            return self.reply(Reply::err(re, ErrorCode::AcntPswdErr));
        }

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
        info!(%peer, session, tenant = %tenant, user = handle.user_id(), "logged in");
        self.shared.remember_user(&tenant, handle.user_id());
        let user_id = handle.user_id().to_owned();
        self.phase = Phase::LoggedIn(handle);
        self.reply(Reply::ok(re, LoginOk { user_id }))
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

/// Client-supplied text, shortened for the log.
fn clip(text: &str) -> String {
    text.chars().take(LOG_TEXT_MAX).collect()
}
