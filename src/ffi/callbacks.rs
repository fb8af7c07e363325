//! `CRVideo_Callbacks`: the table of C function pointers through which the app receives
//! results and notifications — the C form of the original SDK's virtual callback classes.

use std::ffi::{c_char, c_int, c_void};

/// The app's callbacks. Set `size` to `sizeof(CRVideo_Callbacks)`; the SDK reads only the
/// members that fit in `size`, so a program built against an older, shorter version of this
/// struct keeps working with a newer library. New members are only ever appended.
///
/// Every member may be NULL (that event is then skipped). Each takes the `userData` given
/// to `CRVideo_SetCallbacks` first. String arguments are UTF-8, never NULL (empty string
/// instead), and valid only until the callback returns: copy what you keep.
///
/// In the default `"thread"` dispatch mode every callback runs on one SDK thread named
/// `crvideo-dispatch`, one at a time, in the order the events happened.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct CRVideo_Callbacks {
    /// `sizeof(CRVideo_Callbacks)` as the caller compiled it.
    pub size: usize,

    // Login and session
    /// Login succeeded; `usrID` is the user's ID (the one the server assigned when
    /// `privAcnt` was empty).
    pub LoginSuccess: Option<
        unsafe extern "C" fn(userData: *mut c_void, usrID: *const c_char, cookie: *const c_char),
    >,
    /// Login failed with `sdkErr` (e.g. `CRVIDEOSDK_ANCTPSWD_ERR`,
    /// `CRVIDEOSDK_CREATE_CONN_FAILED`, `CRVIDEOSDK_LOGINSTATE_ERROR`).
    pub LoginFail:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// The session ended without `CRVideo_Logout`: `CRVIDEOSDK_KICKOUT_BY_RELOGIN` or
    /// `CRVIDEOSDK_CONNECTIONLOST`. Pending requests fail after this event.
    pub LineOff: Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int)>,

    // Presence
    /// `CRVideo_SetDNDStatus` succeeded.
    pub SetDNDStatusSuccess:
        Option<unsafe extern "C" fn(userData: *mut c_void, cookie: *const c_char)>,
    /// `CRVideo_SetDNDStatus` failed.
    pub SetDNDStatusFail:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// `CRVideo_GetUserStatus` result: a JSON array of UserStatusObj.
    pub GetUserStatusSuccess: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            usersStatusJson: *const c_char,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_GetUserStatus` failed.
    pub GetUserStatusFail:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// `CRVideo_StartUserStatusNotify` result.
    pub StartUserStatusNotifyRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// A user's status changed: one UserStatusObj; `cookie` is StartUserStatusNotify's.
    pub NotifyUserStatus: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            userStatusJson: *const c_char,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_StopUserStatusNotify` result.
    pub StopUserStatusNotifyRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,

    // Meetings
    /// `CRVideo_CreateMeeting` succeeded: the new MeetInfoObj.
    pub CreateMeetingSuccess: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            meetObjJson: *const c_char,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_CreateMeeting` failed.
    pub CreateMeetingFail:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// `CRVideo_DestroyMeeting` result.
    pub DestroyMeetingRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// `CRVideo_GetMeetings` result: a JSON array of MeetInfoObj.
    pub GetMeetingsSuccess: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            meetingsJson: *const c_char,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_GetMeetings` failed.
    pub GetMeetingsFail:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,

    // Calls and invitations: results of this user's requests
    /// The callee was reached and is ringing.
    pub CallSuccess: Option<
        unsafe extern "C" fn(userData: *mut c_void, callID: *const c_char, cookie: *const c_char),
    >,
    /// The call could not be placed.
    pub CallFail: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_AcceptCall` succeeded.
    pub AcceptCallSuccess: Option<
        unsafe extern "C" fn(userData: *mut c_void, callID: *const c_char, cookie: *const c_char),
    >,
    /// `CRVideo_AcceptCall` failed.
    pub AcceptCallFail: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_RejectCall` succeeded.
    pub RejectCallSuccess: Option<
        unsafe extern "C" fn(userData: *mut c_void, callID: *const c_char, cookie: *const c_char),
    >,
    /// `CRVideo_RejectCall` failed.
    pub RejectCallFail: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_HungupCall` succeeded.
    pub HangupCallSuccess: Option<
        unsafe extern "C" fn(userData: *mut c_void, callID: *const c_char, cookie: *const c_char),
    >,
    /// `CRVideo_HungupCall` failed.
    pub HangupCallFail: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_ClientInvite` result.
    pub ClientInviteRslt: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            inviteID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_ClientCancelInvite` result.
    pub ClientCancelInviteRslt: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            inviteID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,

    // Transparent channel: results of this user's requests
    /// `CRVideo_SendCmd` result.
    pub SendCmdRlst: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            taskID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_SendBuffer` result.
    pub SendBufferRlst: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            taskID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_SendFile` result.
    pub SendFileRlst: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            taskID: *const c_char,
            fileName: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// Progress of a `CRVideo_SendBuffer` / `CRVideo_SendFile` task, in bytes.
    pub SendProgress: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            taskID: *const c_char,
            sendedLen: i64,
            totalLen: i64,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_CancelSend` result; `cookie` is the cancelled task's.
    pub CancelSendRlst: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            taskID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,

    // Calls and invitations: what others do
    /// Someone calls (or invites) this user; `meetObjJson` is the meeting they propose.
    pub NotifyCallIn: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            meetObjJson: *const c_char,
            callerID: *const c_char,
            usrExtDat: *const c_char,
        ),
    >,
    /// The callee accepted this user's call.
    pub NotifyCallAccepted: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            meetObjJson: *const c_char,
            usrExtDat: *const c_char,
        ),
    >,
    /// The call was rejected (`CRVIDEOSDK_ERR_REFUSE`) or not answered (`CRVIDEOSDK_ERR_NOANSWER`).
    pub NotifyCallRejected: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            sdkErr: c_int,
            usrExtDat: *const c_char,
        ),
    >,
    /// The other side hung up.
    pub NotifyCallHungup: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            callID: *const c_char,
            usrExtDat: *const c_char,
        ),
    >,
    /// Status of an invitation this user placed: 0 ringing, 1 accepted, 2 rejected,
    /// 3 no answer, 4 hung up.
    pub NotifyInviteStatus:
        Option<unsafe extern "C" fn(userData: *mut c_void, inviteID: *const c_char, status: c_int)>,

    // Transparent channel: what others send (binary-safe)
    /// A command arrived (`CRVideo_SendCmd` of `sourceUserId`); binary-safe.
    pub NotifyCmdData: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            sourceUserId: *const c_char,
            data: *const u8,
            len: usize,
        ),
    >,
    /// A buffer arrived (`CRVideo_SendBuffer` of `sourceUserId`); binary-safe.
    pub NotifyBufferData: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            sourceUserId: *const c_char,
            data: *const u8,
            len: usize,
        ),
    >,
    /// A file arrived complete and verified at `tmpFile` (in `tmpDir`); the app moves or
    /// deletes it. `orgFileName` is the sender's base name, in full (a name too long for the
    /// file system is shortened in `tmpFile`, its extension kept).
    pub NotifyFileData: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            sourceUserId: *const c_char,
            tmpFile: *const c_char,
            orgFileName: *const c_char,
        ),
    >,
    /// An incoming transfer was cancelled (or its sender went offline); nothing of it is kept.
    pub NotifyCancelSend:
        Option<unsafe extern "C" fn(userData: *mut c_void, taskID: *const c_char)>,

    // Call-center queues
    /// `CRVideo_InitQueueDat` result; after 0 the queue getters answer.
    pub InitQueueDatRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// A queue's counts changed: one QueueStatus (`{"queID":1,"agent_num":2,"wait_num":3,
    /// "srv_num":1}`). Reaches the queue's agents and waiting customers (at most once per
    /// 100 ms, with the latest counts), and answers `CRVideo_RefreshAllQueueStatus`.
    pub QueueStatusChanged:
        Option<unsafe extern "C" fn(userData: *mut c_void, queStatusJson: *const c_char)>,
    /// This customer's place in its queue changed: one QueuingInfo (`{"queID":1,"position":0,
    /// "queuingTime":17}`; `queID` -1: no longer queuing). Moves are told at most once per
    /// 100 ms, with the latest place (a place may be skipped).
    pub QueuingInfoChanged:
        Option<unsafe extern "C" fn(userData: *mut c_void, queuingInfoJson: *const c_char)>,
    /// `CRVideo_StartQueuing` result.
    pub StartQueuingRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// `CRVideo_StopQueuing` result.
    pub StopQueuingRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// `CRVideo_StartService` result.
    pub StartServiceRslt: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            queID: c_int,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_StopService` result.
    pub StopServiceRslt: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            queID: c_int,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// `CRVideo_AcceptAssignUser` / `CRVideo_RejectAssignUser` result.
    pub ResponseAssignUserRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int, cookie: *const c_char)>,
    /// To an agent: a customer was assigned automatically (one QueueUser:
    /// `{"queID":1,"usrID":"bob","name":"Bob","queuingTime":17,"usrExtDat":""}`). Answer with
    /// `CRVideo_AcceptAssignUser` or `CRVideo_RejectAssignUser` within the server's
    /// `call_timeout_secs`, else `CancelAssignUser` follows.
    pub AutoAssignUser:
        Option<unsafe extern "C" fn(userData: *mut c_void, queUserJson: *const c_char)>,
    /// `CRVideo_ReqAssignUser` result: the assigned QueueUser (`""` on failure).
    pub ReqAssignUserRslt: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            sdkErr: c_int,
            queUserJson: *const c_char,
            cookie: *const c_char,
        ),
    >,
    /// To an agent: the assignment of `usrID` was withdrawn (not answered in time, the customer
    /// left, or the agent stopped serving the queue). A customer not answered in time is
    /// handled as after `CRVideo_RejectAssignUser`: other agents first, this one again later.
    pub CancelAssignUser:
        Option<unsafe extern "C" fn(userData: *mut c_void, queID: c_int, usrID: *const c_char)>,

    // Meeting room
    /// `CRVideo_EnterMeeting` result. After 0 the room's state follows, then live changes.
    pub EnterMeetingRslt: Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int)>,
    /// Another member entered the meeting this user is in.
    pub UserEnterMeeting:
        Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char)>,
    /// Another member left the meeting (exit, or connection lost).
    pub UserLeftMeeting: Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char)>,
    /// `CRVideo_StopMeeting` result.
    pub StopMeetingRslt: Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int)>,
    /// The meeting was stopped by its creator (or destroyed): this user is out of it.
    pub MeetingStopped: Option<unsafe extern "C" fn(userData: *mut c_void)>,
    /// This user is out of the meeting it was in without having left it: its connection was
    /// lost (comes before `LineOff`), or, in cluster mode, the server node holding the
    /// meeting's room went away (entering again opens the room anew).
    pub MeetingDropped: Option<unsafe extern "C" fn(userData: *mut c_void)>,
    /// A member's audio status changed (0 unknown, 1 no device, 2 closed, 3 open, 4 opening).
    pub AudioStatusChanged: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            userID: *const c_char,
            oldStatus: c_int,
            newStatus: c_int,
        ),
    >,
    /// A member's video status changed (the same values).
    pub VideoStatusChanged: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            userID: *const c_char,
            oldStatus: c_int,
            newStatus: c_int,
        ),
    >,
    /// `CRVideo_SendIMmsg` result.
    pub SendIMmsgRlst: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            taskID: *const c_char,
            sdkErr: c_int,
            cookie: *const c_char,
        ),
    >,
    /// A text message from `fromUserID`; `sendTime` is the server's time (seconds since 1970).
    pub NotifyIMmsg: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            fromUserID: *const c_char,
            text: *const c_char,
            sendTime: i64,
        ),
    >,
    /// `CRVideo_StartScreenShare` result: 0, `CRVIDEOSDK_ERR_BUSY` (another member shares).
    pub StartScreenShareRslt: Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int)>,
    /// `CRVideo_StopScreenShare` result: 0, `CRVIDEOSDK_API_NO_PERMISSION` (another member
    /// shares).
    pub StopScreenShareRslt: Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int)>,
    /// Another member started sharing their screen (also on entry while someone shares).
    pub NotifyScreenShareStarted: Option<unsafe extern "C" fn(userData: *mut c_void)>,
    /// The sharer stopped sharing (or left the meeting).
    pub NotifyScreenShareStopped: Option<unsafe extern "C" fn(userData: *mut c_void)>,
    /// The sharer `operId` gave the control right of their screen to `targetId`.
    pub NotifyGiveCtrlRight: Option<
        unsafe extern "C" fn(userData: *mut c_void, operId: *const c_char, targetId: *const c_char),
    >,
    /// The sharer `operId` took the control right back from `targetId` (also when the share
    /// ends or `targetId` leaves).
    pub NotifyReleaseCtrlRight: Option<
        unsafe extern "C" fn(userData: *mut c_void, operId: *const c_char, targetId: *const c_char),
    >,
    /// Another member switched the meeting's page (`CRVIDEOSDK_MAINPAGE_*`, page ID).
    pub NotifySwitchToPage:
        Option<unsafe extern "C" fn(userData: *mut c_void, mainPage: c_int, pageID: *const c_char)>,
    /// Another member set the video-wall mode.
    pub NotifyVideoWallMode: Option<unsafe extern "C" fn(userData: *mut c_void, mode: c_int)>,
    /// `operId` made `targetId`'s video the main one.
    pub NotifyMainVideoChanged: Option<
        unsafe extern "C" fn(userData: *mut c_void, operId: *const c_char, targetId: *const c_char),
    >,
    /// This user's connection quality while in a meeting, 0–10 (10 best), from the heartbeat
    /// round trips and unanswered pings; once known after entering, then on each change.
    pub NetStateChanged: Option<unsafe extern "C" fn(userData: *mut c_void, level: c_int)>,
    // Whiteboards
    /// On entering a meeting (after `EnterMeetingRslt(0)`): its open whiteboards, a JSON
    /// array of BoardObj in order of creation (`[]` when none).
    pub NotifyInitBoards:
        Option<unsafe extern "C" fn(userData: *mut c_void, boardsJson: *const c_char)>,
    /// On entering, after `NotifyInitBoards`: once per board page that has elements, a JSON
    /// array of them in the meeting's order; `operatorID` changed the page last; `imgID` is
    /// the page's background image (a net-disk file ID, "" when none).
    pub NotifyInitBoardPageDat: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            boardID: *const c_char,
            pageNo: c_int,
            imgID: *const c_char,
            elementsJson: *const c_char,
            operatorID: *const c_char,
        ),
    >,
    /// A member (this user too) opened a whiteboard (`boardJson` a BoardObj).
    pub NotifyCreateBoard: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            boardJson: *const c_char,
            operatorID: *const c_char,
        ),
    >,
    /// A member (this user too) closed a whiteboard; its elements are gone.
    pub NotifyCloseBoard: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            boardID: *const c_char,
            operatorID: *const c_char,
        ),
    >,
    /// A member (this user too: the confirmation) added an element to a board page.
    pub NotifyAddBoardElement: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            boardID: *const c_char,
            pageNo: c_int,
            elementJson: *const c_char,
            operatorID: *const c_char,
        ),
    >,
    /// A member (this user too) replaced an element; it keeps its place in the page's order.
    pub NotifyModifyBoardElement: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            boardID: *const c_char,
            pageNo: c_int,
            elementJson: *const c_char,
            operatorID: *const c_char,
        ),
    >,
    /// A member (this user too) deleted elements of a board page (IDs joined by `;`).
    pub NotifyDelBoardElement: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            boardID: *const c_char,
            pageNo: c_int,
            elementIDs: *const c_char,
            operatorID: *const c_char,
        ),
    >,
    /// Another member's pointer on a board.
    pub NotifyMouseHotSpot: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            boardID: *const c_char,
            x: c_int,
            y: c_int,
            operatorID: *const c_char,
        ),
    >,
    // Connection
    /// The connection was lost; the SDK is reconnecting and will resume the session (the
    /// user stays online, in its meeting and calls) within the resume window
    /// (`resumeWindowMs`). Calls made meanwhile are sent once it is back. Transfers and
    /// commands in flight ended with `CRVIDEOSDK_CONNECTIONLOST`.
    pub Reconnecting: Option<unsafe extern "C" fn(userData: *mut c_void)>,
    /// The session resumed on a new connection after `Reconnecting`: nothing was lost or
    /// repeated. If it cannot resume, `LineOff(CRVIDEOSDK_CONNECTIONLOST)` comes instead.
    pub Reconnected: Option<unsafe extern "C" fn(userData: *mut c_void)>,
    // Video
    /// A new picture of `userID`'s camera `videoID` (one this user watches, see
    /// `CRVideo_SetWatchVideos`) was decoded; `frmTime` is the sender's timestamp of it
    /// (`CRVideo_InputCustomVideoDat`'s `timeStampMs`). Coalesced: no further one for this
    /// video until the app took a picture with `CRVideo_GetVideoImg` (a slow app skips
    /// pictures, it never queues them).
    pub NotifyVideoData: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            userID: *const c_char,
            videoID: c_int,
            frmTime: i64,
        ),
    >,
    /// `userID`'s cameras changed (created, destroyed; this user's own, and those of the
    /// other members of the meeting, on entering too): see `CRVideo_GetAllVideoInfo`.
    pub VideoDevChanged: Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char)>,
    /// `userID`'s default camera is `videoID` now (0: it has none).
    pub DefVideoChanged:
        Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char, videoID: c_int)>,
    // Screen pixels
    /// The shared screen changed within `left`, `top`, `width`, `height` (the bounding box
    /// of the changed pixels since the picture the app last took); take it with
    /// `CRVideo_GetShareScreenDecodeImg`. Coalesced: no further one until the app took a
    /// picture (then the next one covers everything that changed since).
    pub NotifyScreenShareData: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            userID: *const c_char,
            left: c_int,
            top: c_int,
            width: c_int,
            height: c_int,
        ),
    >,
    /// To the sharer, after `CRVideo_SetCustomizeCatchScreen(1)`: time for the next screen
    /// image (`CRVideo_SetCustomizeScreenImg`), at the share's `maxFPS` while sharing; not
    /// again until the app gave one.
    pub NotifyCatchScreen: Option<unsafe extern "C" fn(userData: *mut c_void)>,
    /// The shared screen's size, when first known and whenever it changes.
    pub NotifyShareRectChanged:
        Option<unsafe extern "C" fn(userData: *mut c_void, width: c_int, height: c_int)>,
    // Audio
    /// `userID`'s speaking level (0 silent – 10 loudest, from its audio) changed from
    /// `oldLevel` to `newLevel`: for every member of the meeting whose mic is open, this
    /// user included; at most 10 a second per member. A member whose mic closes goes to 0.
    pub MicEnergyUpdate: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            userID: *const c_char,
            oldLevel: c_int,
            newLevel: c_int,
        ),
    >,
    /// PCM of `aSide` (0 this user's microphone as pushed, 1 the speaker: the mix of the
    /// other members) after `CRVideo_StartGetAudioPCM(aSide, 0, {"EachSize":n})`: `len` is
    /// `n` bytes of 16 kHz 16-bit little-endian mono. The speaker side comes at real time
    /// while in a meeting (silence when nobody speaks). An app that falls far behind loses
    /// pieces rather than growing the SDK's memory.
    pub NotifyAudioPCMDat: Option<
        unsafe extern "C" fn(userData: *mut c_void, aSide: c_int, pcm: *const u8, len: usize),
    >,
    // Net disk
    /// Result of `CRVideo_GetNetDiskSummary`: the tenant's quota and the bytes its listed and
    /// resource files use (both 0 on failure).
    pub GetNetDiskSummaryRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, diskLimit: i64, diskUsed: i64)>,
    /// Result of `CRVideo_GetNetDiskFileList`: a JSON array of NetFileObj, oldest first
    /// (`[]` on failure).
    pub GetNetDiskFileListRslt:
        Option<unsafe extern "C" fn(userData: *mut c_void, fileListJson: *const c_char)>,
    /// An upload of this user did not fit in the tenant's quota: the current file list, so
    /// the app can offer deletions. `NotifyNetDiskTransforProgress(fileID, 0, 0)` follows.
    pub NotifyNetDiskIsFull:
        Option<unsafe extern "C" fn(userData: *mut c_void, fileListJson: *const c_char)>,
    /// Result of `CRVideo_DeleteNetDiskFile`: 1 deleted, 0 not (unknown file, network).
    pub NotifyNetDiskFileDeleteRslt: Option<
        unsafe extern "C" fn(userData: *mut c_void, fileID: *const c_char, isSucceed: c_int),
    >,
    /// Progress of a net-disk upload or download: `percent` rises to 100, and the last call
    /// has `isSucceed` 1 (the file is complete and verified); a failed or cancelled
    /// transfer ends with one call with `isSucceed` 0.
    pub NotifyNetDiskTransforProgress: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            fileID: *const c_char,
            percent: c_int,
            isSucceed: c_int,
        ),
    >,
    /// A member (this user too) set a whiteboard page's background: `subPageJson`
    /// `{"boardID":"b1","pageNo":0}`, `imgFileID` a net-disk file ID ("" = none).
    pub NotifyBoardBkImage: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            subPageJson: *const c_char,
            imgFileID: *const c_char,
            operatorID: *const c_char,
        ),
    >,
    // HTTP file transfer
    /// An HTTP transfer's state (`fileName` is its `filePathName`): 0 not started (or
    /// cancelled), 1 queued (3 run at once, the others wait in order), 2 transferring, 3
    /// finished (`FileFinished` follows).
    pub FileStateChanged:
        Option<unsafe extern "C" fn(userData: *mut c_void, fileName: *const c_char, state: c_int)>,
    /// The head of an HTTP transfer's final response (after redirects): the status line
    /// and the headers, each line ending in CRLF, e.g. `"HTTP/1.1 200 OK\r\ncontent-length:
    /// 5\r\n"`. Also for an error status, before its `FileFinished`.
    pub FileHttpRspHeader: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            fileName: *const c_char,
            rspHeader: *const c_char,
        ),
    >,
    /// The body the server answered an upload with (its first MiB, as UTF-8 text; invalid
    /// bytes replaced), before the upload's `FileFinished`. Never for a download.
    pub FileHttpRspContent: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            fileName: *const c_char,
            content: *const c_char,
        ),
    >,
    /// Bytes of an HTTP transfer done so far (a resumed download counts what it had), of
    /// `totalSize` (0 when unknown): at most 10 a second, and a final one before a
    /// successful `FileFinished`.
    pub FileProgress: Option<
        unsafe extern "C" fn(
            userData: *mut c_void,
            fileName: *const c_char,
            finisedSize: i64,
            totalSize: i64,
        ),
    >,
    /// An HTTP transfer ended: 0 success, 1 internal error, 2 an `extParams` entry HTTP
    /// cannot carry, 3 network unreachable (refused, unknown host, untrusted certificate,
    /// connection broken), 4 timeout (no byte moved for the stall timeout), 5 file
    /// operation failed, 6 URL not http(s), 7 already queued or transferring, 1000 + the
    /// HTTP status when the final answer was a status >= 400 or a redirect not followed
    /// (the sixth in a row). Once per accepted `CRVideo_StartTransferFile`, unless
    /// `CRVideo_CancelFileTransfer`, `CRVideo_RmTransferInfo` or `CRVideo_Uninit` stopped
    /// it first; 2, 6 and 7 come alone (nothing started).
    pub FileFinished:
        Option<unsafe extern "C" fn(userData: *mut c_void, fileName: *const c_char, rslt: c_int)>,
    // Recording
    /// The local recording's state: 1 starting (`CRVideo_StartRecording` accepted), 2
    /// recording (the file is set up), 4 stopping, 0 none (the file is complete at its
    /// `recordPath`, or gone if nothing could be kept). Always in that order.
    pub RecordStateChanged: Option<unsafe extern "C" fn(userData: *mut c_void, state: c_int)>,
    /// The recording stopped by itself: 902 `RECORD_NO_DISK` (a write failed, e.g. the disk
    /// is full: the file keeps what fitted and stays playable), 901 `RECORD_MAX` (the
    /// longest duration was reached), 3 `INNER_ERR` (no encoder). States 4 and 0 follow.
    pub RecordErr: Option<unsafe extern "C" fn(userData: *mut c_void, sdkErr: c_int)>,
    /// A record file's upload to the net disk (`CRVideo_UploadRecordFile`): 1 uploading, 2
    /// uploaded (listed on the tenant's net disk under its file name), 0 not uploaded
    /// (cancelled, or failed: `UploadRecordFileErr` came first).
    pub NotifyRecordFileStateChanged:
        Option<unsafe extern "C" fn(userData: *mut c_void, fileName: *const c_char, state: c_int)>,
    /// Percent of a record file uploaded, rising to 100 (just before state 2).
    pub NotifyRecordFileUploadProgress: Option<
        unsafe extern "C" fn(userData: *mut c_void, fileName: *const c_char, percent: c_int),
    >,
    /// A record file's upload failed: 1202 `RECORD_UPLOAD_FAILED` (the net disk is full,
    /// the server refused it, the file could not be read, the session ended).
    /// `NotifyRecordFileStateChanged(fileName, 0)` follows.
    pub UploadRecordFileErr:
        Option<unsafe extern "C" fn(userData: *mut c_void, fileName: *const c_char, sdkErr: c_int)>,
    // Shared media playback
    /// To the player: `CRVideo_StartPlayMedia`'s file opened: its length in ms and its
    /// picture's size (0 × 0 without a video track). `NotifyMediaStart` follows (unless the
    /// playback is local), or `NotifyMediaStop` if it could not be opened.
    pub NotifyMediaOpened:
        Option<unsafe extern "C" fn(userData: *mut c_void, totalTimeMs: i64, w: c_int, h: c_int)>,
    /// To every member (the player too): `userID` started playing a media file to the
    /// meeting; also to a member entering while it plays.
    pub NotifyMediaStart:
        Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char)>,
    /// To every member: `userID`'s media stopped: 0 stopped (`CRVideo_StopPlayMedia`, or the
    /// player left), 1 the end was reached, 2 the file could not be opened or read, 3 it is
    /// not a media file, 4 its codecs are not supported (H.264 video and Opus audio are),
    /// 5 another reason (another member started playing first). 2–4 only to the player.
    pub NotifyMediaStop:
        Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char, reason: c_int)>,
    /// To every member: `userID` paused (1) or resumed (0) its media (paused at the end
    /// too, after `pauseWhenFinished`).
    pub NotifyMediaPause:
        Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char, pause: c_int)>,
    /// To every member: the player moved its media to `setPTS` ms
    /// (`CRVideo_SetMediaPlayPos`).
    pub NotifyPlayPosSetted: Option<unsafe extern "C" fn(userData: *mut c_void, setPTS: i64)>,
    /// A new picture of `userID`'s media was decoded (the player's own too); `curPosMs` is
    /// its position in the media. Coalesced: no further one until the app took a picture
    /// with `CRVideo_GetMediaImg`.
    pub NotifyMemberMediaData:
        Option<unsafe extern "C" fn(userData: *mut c_void, userID: *const c_char, curPosMs: i64)>,
}

impl CRVideo_Callbacks {
    /// Copies the members of `src` that fit in `src.size` (at most our own size); the rest
    /// stay NULL.
    ///
    /// # Safety
    /// `src` must point to at least `src.size` readable bytes.
    pub(crate) unsafe fn copy_from_prefix(
        src: *const CRVideo_Callbacks,
    ) -> Option<CRVideo_Callbacks> {
        let declared = std::ptr::read_unaligned(src as *const usize);
        if declared < std::mem::size_of::<usize>() {
            return None;
        }
        let mut table = CRVideo_Callbacks::default();
        // Whole members only: a size that ends inside a pointer must not yield half of one.
        let word = std::mem::size_of::<usize>();
        let len = declared.min(std::mem::size_of::<CRVideo_Callbacks>()) / word * word;
        std::ptr::copy_nonoverlapping(
            src as *const u8,
            &mut table as *mut CRVideo_Callbacks as *mut u8,
            len,
        );
        table.size = std::mem::size_of::<CRVideo_Callbacks>();
        Some(table)
    }
}
