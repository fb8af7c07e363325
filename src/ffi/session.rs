//! Session exports: Login and Logout.

use std::ffi::{c_char, c_int};

use crvideo_proto::LoginRequest;

use super::{arg_str, cookie_arg, returns_code};
use crate::client::Command;
use crate::{instance, ErrorCode};

/// Logs in: `authAcnt`/`authPswd` authenticate the tenant (the account configured on the
/// server), `nickName` is shown to others, `privAcnt` is the user's ID in the tenant (`""`:
/// the server assigns one), `privAuthCode` is the custom auth code (`""` if unused),
/// `cookie` (may be NULL) comes back in the result callback.
///
/// Returns 0, then exactly one of `LoginSuccess(usrID, cookie)` or `LoginFail(sdkErr,
/// cookie)` follows: `CRVIDEOSDK_ANCTPSWD_ERR` (wrong account or password),
/// `CRVIDEOSDK_LOGINSTATE_ERROR` (already logged in or logging in),
/// `CRVIDEOSDK_CREATE_CONN_FAILED` (no server answered within the request timeout),
/// `CRVIDEOSDK_MISMATCHCLIENTVER`, `CRVIDEOSDK_NOSERVER_RSP`, or `CRVIDEOSDK_NOT_LOGIN`
/// (`CRVideo_Logout` or `CRVideo_Uninit` cancelled the login).
/// A non-zero return means no callback follows: `CRVIDEOSDK_NOT_INIT`,
/// `CRVIDEOSDK_PARAM_ERR` (a NULL or non-UTF-8 string), `CRVIDEOSDK_NO_SERVERINFO` (no
/// server address set).
#[no_mangle]
pub unsafe extern "C" fn CRVideo_Login(
    authAcnt: *const c_char,
    authPswd: *const c_char,
    nickName: *const c_char,
    privAcnt: *const c_char,
    privAuthCode: *const c_char,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let login = LoginRequest {
            tenant: arg_str(authAcnt)?.to_owned(),
            password: arg_str(authPswd)?.to_owned(),
            nickname: arg_str(nickName)?.to_owned(),
            user_id: arg_str(privAcnt)?.to_owned(),
            auth_code: arg_str(privAuthCode)?.to_owned(),
        };
        let cookie = cookie_arg(&instance, cookie)?;
        let servers = instance.servers();
        if servers.is_empty() {
            return Err(ErrorCode::NoServerInfo);
        }
        instance.send(Command::Login {
            servers,
            login,
            cookie,
        })
    })
}

/// Logs out: tells the server, closes the connection and fails every pending request
/// (their failure callbacks carry `CRVIDEOSDK_NOT_LOGIN`); a login in progress is cancelled
/// (`LoginFail(CRVIDEOSDK_NOT_LOGIN)`). When it returns 0 the SDK is logged out and a new
/// `CRVideo_Login` may start. No callback reports the logout itself.
///
/// Returns 0, `CRVIDEOSDK_NOT_LOGIN` (neither logged in nor logging in) or
/// `CRVIDEOSDK_NOT_INIT`. May be called from inside a callback.
#[no_mangle]
pub extern "C" fn CRVideo_Logout() -> c_int {
    returns_code(|| instance::current()?.logout())
}
