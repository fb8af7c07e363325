//! The start and the end of a session: `hello`, `login` (the tenant password, the user
//! token, the back-off after failures), `logout`.
//!
//! Never logs passwords or auth codes.

use std::time::Duration;

use crvideo_proto::{ErrorCode, HelloOk, LoginOk, LoginRequest, Reply, PROTOCOL_VERSION};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::{debug, info};

use super::{Phase, Session};
use crate::auth;
use crate::directory::outbound::Stop;
use crate::directory::WantedId;

/// The `server` field of the hello reply.
pub const SERVER_AGENT: &str = concat!("crvideo-server/", env!("CARGO_PKG_VERSION"));

/// Longest client-supplied text (agent, tenant) quoted in the log.
const LOG_TEXT_MAX: usize = 64;

impl Session {
    /// `hello`, the first request: the client's protocol version must be this server's; the
    /// reply gives the server's heartbeat and frame size.
    pub(crate) fn hello(&mut self, re: u64, version: u32, agent: &str) -> Option<Stop> {
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

    /// `login`: checks the tenant password and the user token (after the back-off that
    /// failures earned), then registers the session in the directory, kicking an older
    /// session of the same user.
    pub(crate) async fn login(&mut self, re: u64, login: LoginRequest) -> Option<Stop> {
        self.logging_in();
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

    /// `logout`: the reply, then the session closes.
    pub(crate) fn logout(&mut self, re: u64) -> Option<Stop> {
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
