//! The error codes of the C ABI (`CRVIDEOSDK_*`), shared by the SDK and the server.
//!
//! One table is the single source of truth: the SDK's header `#define`s, the
//! `CRVideo_GetErrorDesc` texts and the codes the server puts on the wire all come from it.

macro_rules! error_codes {
    ($( $variant:ident = $value:literal, $name:literal, $desc:literal; )*) => {
        /// An error code with the value the original SDK gives it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(i32)]
        pub enum ErrorCode {
            $( $variant = $value, )*
        }

        impl ErrorCode {
            /// Every code, in ascending order of value.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The name after `CRVIDEOSDK_` in the C header, e.g. `NOT_LOGIN`.
            pub fn name(self) -> &'static str {
                match self { $( ErrorCode::$variant => $name, )* }
            }

            /// A short English description, as `CRVideo_GetErrorDesc` returns it.
            pub fn description(self) -> &'static str {
                match self { $( ErrorCode::$variant => $desc, )* }
            }

            /// The code for a numeric value, if there is one.
            pub fn from_code(code: i32) -> Option<ErrorCode> {
                match code { $( $value => Some(ErrorCode::$variant), )* _ => None }
            }
        }
    };
}

error_codes! {
    NoErr = 0, "NOERR", "no error";
    UnknowErr = 1, "UNKNOWERR", "unknown error";
    OutOfMem = 2, "OUTOF_MEM", "out of memory";
    InnerErr = 3, "INNER_ERR", "internal error";
    MismatchClientVer = 4, "MISMATCHCLIENTVER", "client and server protocol versions do not match";
    ParamErr = 5, "PARAM_ERR", "invalid parameter";
    ErrData = 6, "ERR_DATA", "invalid data";
    AcntPswdErr = 7, "ANCTPSWD_ERR", "wrong account or password";
    ServerException = 8, "SERVER_EXCEPTION", "server error";
    LoginStateError = 9, "LOGINSTATE_ERROR", "already logged in or logging in";
    KickoutByRelogin = 10, "KICKOUT_BY_RELOGIN", "logged out because the same user logged in elsewhere";
    NotInit = 11, "NOT_INIT", "SDK not initialised";
    NotLogin = 12, "NOT_LOGIN", "not logged in";
    Base64CovErr = 13, "BASE64_COV_ERR", "base64 conversion failed";
    CustomAuthNoInfo = 14, "CUSTOMAUTH_NOINFO", "custom authentication required but no auth code given";
    CustomAuthNotSupport = 15, "CUSTOMAUTH_NOTSUPPORT", "custom authentication not enabled for this account";
    CustomAuthException = 16, "CUSTOMAUTH_EXCEPTION", "custom authentication failed with an exception";
    CustomAuthFailed = 17, "CUSTOMAUTH_FAILED", "custom authentication failed";
    TokenTimeout = 18, "TOKEN_TIMEOUT", "token expired";
    TokenAuthInfoErr = 19, "TOKEN_AUTHINFOERR", "token authentication information invalid";
    TokenAppIdNotExist = 20, "TOKEN_APPIDNOTEXIST", "token application ID does not exist";
    TokenAuthFailed = 21, "TOKEN_AUTH_FAILED", "token authentication failed";
    TokenNotTokenType = 22, "TOKEN_NOTTOKENTYPE", "not a token-type account";
    ApiNoPermission = 23, "API_NO_PERMISSION", "no permission for this operation";
    AccountExpired = 24, "ACCOUNT_EXPIRED", "account expired";
    NetworkInitFailed = 200, "NETWORK_INITFAILED", "network initialisation failed";
    NoServerInfo = 201, "NO_SERVERINFO", "no server address configured";
    NoServerRsp = 202, "NOSERVER_RSP", "server did not respond in time";
    CreateConnFailed = 203, "CREATE_CONN_FAILED", "could not connect to any server";
    SocketException = 204, "SOCKETEXCEPTION", "socket error";
    SocketTimeout = 205, "SOCKETTIMEOUT", "socket timeout";
    ForcedCloseConnection = 206, "FORCEDCLOSECONNECTION", "connection closed by the server";
    ConnectionLost = 207, "CONNECTIONLOST", "connection lost";
    SslErr = 209, "SSL_ERR", "TLS error";
    RspDatErr = 210, "RSPDAT_ERR", "malformed response from the server";
    QueIdInvalid = 400, "QUE_ID_INVALID", "unknown queue";
    QueNoUser = 401, "QUE_NOUSER", "no customer waiting in the queue";
    QueUserCancelled = 402, "QUE_USER_CANCELLED", "the customer left the queue";
    QueServiceNotStart = 403, "QUE_SERVICE_NOT_START", "not serving this queue";
    AlreadyOtherQue = 404, "ALREADY_OTHERQUE", "already queuing in another queue";
    InvalidCallId = 600, "INVALID_CALLID", "unknown or finished call";
    ErrCallExist = 601, "ERR_CALL_EXIST", "already in a call";
    ErrBusy = 602, "ERR_BUSY", "the other side is busy";
    ErrOffline = 603, "ERR_OFFLINE", "the other side is offline";
    ErrNoAnswer = 604, "ERR_NOANSWER", "no answer";
    ErrUserNotFound = 605, "ERR_USER_NOT_FOUND", "no such user";
    ErrRefuse = 606, "ERR_REFUSE", "the other side refused";
    MeetNotExist = 800, "MEETNOTEXIST", "no such meeting";
    AuthError = 801, "AUTHERROR", "wrong meeting password";
    MemberOverflowError = 802, "MEMBEROVERFLOWERROR", "the meeting is full";
    MeetRoomLocked = 804, "MEETROOMLOCKED", "the meeting is locked";
    AlreadyInMeeting = 807, "ALREADYINMEETING", "already in a meeting";
    NotInMeeting = 817, "NOT_INMEETING", "not in a meeting";
    CatchScreenErr = 900, "CATCH_SCREEN_ERR", "screen capture failed";
    RecordMax = 901, "RECORD_MAX", "the recording reached its longest duration";
    RecordNoDisk = 902, "RECORD_NO_DISK", "the recording could not be written (disk full)";
    SendFail = 1000, "SENDFAIL", "send failed";
    SendCmdLarge = 1100, "SENDCMD_LARGE", "command larger than 51200 bytes";
    SendBufferLarge = 1101, "SENDBUFFER_LARGE", "buffer larger than the configured cap";
    SendDataTargetInvalid = 1102, "SENDDATA_TARGETINVALID", "target user offline or unknown";
    SendFileFileInError = 1103, "SENDFILE_FILEINERROR", "file cannot be read";
    TransIdInvalid = 1104, "TRANSID_INVALID", "unknown or finished transfer";
    RecordStateErr = 1200, "RECORD_STATE_ERR", "not possible in the recording's state";
    RecordFileNotExist = 1201, "RECORD_FILE_NOT_EXIST", "no such record file";
    RecordUploadFailed = 1202, "RECORD_UPLOAD_FAILED", "the record file could not be uploaded";
    RecordDeleteFailed = 1203, "RECORD_DELETE_FAILED", "the record file could not be deleted";
    FileNotExist = 1400, "FILE_NOT_EXIST", "file does not exist";
    FileReadErr = 1401, "FILE_READ_ERR", "file read error";
    FileWriteErr = 1402, "FILE_WRITE_ERR", "file write error";
    FileAlreadyExist = 1403, "FILE_ALREADY_EXIST", "file already exists";
    NetDiskFull = 1410, "NETDISK_FULL", "the net disk's quota is used up";
    NetDiskFileIdInvalid = 1411, "NETDISK_FILEID_INVALID", "unknown or malformed net-disk file ID";
    // This implementation's extension, outside the original SDK's ranges.
    TooFrequent = 2000, "TOO_FREQUENT", "too many requests; slow down";
}

impl ErrorCode {
    /// The numeric value, as it travels on the wire and through the C ABI.
    pub fn code(self) -> i32 {
        self as i32
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for &e in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(e.code()), Some(e));
            assert!(names.insert(e.name()), "duplicate name {}", e.name());
            assert!(!e.description().is_empty());
        }
        assert_eq!(ErrorCode::from_code(208), None);
        assert_eq!(ErrorCode::NotLogin.code(), 12);
        assert_eq!(ErrorCode::TransIdInvalid.code(), 1104);
    }

    #[test]
    fn table_is_sorted_by_value() {
        let values: Vec<i32> = ErrorCode::ALL.iter().map(|e| e.code()).collect();
        let mut sorted = values.clone();
        sorted.sort_unstable();
        assert_eq!(values, sorted);
    }
}
