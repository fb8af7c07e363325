//! Per-user tokens at login: the error codes of API.md, section 5.

mod support;

use crvideo_proto::ErrorCode;
use crvideo_server::auth::{mint_token, unix_now};
use crvideo_server::config::Limits;
use crvideo_server::Server;
use support::{connect, TOKEN_SECRET};

async fn start() -> Server {
    let mut config = support::config("tokens");
    // No back-off: this test fails on purpose many times in a row.
    config.limits = Limits {
        login_backoff_base_ms: 0,
        login_backoff_max_ms: 0,
        ..Limits::default()
    };
    Server::start(config).await.unwrap()
}

#[tokio::test]
async fn token_logins() {
    let server = start().await;
    let mut c = connect(server.local_addr()).await;
    c.hello().await;
    let later = unix_now() + 300;
    let good = mint_token(TOKEN_SECRET, "tok", "alice", later);
    let code = |e: ErrorCode| e as i32;

    // Required but missing.
    let r = c.login_reply("tok", "pw", "alice", "").await;
    assert_eq!(r.code, code(ErrorCode::CustomAuthNoInfo));
    // Given where the tenant has no tokens.
    let r = c.login_reply("acme", "pw", "alice", &good).await;
    assert_eq!(r.code, code(ErrorCode::CustomAuthNotSupport));
    // The tenant password comes first.
    let r = c.login_reply("tok", "wrong", "alice", &good).await;
    assert_eq!(r.code, code(ErrorCode::AcntPswdErr));
    // Bad: another user's token, another secret, tampered, malformed, no user ID.
    let failed = code(ErrorCode::CustomAuthFailed);
    let bobs = mint_token(TOKEN_SECRET, "tok", "bob", later);
    let forged = mint_token("not-the-secret-at-all!!", "tok", "alice", later);
    let other_tenant = mint_token(TOKEN_SECRET, "acme", "alice", later);
    let tampered = good.replace(&later.to_string(), &(later + 1).to_string());
    for (user, token) in [
        ("alice", bobs.as_str()),
        ("alice", forged.as_str()),
        ("alice", other_tenant.as_str()),
        ("alice", tampered.as_str()),
        ("alice", "v1.123.abc"),
        ("alice", "garbage"),
        ("", good.as_str()),
    ] {
        let r = c.login_reply("tok", "pw", user, token).await;
        assert_eq!(r.code, failed, "{user:?} {token:?}");
    }
    // Expired.
    let expired = mint_token(TOKEN_SECRET, "tok", "alice", unix_now() - 1);
    let r = c.login_reply("tok", "pw", "alice", &expired).await;
    assert_eq!(r.code, code(ErrorCode::TokenTimeout));
    // Good, and the session works.
    let r = c.login_reply("tok", "pw", "alice", &good).await;
    assert_eq!(r.code, 0);
    assert_eq!(r.data["user_id"], "alice");
    let r = c
        .request(serde_json::json!({"op": "get_user_status"}))
        .await;
    assert_eq!(r.code, 0);
}
