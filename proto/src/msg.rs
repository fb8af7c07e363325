//! Control messages. Every client frame carries a request `id`; the server answers each with
//! exactly one [`Reply`] carrying that id in `re`. Unsolicited server messages are
//! [`Event`]s.

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

use crate::boards::{BoardObj, BoardState};
use crate::ErrorCode;

/// A request from the SDK, as sent on the wire: `{"id":7,"op":"login",...}`.
///
/// `id` 0 marks a one-way message: the server sends no reply (used for the flow-control
/// and acknowledgement messages of the transparent channel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

/// What the SDK asks of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// First message on a connection: protocol version check. Reply data: [`HelloOk`].
    Hello {
        version: u32,
        /// Free text naming the client, for the server's log.
        #[serde(default)]
        agent: String,
    },
    /// Authenticate the tenant and bind the connection to a user. Reply data: [`LoginOk`].
    Login(LoginRequest),
    /// End the session. Reply data: none. The server closes the connection after replying.
    Logout,
    /// Set this user's do-not-disturb value (0 off, anything else on). Reply data: none.
    SetDnd { dnd: i32 },
    /// The status of every online user of the tenant. Reply data: [`UserStatusList`].
    GetUserStatus,
    /// Receive an [`Event::UserStatus`] for every status or DND change in the tenant, from
    /// the reply on. Reply data: none.
    SubscribeStatus,
    /// Stop those events; none follows the reply. Harmless when not subscribed.
    UnsubscribeStatus,
    /// Create a meeting of the tenant. Reply data: [`MeetInfo`].
    CreateMeeting {
        /// At most [`MAX_SUBJECT_CHARS`] characters.
        subject: String,
        /// Let the server generate a password.
        with_password: bool,
    },
    /// Destroy a meeting this user created. Reply data: none.
    DestroyMeeting { meet_id: i32 },
    /// The tenant's meetings. Reply data: [`MeetingList`].
    GetMeetings,
    /// Ring `callee`. `call_id` is chosen by the client (see [`valid_call_id`]). Reply data:
    /// none (success: the callee is ringing).
    Call {
        call_id: String,
        callee: String,
        /// JSON text passed through unchanged ("" = no meeting).
        meet_obj: String,
        usr_ext_dat: String,
    },
    /// Accept a ringing call (callee only). Reply data: none.
    AcceptCall {
        call_id: String,
        meet_obj: String,
        usr_ext_dat: String,
    },
    /// Reject a ringing call (callee only). Reply data: none.
    RejectCall {
        call_id: String,
        usr_ext_dat: String,
    },
    /// End a call at any stage (either party). Reply data: none.
    HangupCall {
        call_id: String,
        usr_ext_dat: String,
    },
    /// Ring `invitee` into a meeting. Reply data: none; then [`Event::InviteStatus`] events.
    Invite {
        invite_id: String,
        invitee: String,
        meet_obj: String,
    },
    /// Withdraw a ringing invitation (inviter only). Reply data: none.
    CancelInvite { invite_id: String },
    /// Sender: offer a bulk transfer to `target`. Reply: 0 once the offer reached the target
    /// (who then sends credit), or `SENDDATA_TARGETINVALID`. `transfer_id` is chosen by the
    /// sender (see [`valid_call_id`]); chunks follow as binary frames (see [`crate::data`]).
    TransferOffer {
        transfer_id: String,
        target: String,
        kind: TransferKind,
        /// The file's base name (empty for buffers).
        name: String,
        total: u64,
    },
    /// Receiver, one-way: `bytes` more may be sent; `received` bytes have arrived so far.
    /// The first one (after the offer) opens the window.
    TransferCredit {
        transfer_id: String,
        bytes: u64,
        received: u64,
    },
    /// Sender, one-way: every chunk is sent; `digest` is the BLAKE3 hash (hex) of all of them.
    TransferEnd { transfer_id: String, digest: String },
    /// Receiver: all bytes arrived and match the digest. Reply 0: the transfer is complete
    /// (the sender is told); `TRANSID_INVALID`: it was cancelled first.
    TransferComplete { transfer_id: String },
    /// Either side, one-way: give up with `code` (the other side is told).
    TransferAbort { transfer_id: String, code: i32 },
    /// Sender: cancel. Reply 0 (the receiver is told), or `TRANSID_INVALID` when the transfer
    /// already ended.
    TransferCancel { transfer_id: String },
    /// Receiver, one-way: the command relayed as `relay_id` arrived.
    CmdAck { relay_id: u64 },
    /// The tenant's queues and their current status. Reply data: [`QueueList`].
    QueueInit,
    /// The status of every queue of the tenant. Reply data: [`QueueList`] (`queues` empty).
    QueueRefresh,
    /// Customer: wait in queue `que_id`. Reply: 0, `QUE_ID_INVALID`, `ALREADY_OTHERQUE`.
    StartQueuing { que_id: i32, usr_ext_dat: String },
    /// Customer: leave the queue (harmless when not queuing).
    StopQueuing,
    /// Agent: serve queue `que_id` with `priority` (lower = first). Reply: 0,
    /// `QUE_ID_INVALID`.
    StartService { que_id: i32, priority: i32 },
    /// Agent: stop serving `que_id`. Reply: 0, `QUE_SERVICE_NOT_START`.
    StopService { que_id: i32 },
    /// Agent: ask for a customer now. Reply data: [`QueueUser`]; errors `QUE_NOUSER`,
    /// `QUE_SERVICE_NOT_START`.
    ReqAssignUser,
    /// Agent: take the customer assigned to them. Reply: 0, `QUE_SERVICE_NOT_START`,
    /// `QUE_USER_CANCELLED` (no such assignment any more).
    AcceptAssignUser { que_id: i32, user_id: String },
    /// Agent: decline the customer assigned to them (it goes back to the queue's head).
    RejectAssignUser { que_id: i32, user_id: String },
    /// Enter meeting `meet_id` (its live room). Reply data: [`RoomState`]; errors
    /// `MEETNOTEXIST` (unknown, or another tenant's), `AUTHERROR` (wrong password),
    /// `ALREADYINMEETING`, `MEMBEROVERFLOWERROR`. The other members get
    /// [`Event::MemberEntered`].
    EnterMeeting { meet_id: i32, pswd: String },
    /// Leave the room. Reply: 0 or `NOT_INMEETING`. The others get [`Event::MemberLeft`].
    ExitMeeting,
    /// End the room for everyone (the meeting's creator only: else `API_NO_PERMISSION`).
    /// The others get [`Event::MeetingStopped`] and are out.
    StopMeeting,
    /// Set `user_id`'s audio or video status (own, or anyone's for the meeting's creator).
    /// Reply: 0, `NOT_INMEETING`, `API_NO_PERMISSION`, `PARAM_ERR` (not a member, bad status).
    /// Every member (the requester too) gets [`Event::MediaChanged`] when it changed.
    SetMedia {
        user_id: String,
        kind: MediaKind,
        status: i32,
    },
    /// Send a text message: to `to`, or to every other member when `to` is empty. Reply data:
    /// [`ImSent`]; errors `NOT_INMEETING`, `PARAM_ERR` (too long, or `to` not a member).
    SendIm { text: String, to: String },
    /// Start sharing this member's screen. Reply: 0 (also when already sharing), `ERR_BUSY`
    /// (another member shares), `NOT_INMEETING`. The others get [`Event::ShareStarted`].
    StartScreenShare,
    /// Stop sharing. Reply: 0 (also when nobody shares), `API_NO_PERMISSION` (another member
    /// shares), `NOT_INMEETING`. Control rights given are released first
    /// ([`Event::CtrlRight`]), then the others get [`Event::ShareStopped`].
    StopScreenShare,
    /// This member starts playing the media file `name` to the meeting (again: the new
    /// file replaces its own). Reply: 0, `ERR_BUSY` (another member plays), `PARAM_ERR`
    /// (a name over 255 bytes), `NOT_INMEETING`. Every member gets [`Event::MediaStarted`]
    /// and waits for a key frame of the player's [`MEDIA_VIDEO`](crate::data::MEDIA_VIDEO).
    StartMedia { name: String },
    /// The player pauses (`pause`) or resumes. Reply: 0, `API_NO_PERMISSION` (not the
    /// player), `NOT_INMEETING`. Every member gets [`Event::MediaPaused`].
    PauseMedia { pause: bool },
    /// The player moved to `pos_ms`. Reply as [`Request::PauseMedia`]; every member gets
    /// [`Event::MediaPos`].
    SetMediaPos { pos_ms: i64 },
    /// The player stopped (`reason`: `NotifyMediaStop`'s). Reply as [`Request::PauseMedia`]
    /// (0 also when nothing plays); every member gets [`Event::MediaStopped`].
    StopMedia { reason: i32 },
    /// The sharer gives (`give`) or takes back the control right of its screen from `user_id`.
    /// Reply: 0 (also when nothing changes), `API_NO_PERMISSION` (not the sharer),
    /// `PARAM_ERR` (not another member), `NOT_INMEETING`. Every member gets
    /// [`Event::CtrlRight`] when it changed.
    SetCtrlRight { user_id: String, give: bool },
    /// Switch everyone's main page (`MAINPAGE_*`) and page ID. Reply: 0, `PARAM_ERR`,
    /// `NOT_INMEETING`. The others get [`Event::Page`].
    SwitchToPage { main_page: i32, page_id: String },
    /// Set the video-wall mode (any value >= 0). Reply: 0, `PARAM_ERR`, `NOT_INMEETING`. The
    /// others get [`Event::VideoWallMode`].
    SetVideoWallMode { mode: i32 },
    /// Make `user_id`'s video the main one. Reply: 0, `PARAM_ERR` (not a member),
    /// `NOT_INMEETING`. Every member gets [`Event::MainVideo`].
    SetMainVideo { user_id: String },
    /// Open a whiteboard (its ID chosen by the SDK, unique in the room). Reply: 0,
    /// `PARAM_ERR` (invalid, or the ID is taken), `OUTOF_MEM` (the meeting has
    /// [`crate::boards::MAX_BOARDS_PER_MEETING`] boards), `NOT_INMEETING`. Every member gets
    /// [`Event::BoardCreated`].
    CreateBoard { board: BoardObj },
    /// Close a whiteboard and drop its elements. Reply: 0, `PARAM_ERR` (no such board),
    /// `NOT_INMEETING`. Every member gets [`Event::BoardClosed`].
    CloseBoard { board_id: String },
    /// Add (`modify` false) or replace an element (JSON text, kept verbatim) on a page.
    /// Reply: 0, `PARAM_ERR` (no such board or page, invalid element, the ID exists for an
    /// add or not for a modify), `OUTOF_MEM` (over [`crate::boards::MAX_MEETING_BOARD_BYTES`]),
    /// `NOT_INMEETING`. Every member gets [`Event::Element`].
    SetBoardElement {
        board_id: String,
        page_no: i32,
        element: String,
        modify: bool,
    },
    /// Delete elements of a page. Reply: 0, `PARAM_ERR` (no such board or page, or none of
    /// the IDs is there), `NOT_INMEETING`. Every member gets [`Event::ElementsDeleted`]
    /// with the IDs that were there.
    DelBoardElements {
        board_id: String,
        page_no: i32,
        element_ids: Vec<String>,
    },
    /// Show this member's pointer on a board page. Reply: 0, `PARAM_ERR` (no such board or
    /// page), `NOT_INMEETING`. The others get [`Event::MouseHotSpot`].
    SetMouseHotSpot {
        board_id: String,
        page_no: i32,
        x: i32,
        y: i32,
    },
    /// Set the background of a board page to net-disk file `img_id` ("" clears it). Reply:
    /// 0, `PARAM_ERR` (no such board or page), `NETDISK_FILEID_INVALID` (not a file of the
    /// tenant), `NOT_INMEETING`. Every member gets [`Event::BoardBkImage`].
    SetBoardBkImage {
        board_id: String,
        page_no: i32,
        img_id: String,
    },
    /// The tenant's net-disk quota and use. Reply data: [`NetDiskSummary`].
    NetdiskSummary,
    /// The tenant's listed files. Reply data: [`NetDiskList`].
    NetdiskList,
    /// Delete a file. Reply: 0, `NETDISK_FILEID_INVALID` (malformed or not a file).
    NetdiskDelete { file_id: String },
    /// Start or resume uploading `size` bytes as `file_id` (`org_name`: the local file's
    /// name). Reply data: [`NetDiskUploadStart`] (where to go on from: what the server holds
    /// of this session's upload of the file); errors `NETDISK_FULL` (over the quota, counting
    /// the uploads in progress), `FILE_ALREADY_EXIST` (listed already), `NETDISK_FILEID_INVALID`
    /// (malformed), `PARAM_ERR` (another session uploads it, or a different size). Then the
    /// client sends the bytes in disk frames, and [`Request::NetdiskUploadEnd`].
    NetdiskUpload {
        file_id: String,
        org_name: String,
        size: u64,
    },
    /// Uploader, one-way, behind the last disk frame: `md5` (hex) of the whole file. The
    /// server checks size and digest and answers [`Event::NetdiskUploadResult`].
    NetdiskUploadEnd { file_id: String, md5: String },
    /// Start or resume downloading `file_id` from `offset`. Reply data:
    /// [`NetDiskDownloadStart`]; `NETDISK_FILEID_INVALID` when there is no such file. The
    /// server then sends disk frames as [`Request::NetdiskCredit`] allows.
    NetdiskDownload { file_id: String, offset: u64 },
    /// Downloader, one-way: the server may send the bytes before offset `upto` (absolute,
    /// so a repeated or late one changes nothing; the downloader pauses by not raising it).
    NetdiskCredit { file_id: String, upto: u64 },
    /// End this session's upload or download of `file_id`; an upload's bytes are deleted.
    /// Reply 0 (also when there was none).
    NetdiskCancel { file_id: String },
    /// This member's cameras (the whole list, after each change while in the room; one-way
    /// when sent with id 0). Reply: 0, `PARAM_ERR` (more than [`MAX_VIDEO_DEVS`], an ID 0
    /// or twice), `NOT_INMEETING`. The other members get [`Event::VideoDevs`].
    SetVideoDevs(MemberVideos),
    /// Which videos this member receives: `None` every open one (the default), else those
    /// named `userID.videoID`. Reply: 0, `NOT_INMEETING`.
    SetWatchVideos { videos: Option<Vec<String>> },
    /// This member lost frames of `user_id`'s camera `video_id` (0: the shared screen; it
    /// could not decode them):
    /// the sender is asked for a key frame ([`Event::KeyFrameRequest`]). One-way.
    RequestKeyFrame { user_id: String, video_id: u8 },
    /// Keep this session for up to `window_ms` (capped by the server's
    /// `resume_window_ms`) when its connection is lost, so that the client can resume it
    /// on a new connection with [`Request::Resume`]. Reply data: [`ResumeInfo`].
    EnableResume { window_ms: u64 },
    /// Instead of `login`, right after `hello` on a new connection: take over the session of
    /// `token`, whose connection was lost. `received` counts the session's text frames the
    /// client got from the server (from the first after the login reply on). Reply data:
    /// [`Resumed`]; errors `CONNECTIONLOST` (no such session any more, or it cannot replay
    /// what the client missed). After the reply each side sends again the text frames the
    /// other did not count, and the session goes on.
    Resume { token: String, received: u64 },
}

/// Reply data of [`Request::EnableResume`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeInfo {
    /// What identifies the session to [`Request::Resume`] (empty: resume is off).
    pub token: String,
    /// The window granted (0: resume is off).
    pub window_ms: u64,
}

/// Reply data of [`Request::Resume`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// The session's text frames the server got from the client (from the first after the
    /// login request on): the client sends again those after this count.
    pub received: u64,
}

/// Which stream a [`Request::SetMedia`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

/// A member of a meeting room, with the C API's field names (MemberInfo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    #[serde(rename = "userID")]
    pub user_id: String,
    pub nickname: String,
    /// `ASTATUS`: 0 unknown, 1 no device, 2 closed, 3 open, 4 opening.
    #[serde(rename = "audioStatus")]
    pub audio_status: i32,
    /// `VSTATUS`, the same values.
    #[serde(rename = "videoStatus")]
    pub video_status: i32,
}

/// Media status values (ASTATUS / VSTATUS).
pub const MEDIA_CLOSED: i32 = 2;
pub const MEDIA_OPEN: i32 = 3;
/// Longest IM text, in characters.
pub const MAX_IM_CHARS: usize = 4096;

/// Reply data of [`Request::EnterMeeting`]: the room as it is when the entrant is in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoomState {
    pub meet_id: i32,
    /// The meeting's creator (the one who may stop it and control others' media).
    pub creator: String,
    /// Every member, the entrant included, in order of entry.
    pub members: Vec<MemberInfo>,
    /// The member sharing their screen, if any.
    #[serde(default)]
    pub sharer: Option<String>,
    /// The members the sharer gave the control right to, in order of giving.
    #[serde(default)]
    pub ctrl: Vec<String>,
    /// The current page, once one was set.
    #[serde(default)]
    pub page: Option<PageState>,
    /// The video-wall mode, once one was set.
    #[serde(default)]
    pub wall_mode: Option<i32>,
    /// The main video, once one was set.
    #[serde(default)]
    pub main_video: Option<MainVideo>,
    /// The open whiteboards in order of creation, each with its pages that have elements.
    #[serde(default)]
    pub boards: Vec<BoardState>,
    /// The members' cameras (members without any are left out).
    #[serde(default)]
    pub videos: Vec<MemberVideos>,
    /// The media a member plays to the meeting, if any.
    #[serde(default)]
    pub media: Option<MediaPlay>,
}

/// The media a member plays to the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaPlay {
    pub user_id: String,
    /// The file's name (as the player gave it).
    pub name: String,
    pub paused: bool,
}

/// Most cameras one user may have.
pub const MAX_VIDEO_DEVS: usize = 5;

/// One camera of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoDev {
    pub video_id: u8,
    pub name: String,
}

/// A member's cameras and which one is its default (0: none).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemberVideos {
    /// The member (ignored in a request: the sender).
    #[serde(default)]
    pub user_id: String,
    pub devs: Vec<VideoDev>,
    pub default_video: u8,
}

/// The room's current page ([`Request::SwitchToPage`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageState {
    pub main_page: i32,
    pub page_id: String,
}

/// Whose video is the main one, and who chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MainVideo {
    pub oper: String,
    pub target: String,
}

/// Main page values (`CRVIDEOSDK_MAINPAGE_*`): video wall, screen share, whiteboard.
pub const MAINPAGE_MAX: i32 = 2;

/// Reply data of [`Request::SendIm`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImSent {
    /// The server's time, seconds since 1970 (what the recipients get as `sendTime`).
    pub send_time: i64,
}

/// What a bulk transfer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Buffer,
    File,
}

impl Request {
    /// The request's `op` name on the wire, for logs.
    pub fn op(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Login(_) => "login",
            Request::Logout => "logout",
            Request::SetDnd { .. } => "set_dnd",
            Request::GetUserStatus => "get_user_status",
            Request::SubscribeStatus => "subscribe_status",
            Request::UnsubscribeStatus => "unsubscribe_status",
            Request::CreateMeeting { .. } => "create_meeting",
            Request::DestroyMeeting { .. } => "destroy_meeting",
            Request::GetMeetings => "get_meetings",
            Request::Call { .. } => "call",
            Request::AcceptCall { .. } => "accept_call",
            Request::RejectCall { .. } => "reject_call",
            Request::HangupCall { .. } => "hangup_call",
            Request::Invite { .. } => "invite",
            Request::CancelInvite { .. } => "cancel_invite",
            Request::TransferOffer { .. } => "transfer_offer",
            Request::TransferCredit { .. } => "transfer_credit",
            Request::TransferEnd { .. } => "transfer_end",
            Request::TransferComplete { .. } => "transfer_complete",
            Request::TransferAbort { .. } => "transfer_abort",
            Request::TransferCancel { .. } => "transfer_cancel",
            Request::CmdAck { .. } => "cmd_ack",
            Request::QueueInit => "queue_init",
            Request::QueueRefresh => "queue_refresh",
            Request::StartQueuing { .. } => "start_queuing",
            Request::StopQueuing => "stop_queuing",
            Request::StartService { .. } => "start_service",
            Request::StopService { .. } => "stop_service",
            Request::ReqAssignUser => "req_assign_user",
            Request::AcceptAssignUser { .. } => "accept_assign_user",
            Request::RejectAssignUser { .. } => "reject_assign_user",
            Request::EnterMeeting { .. } => "enter_meeting",
            Request::ExitMeeting => "exit_meeting",
            Request::StopMeeting => "stop_meeting",
            Request::SetMedia { .. } => "set_media",
            Request::SendIm { .. } => "send_im",
            Request::StartScreenShare => "start_screen_share",
            Request::StopScreenShare => "stop_screen_share",
            Request::StartMedia { .. } => "start_media",
            Request::PauseMedia { .. } => "pause_media",
            Request::SetMediaPos { .. } => "set_media_pos",
            Request::StopMedia { .. } => "stop_media",
            Request::SetCtrlRight { .. } => "set_ctrl_right",
            Request::SwitchToPage { .. } => "switch_to_page",
            Request::SetVideoWallMode { .. } => "set_video_wall_mode",
            Request::SetMainVideo { .. } => "set_main_video",
            Request::CreateBoard { .. } => "create_board",
            Request::CloseBoard { .. } => "close_board",
            Request::SetBoardElement { .. } => "set_board_element",
            Request::DelBoardElements { .. } => "del_board_elements",
            Request::SetMouseHotSpot { .. } => "set_mouse_hot_spot",
            Request::SetBoardBkImage { .. } => "set_board_bk_image",
            Request::NetdiskSummary => "netdisk_summary",
            Request::NetdiskList => "netdisk_list",
            Request::NetdiskDelete { .. } => "netdisk_delete",
            Request::NetdiskUpload { .. } => "netdisk_upload",
            Request::NetdiskUploadEnd { .. } => "netdisk_upload_end",
            Request::NetdiskDownload { .. } => "netdisk_download",
            Request::NetdiskCredit { .. } => "netdisk_credit",
            Request::NetdiskCancel { .. } => "netdisk_cancel",
            Request::SetVideoDevs(_) => "set_video_devs",
            Request::SetWatchVideos { .. } => "set_watch_videos",
            Request::RequestKeyFrame { .. } => "request_key_frame",
            Request::EnableResume { .. } => "enable_resume",
            Request::Resume { .. } => "resume",
        }
    }
}

/// Fields of [`Request::Login`]; the names match `CRVideo_Login`'s parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Tenant account (`authAcnt`).
    pub tenant: String,
    /// Tenant password (`authPswd`).
    pub password: String,
    /// Nickname shown to others.
    pub nickname: String,
    /// The user's ID inside the tenant (`privAcnt`); empty: the server assigns one.
    pub user_id: String,
    /// Custom auth code (`privAuthCode`).
    #[serde(default)]
    pub auth_code: String,
}

/// Reply data of a successful hello.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelloOk {
    pub version: u32,
    /// Server name and version, for logs.
    pub server: String,
    /// Both sides send a WebSocket ping at this interval; a side that hears nothing for
    /// [`HelloOk::dead_after_ms`] considers the peer dead.
    pub heartbeat_ms: u64,
    /// Largest control frame the server accepts.
    pub max_frame_bytes: usize,
}

impl HelloOk {
    /// Silence after which a peer counts as dead: three missed heartbeats.
    pub fn dead_after_ms(&self) -> u64 {
        self.heartbeat_ms.saturating_mul(3)
    }
}

/// Presence of one user, with the field names of the C API's UserStatusObj:
/// `{"userID":"alice","userStatus":1,"DNDType":0}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatus {
    #[serde(rename = "userID")]
    pub user_id: String,
    /// [`USER_OFFLINE`], [`USER_IDLE`], [`USER_BUSY`] or [`USER_IN_MEETING`].
    #[serde(rename = "userStatus")]
    pub status: i32,
    /// Do-not-disturb: 0 off, any other value on (its meaning is the app's).
    #[serde(rename = "DNDType")]
    pub dnd: i32,
}

/// `userStatus`: gone.
pub const USER_OFFLINE: i32 = 0;
/// `userStatus`: online and idle.
pub const USER_IDLE: i32 = 1;
/// `userStatus`: ringing or in a call.
pub const USER_BUSY: i32 = 2;
/// `userStatus`: in a meeting.
pub const USER_IN_MEETING: i32 = 3;

/// Reply data of [`Request::GetUserStatus`]: online users, sorted by ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatusList {
    pub users: Vec<UserStatus>,
}

/// A call-center queue, with the C API's field names (QueueInfo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueInfo {
    #[serde(rename = "queID")]
    pub que_id: i32,
    pub name: String,
    pub desc: String,
    /// Lower is more important.
    pub prio: i32,
}

/// A queue's counts (QueueStatus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStatus {
    #[serde(rename = "queID")]
    pub que_id: i32,
    /// Agents serving the queue.
    pub agent_num: i32,
    /// Customers waiting (not yet taken by an agent).
    pub wait_num: i32,
    /// Customers being served (taken by an agent, service not over).
    pub srv_num: i32,
}

/// A customer's place (QueuingInfo); `queID` -1: not queuing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuingInfo {
    #[serde(rename = "queID")]
    pub que_id: i32,
    /// 0 = at the head.
    pub position: i32,
    /// Seconds since the customer started queuing.
    #[serde(rename = "queuingTime")]
    pub queuing_time: i64,
}

impl QueuingInfo {
    /// The value for a user who is not queuing.
    pub fn not_queuing() -> QueuingInfo {
        QueuingInfo {
            que_id: -1,
            position: 0,
            queuing_time: 0,
        }
    }
}

/// A queued customer as an agent sees them (QueueUser).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueUser {
    #[serde(rename = "queID")]
    pub que_id: i32,
    #[serde(rename = "usrID")]
    pub user_id: String,
    /// The customer's nickname.
    pub name: String,
    #[serde(rename = "queuingTime")]
    pub queuing_time: i64,
    #[serde(rename = "usrExtDat")]
    pub usr_ext_dat: String,
}

/// Reply data of [`Request::QueueInit`] / [`Request::QueueRefresh`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueList {
    pub queues: Vec<QueueInfo>,
    pub statuses: Vec<QueueStatus>,
}

/// Longest meeting subject, in characters (Unicode scalar values).
pub const MAX_SUBJECT_CHARS: usize = 50;

/// A meeting, with the field names of the C API's MeetInfoObj.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetInfo {
    #[serde(rename = "ID")]
    pub id: i32,
    pub pswd: String,
    pub subject: String,
    #[serde(rename = "pubMeetUrl")]
    pub pub_meet_url: String,
    pub creator: String,
    #[serde(rename = "memberCount")]
    pub member_count: i32,
    /// Seconds since 1970.
    #[serde(rename = "startTime")]
    pub start_time: i64,
}

/// Reply data of [`Request::GetMeetings`]: the tenant's meetings, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingList {
    pub meetings: Vec<MeetInfo>,
}

/// Reply data of [`Request::NetdiskSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetDiskSummary {
    /// The tenant's quota in bytes.
    pub limit: i64,
    /// Bytes of its stored files (listed and resources).
    pub used: i64,
}

/// Reply data of [`Request::NetdiskList`]: the listed files, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetDiskList {
    pub files: Vec<crate::netdisk::NetFileObj>,
}

/// Reply data of [`Request::NetdiskUpload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetDiskUploadStart {
    /// Bytes the server already holds (0 for a new upload): send from here.
    pub offset: u64,
}

/// Reply data of [`Request::NetdiskDownload`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetDiskDownloadStart {
    pub size: u64,
    /// MD5 of the whole file, lowercase hex.
    pub md5: String,
}

/// Call and invitation IDs are chosen by the SDK: 1 to 64 ASCII letters, digits, `-`, `_`.
pub fn valid_call_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `NotifyInviteStatus` values.
pub const INVITE_RINGING: i32 = 0;
pub const INVITE_ACCEPTED: i32 = 1;
pub const INVITE_REJECTED: i32 = 2;
pub const INVITE_NO_ANSWER: i32 = 3;
pub const INVITE_HUNG_UP: i32 = 4;

/// Reply data of a successful login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginOk {
    /// The user's ID: the `privAcnt` given, or the one the server assigned.
    pub user_id: String,
}

/// A message from the server: `{"t":"reply","re":7,"code":0,"data":{...}}` or
/// `{"t":"event","ev":"kicked","code":10}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerFrame {
    Reply(Reply),
    Event(Event),
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The request's `id`.
    pub re: u64,
    /// 0 on success, else a [`ErrorCode`] value.
    pub code: i32,
    /// Request-specific result data (absent on failure and for requests without data).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

impl Reply {
    pub fn ok(re: u64, data: impl Serialize) -> Reply {
        Reply {
            re,
            code: 0,
            data: serde_json::to_value(data).unwrap_or(Value::Null),
        }
    }

    /// `Reply::ok` with the value, or `Reply::err` with the code.
    pub fn from_result<T: Serialize>(re: u64, result: Result<T, ErrorCode>) -> Reply {
        match result {
            Ok(data) => Reply::ok(re, data),
            Err(code) => Reply::err(re, code),
        }
    }

    pub fn err(re: u64, code: ErrorCode) -> Reply {
        Reply {
            re,
            code: code.code(),
            data: Value::Null,
        }
    }

    /// The typed result: the data on success, the error code otherwise. Data that does not
    /// match the expected shape is [`ErrorCode::RspDatErr`].
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, i32> {
        if self.code != 0 {
            return Err(self.code);
        }
        serde_json::from_value(self.data).map_err(|_| ErrorCode::RspDatErr.code())
    }
}

/// Unsolicited messages from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    /// The session is over: `code` says why (e.g. `KICKOUT_BY_RELOGIN`). The server closes
    /// the connection right after.
    Kicked { code: i32 },
    /// A user's presence changed (only to subscribers, see [`Request::SubscribeStatus`]).
    UserStatus(UserStatus),
    /// Someone calls (or invites) this user.
    CallIn {
        call_id: String,
        meet_obj: String,
        caller: String,
        usr_ext_dat: String,
    },
    /// The callee accepted this user's call.
    CallAccepted {
        call_id: String,
        meet_obj: String,
        usr_ext_dat: String,
    },
    /// This user's call was rejected (`ERR_REFUSE`) or not answered (`ERR_NOANSWER`).
    CallRejected {
        call_id: String,
        code: i32,
        usr_ext_dat: String,
    },
    /// The other party ended the call (or went offline, or it timed out unanswered).
    CallHungup {
        call_id: String,
        usr_ext_dat: String,
    },
    /// Progress of an invitation this user placed (`INVITE_*`).
    InviteStatus { invite_id: String, status: i32 },
    /// To the receiver: `source` offers a transfer (see [`Request::TransferOffer`]).
    TransferOffered {
        transfer_id: String,
        source: String,
        kind: TransferKind,
        name: String,
        total: u64,
    },
    /// To the sender: the receiver's credit (see [`Request::TransferCredit`]).
    TransferCredit {
        transfer_id: String,
        bytes: u64,
        received: u64,
    },
    /// To the receiver: the sender's end of data (see [`Request::TransferEnd`]).
    TransferEnd { transfer_id: String, digest: String },
    /// To the sender: the transfer is over; `code` 0 means the receiver holds every byte,
    /// verified.
    TransferResult { transfer_id: String, code: i32 },
    /// To the receiver: the sender cancelled, failed or went away; drop what arrived.
    TransferCancelled { transfer_id: String },
    /// A queue's counts changed (to its agents and waiting customers).
    QueueStatus(QueueStatus),
    /// This customer's place in its queue changed (`queID` -1: no longer queuing).
    QueuingInfo(QueuingInfo),
    /// To an agent: a customer was assigned to them automatically.
    AutoAssignUser(QueueUser),
    /// To an agent: the assignment of `user_id` was withdrawn (not answered in time, or the
    /// customer left).
    CancelAssignUser { que_id: i32, user_id: String },
    /// To the other members: someone entered the room.
    MemberEntered(MemberInfo),
    /// To the other members: someone left the room (exit, or went offline).
    MemberLeft { user_id: String },
    /// To every member but the creator who stopped it (or to all when the meeting was
    /// destroyed): the room is over and they are out of it.
    MeetingStopped,
    /// To every member of a room on another cluster node that went away: the room is gone
    /// (the SDK reports `MeetingDropped`); entering the meeting again opens it anew.
    MeetingDropped,
    /// To every member: a member's audio or video status changed.
    MediaChanged {
        user_id: String,
        kind: MediaKind,
        old: i32,
        new: i32,
    },
    /// To the recipients of an IM.
    Im {
        from: String,
        text: String,
        send_time: i64,
    },
    /// To the other members: `user_id` started sharing their screen.
    ShareStarted { user_id: String },
    /// To the other members: `user_id` stopped sharing (or left).
    ShareStopped { user_id: String },
    /// To every member: the sharer `oper` gave (`give`) or took back the control right of
    /// `target`.
    CtrlRight {
        oper: String,
        target: String,
        give: bool,
    },
    /// To the other members: the current page changed.
    Page(PageState),
    /// To the other members: the video-wall mode changed.
    VideoWallMode { mode: i32 },
    /// To every member: the main video changed.
    MainVideo(MainVideo),
    /// To every member: `oper` opened a whiteboard.
    BoardCreated { board: BoardObj, oper: String },
    /// To every member: `oper` closed a whiteboard.
    BoardClosed { board_id: String, oper: String },
    /// To every member: `oper` added (`modify` false) or replaced an element.
    Element {
        board_id: String,
        page_no: i32,
        element: String,
        modify: bool,
        oper: String,
    },
    /// To every member: `oper` deleted these elements.
    ElementsDeleted {
        board_id: String,
        page_no: i32,
        element_ids: Vec<String>,
        oper: String,
    },
    /// To the other members: where `oper`'s pointer is on a board page.
    MouseHotSpot {
        board_id: String,
        page_no: i32,
        x: i32,
        y: i32,
        oper: String,
    },
    /// To every member: `oper` set a board page's background (`img_id` "" = none).
    BoardBkImage {
        board_id: String,
        page_no: i32,
        img_id: String,
        oper: String,
    },
    /// To an uploader: the server wrote `received` bytes of `file_id` (progress, and the
    /// credit: the client keeps at most a window beyond it in flight).
    NetdiskProgress { file_id: String, received: u64 },
    /// To an uploader: the upload ended: 0 listed (complete and verified), `ERR_DATA` (size
    /// or digest wrong: nothing kept), `FILE_WRITE_ERR` (the server could not store it).
    NetdiskUploadResult { file_id: String, code: i32 },
    /// To the other members: a member's cameras changed.
    VideoDevs(MemberVideos),
    /// To a sender: a receiver needs a key frame of camera `video_id` (it joined, started
    /// watching, or lost frames); `video_id` 0 is the shared screen.
    KeyFrameRequest { video_id: u8 },
    /// To every member: `user_id` plays the media file `name` to the meeting.
    MediaStarted { user_id: String, name: String },
    /// To every member: the player paused (`pause`) or resumed.
    MediaPaused { user_id: String, pause: bool },
    /// To every member: the player moved to `pos_ms`.
    MediaPos { user_id: String, pos_ms: i64 },
    /// To every member: the media stopped (`reason` as `NotifyMediaStop`'s; 0 also when
    /// the player left).
    MediaStopped { user_id: String, reason: i32 },
    /// An event this build does not know (sent by a newer server); ignored.
    #[serde(other)]
    Unknown,
}

/// Serialises a frame to JSON text.
pub fn encode<T: Serialize>(frame: &T) -> String {
    // Our message types are plain data: serialising them cannot fail.
    serde_json::to_string(frame).expect("protocol messages always serialise")
}

/// Parses a frame from JSON text.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frame_wire_shape() {
        let frame = ClientFrame {
            id: 7,
            request: Request::Login(LoginRequest {
                tenant: "demo".into(),
                password: "demo123".into(),
                nickname: "Alice".into(),
                user_id: "alice".into(),
                auth_code: String::new(),
            }),
        };
        let text = encode(&frame);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["op"], "login");
        assert_eq!(v["user_id"], "alice");
        assert_eq!(decode::<ClientFrame>(&text).unwrap(), frame);

        let logout = encode(&ClientFrame {
            id: 8,
            request: Request::Logout,
        });
        assert_eq!(logout, r#"{"id":8,"op":"logout"}"#);
        assert_eq!(
            decode::<ClientFrame>(&logout).unwrap().request,
            Request::Logout
        );
    }

    #[test]
    fn server_frame_wire_shape() {
        let reply = ServerFrame::Reply(Reply::ok(
            3,
            LoginOk {
                user_id: "u1".into(),
            },
        ));
        let text = encode(&reply);
        assert_eq!(
            text,
            r#"{"t":"reply","re":3,"code":0,"data":{"user_id":"u1"}}"#
        );
        let ServerFrame::Reply(back) = decode::<ServerFrame>(&text).unwrap() else {
            panic!("not a reply")
        };
        assert_eq!(back.into_result::<LoginOk>().unwrap().user_id, "u1");

        let err = encode(&ServerFrame::Reply(Reply::err(4, ErrorCode::AcntPswdErr)));
        assert_eq!(err, r#"{"t":"reply","re":4,"code":7}"#);

        let kicked = encode(&ServerFrame::Event(Event::Kicked { code: 10 }));
        assert_eq!(kicked, r#"{"t":"event","ev":"kicked","code":10}"#);
        assert_eq!(
            decode::<ServerFrame>(&kicked).unwrap(),
            ServerFrame::Event(Event::Kicked { code: 10 })
        );
    }

    #[test]
    fn presence_wire_shape() {
        let ev = ServerFrame::Event(Event::UserStatus(UserStatus {
            user_id: "bob".into(),
            status: USER_IDLE,
            dnd: 3,
        }));
        let text = encode(&ev);
        assert_eq!(
            text,
            r#"{"t":"event","ev":"user_status","userID":"bob","userStatus":1,"DNDType":3}"#
        );
        assert_eq!(decode::<ServerFrame>(&text).unwrap(), ev);
        let dnd = encode(&ClientFrame {
            id: 4,
            request: Request::SetDnd { dnd: -2 },
        });
        assert_eq!(dnd, r#"{"id":4,"op":"set_dnd","dnd":-2}"#);
        for op in ["get_user_status", "subscribe_status", "unsubscribe_status"] {
            let frame: ClientFrame = decode(&format!(r#"{{"id":1,"op":"{op}"}}"#)).unwrap();
            assert_eq!(decode::<ClientFrame>(&encode(&frame)).unwrap(), frame);
        }
    }

    #[test]
    fn meet_info_has_the_c_api_field_names() {
        let m = MeetInfo {
            id: 36526251,
            pswd: String::new(),
            subject: "weekly".into(),
            pub_meet_url: String::new(),
            creator: "alice".into(),
            member_count: 0,
            start_time: 1732500000,
        };
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"ID":36526251,"pswd":"","subject":"weekly","pubMeetUrl":"","creator":"alice","memberCount":0,"startTime":1732500000}"#
        );
    }

    #[test]
    fn queue_objects_have_the_c_api_field_names() {
        let info = QueueInfo {
            que_id: 1,
            name: "sales".into(),
            desc: "".into(),
            prio: 1,
        };
        assert_eq!(
            serde_json::to_string(&info).unwrap(),
            r#"{"queID":1,"name":"sales","desc":"","prio":1}"#
        );
        let status = QueueStatus {
            que_id: 1,
            agent_num: 2,
            wait_num: 3,
            srv_num: 1,
        };
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"queID":1,"agent_num":2,"wait_num":3,"srv_num":1}"#
        );
        let queuing = QueuingInfo {
            que_id: 1,
            position: 0,
            queuing_time: 17,
        };
        assert_eq!(
            serde_json::to_string(&queuing).unwrap(),
            r#"{"queID":1,"position":0,"queuingTime":17}"#
        );
        assert_eq!(
            serde_json::to_string(&QueuingInfo::not_queuing()).unwrap(),
            r#"{"queID":-1,"position":0,"queuingTime":0}"#
        );
        let user = QueueUser {
            que_id: 1,
            user_id: "bob".into(),
            name: "Bob".into(),
            queuing_time: 17,
            usr_ext_dat: "".into(),
        };
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            r#"{"queID":1,"usrID":"bob","name":"Bob","queuingTime":17,"usrExtDat":""}"#
        );
        let ev = encode(&ServerFrame::Event(Event::QueueStatus(status.clone())));
        assert_eq!(
            decode::<ServerFrame>(&ev).unwrap(),
            ServerFrame::Event(Event::QueueStatus(status))
        );
    }

    #[test]
    fn call_ids() {
        assert!(valid_call_id("a"));
        assert!(valid_call_id(&"f".repeat(64)));
        assert!(valid_call_id("c-0_Z"));
        for bad in ["", "a b", "é", "a/b", &"f".repeat(65)] {
            assert!(!valid_call_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn unknown_events_are_tolerated_and_garbage_is_not() {
        let later = r#"{"t":"event","ev":"from_the_future","x":1}"#;
        assert_eq!(
            decode::<ServerFrame>(later).unwrap(),
            ServerFrame::Event(Event::Unknown)
        );
        assert!(decode::<ClientFrame>("not json").is_err());
        assert!(decode::<ClientFrame>(r#"{"id":1,"op":"no_such_op"}"#).is_err());
        assert!(decode::<ClientFrame>(r#"{"op":"logout"}"#).is_err());
    }

    #[test]
    fn reply_with_wrong_data_shape_is_rspdat_err() {
        let reply = Reply {
            re: 1,
            code: 0,
            data: serde_json::json!({"nope": 1}),
        };
        assert_eq!(
            reply.into_result::<LoginOk>(),
            Err(ErrorCode::RspDatErr.code())
        );
        let failed = Reply::err(2, ErrorCode::NotLogin);
        assert_eq!(failed.into_result::<LoginOk>(), Err(12));
    }
}
