/* CRVideoSDK.hpp: a header-only C++17 layer over the C API of CRVideoSDK.h.
 *
 * Nothing here adds behaviour: every method calls the C function of the same name, and
 * every virtual method of CRVideo::Callbacks is the member of CRVideo_Callbacks of the same
 * name. The doc comments of CRVideoSDK.h (results, callbacks, error codes) apply unchanged.
 *
 *     #include "CRVideoSDK.hpp"
 *
 *     struct App : CRVideo::Callbacks {
 *         void LoginSuccess(std::string_view usrID, std::string_view) override { ... }
 *         void NotifyCallIn(std::string_view callID, std::string_view, std::string_view,
 *                           std::string_view) override {
 *             CRVideo::Mgr::instance().acceptCall(callID);
 *         }
 *     };
 *
 *     App app;
 *     auto& mgr = CRVideo::Mgr::instance();
 *     mgr.init(R"({"serverAddr":"127.0.0.1:2727"})");
 *     mgr.setCallbacks(&app);
 *     mgr.login("demo", "demo123", "Alice", "alice");
 *     ...
 *     mgr.uninit();  // before `app` is destroyed
 *
 * Rules (see also CRVideoSDK.h and docs/API_GUIDE.md):
 *
 * - One SDK per process: CRVideo::Mgr is a singleton (Mgr::instance()), not copyable.
 * - Lifetime: the Callbacks object given to Mgr::setCallbacks() must outlive its
 *   registration, that is until Mgr::uninit() returns or until another setCallbacks()
 *   (including setCallbacks(nullptr)) has returned and no callback of it is still running.
 *   Destroying it earlier makes the SDK call into a dead object. Mgr::uninit() forgets the
 *   registration: call setCallbacks() again after the next init(). After uninit() from
 *   inside a callback, the object may go once that callback has returned (the layer touches
 *   it no more after the virtual method returns).
 * - Threads: in the default "thread" dispatch mode every virtual method runs on the SDK's
 *   one dispatch thread (`crvideo-dispatch`), one call at a time, in the order the events
 *   happened; guard state you share with other threads. In "poll" mode they run on your
 *   thread, inside Mgr::pollEvents(). Mgr methods may be called from any thread, including
 *   from inside a callback; Mgr::uninit() from inside a callback does not wait for that
 *   callback and no other callback runs after the current one returns.
 * - Arguments of callbacks: every std::string_view (and every `const uint8_t* data, size_t
 *   len` pair) points into memory the SDK owns and is valid only until the virtual method
 *   returns: copy it (std::string(view)) to keep it. The views are never dangling during the
 *   call and never null (an empty view instead). Strings are UTF-8; the views do not include
 *   a NUL terminator, so do not pass view.data() to C functions expecting one.
 * - Exceptions: an exception thrown by an override is caught by the layer and discarded
 *   (it must not cross into the SDK, which is not C++): the SDK goes on delivering the next
 *   events. Catch your own exceptions in your overrides if you need to know about them.
 * - IDs returned by call(), clientInvite(), sendCmd(), sendBuffer() and sendFile() are plain
 *   std::string values (the C string is freed by the layer). They are empty only when the SDK
 *   is not initialised; otherwise exactly one result callback carrying that ID follows.
 * - Mgr methods return the C function's result unchanged (0 or a CRVIDEOSDK_* code). They
 *   throw nothing themselves; copying a std::string_view argument into a NUL-terminated
 *   string may throw std::bad_alloc when memory runs out, and then no request was made.
 * - Strings in: any std::string_view (a std::string, a literal, a `const char*` that is not
 *   NULL). Optional arguments (cookies, usrExtDat, meetObj) default to "".
 */

#ifndef CRVIDEOSDK_HPP
#define CRVIDEOSDK_HPP

#include "CRVideoSDK.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace CRVideo {

/**
 * The app's event handlers: derive from it and override what you need; the others do
 * nothing. One method per member of CRVideo_Callbacks, with the same name and meaning (see
 * CRVideoSDK.h); `userData` is the object itself. Every argument is valid only during the
 * call (copy what you keep); exceptions thrown here are swallowed (see the top of this file).
 */
class Callbacks {
public:
    Callbacks() = default;
    Callbacks(const Callbacks&) = default;
    Callbacks& operator=(const Callbacks&) = default;
    virtual ~Callbacks() = default;

    // <generated: virtual methods>
    // Login and session
    /// Login succeeded; `usrID` is the user's ID (the one the server assigned when
    /// `privAcnt` was empty).
    virtual void LoginSuccess(std::string_view /*usrID*/, std::string_view /*cookie*/) {}
    /// Login failed with `sdkErr` (e.g. `CRVIDEOSDK_ANCTPSWD_ERR`,
    /// `CRVIDEOSDK_CREATE_CONN_FAILED`, `CRVIDEOSDK_LOGINSTATE_ERROR`).
    virtual void LoginFail(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// The session ended without `CRVideo_Logout`: `CRVIDEOSDK_KICKOUT_BY_RELOGIN` or
    /// `CRVIDEOSDK_CONNECTIONLOST`. Pending requests fail after this event.
    virtual void LineOff(int /*sdkErr*/) {}

    // Presence
    /// `CRVideo_SetDNDStatus` succeeded.
    virtual void SetDNDStatusSuccess(std::string_view /*cookie*/) {}
    /// `CRVideo_SetDNDStatus` failed.
    virtual void SetDNDStatusFail(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_GetUserStatus` result: a JSON array of UserStatusObj.
    virtual void GetUserStatusSuccess(std::string_view /*usersStatusJson*/, std::string_view /*cookie*/) {}
    /// `CRVideo_GetUserStatus` failed.
    virtual void GetUserStatusFail(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_StartUserStatusNotify` result.
    virtual void StartUserStatusNotifyRslt(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// A user's status changed: one UserStatusObj; `cookie` is StartUserStatusNotify's.
    virtual void NotifyUserStatus(std::string_view /*userStatusJson*/, std::string_view /*cookie*/) {}
    /// `CRVideo_StopUserStatusNotify` result.
    virtual void StopUserStatusNotifyRslt(int /*sdkErr*/, std::string_view /*cookie*/) {}

    // Meetings
    /// `CRVideo_CreateMeeting` succeeded: the new MeetInfoObj.
    virtual void CreateMeetingSuccess(std::string_view /*meetObjJson*/, std::string_view /*cookie*/) {}
    /// `CRVideo_CreateMeeting` failed.
    virtual void CreateMeetingFail(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_DestroyMeeting` result.
    virtual void DestroyMeetingRslt(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_GetMeetings` result: a JSON array of MeetInfoObj.
    virtual void GetMeetingsSuccess(std::string_view /*meetingsJson*/, std::string_view /*cookie*/) {}
    /// `CRVideo_GetMeetings` failed.
    virtual void GetMeetingsFail(int /*sdkErr*/, std::string_view /*cookie*/) {}

    // Calls and invitations: results of this user's requests
    /// The callee was reached and is ringing.
    virtual void CallSuccess(std::string_view /*callID*/, std::string_view /*cookie*/) {}
    /// The call could not be placed.
    virtual void CallFail(std::string_view /*callID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_AcceptCall` succeeded.
    virtual void AcceptCallSuccess(std::string_view /*callID*/, std::string_view /*cookie*/) {}
    /// `CRVideo_AcceptCall` failed.
    virtual void AcceptCallFail(std::string_view /*callID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_RejectCall` succeeded.
    virtual void RejectCallSuccess(std::string_view /*callID*/, std::string_view /*cookie*/) {}
    /// `CRVideo_RejectCall` failed.
    virtual void RejectCallFail(std::string_view /*callID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_HungupCall` succeeded.
    virtual void HangupCallSuccess(std::string_view /*callID*/, std::string_view /*cookie*/) {}
    /// `CRVideo_HungupCall` failed.
    virtual void HangupCallFail(std::string_view /*callID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_ClientInvite` result.
    virtual void ClientInviteRslt(std::string_view /*inviteID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_ClientCancelInvite` result.
    virtual void ClientCancelInviteRslt(std::string_view /*inviteID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}

    // Transparent channel: results of this user's requests
    /// `CRVideo_SendCmd` result.
    virtual void SendCmdRlst(std::string_view /*taskID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_SendBuffer` result.
    virtual void SendBufferRlst(std::string_view /*taskID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_SendFile` result.
    virtual void SendFileRlst(std::string_view /*taskID*/, std::string_view /*fileName*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// Progress of a `CRVideo_SendBuffer` / `CRVideo_SendFile` task, in bytes.
    virtual void SendProgress(std::string_view /*taskID*/, int64_t /*sendedLen*/, int64_t /*totalLen*/, std::string_view /*cookie*/) {}
    /// `CRVideo_CancelSend` result; `cookie` is the cancelled task's.
    virtual void CancelSendRlst(std::string_view /*taskID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}

    // Calls and invitations: what others do
    /// Someone calls (or invites) this user; `meetObjJson` is the meeting they propose.
    virtual void NotifyCallIn(std::string_view /*callID*/, std::string_view /*meetObjJson*/, std::string_view /*callerID*/, std::string_view /*usrExtDat*/) {}
    /// The callee accepted this user's call.
    virtual void NotifyCallAccepted(std::string_view /*callID*/, std::string_view /*meetObjJson*/, std::string_view /*usrExtDat*/) {}
    /// The call was rejected (`CRVIDEOSDK_ERR_REFUSE`) or not answered (`CRVIDEOSDK_ERR_NOANSWER`).
    virtual void NotifyCallRejected(std::string_view /*callID*/, int /*sdkErr*/, std::string_view /*usrExtDat*/) {}
    /// The other side hung up.
    virtual void NotifyCallHungup(std::string_view /*callID*/, std::string_view /*usrExtDat*/) {}
    /// Status of an invitation this user placed: 0 ringing, 1 accepted, 2 rejected,
    /// 3 no answer, 4 hung up.
    virtual void NotifyInviteStatus(std::string_view /*inviteID*/, int /*status*/) {}

    // Transparent channel: what others send (binary-safe)
    /// A command arrived (`CRVideo_SendCmd` of `sourceUserId`); binary-safe.
    virtual void NotifyCmdData(std::string_view /*sourceUserId*/, const uint8_t* /*data*/, size_t /*len*/) {}
    /// A buffer arrived (`CRVideo_SendBuffer` of `sourceUserId`); binary-safe.
    virtual void NotifyBufferData(std::string_view /*sourceUserId*/, const uint8_t* /*data*/, size_t /*len*/) {}
    /// A file arrived complete and verified at `tmpFile` (in `tmpDir`); the app moves or
    /// deletes it. `orgFileName` is the sender's base name, in full (a name too long for the
    /// file system is shortened in `tmpFile`, its extension kept).
    virtual void NotifyFileData(std::string_view /*sourceUserId*/, std::string_view /*tmpFile*/, std::string_view /*orgFileName*/) {}
    /// An incoming transfer was cancelled (or its sender went offline); nothing of it is kept.
    virtual void NotifyCancelSend(std::string_view /*taskID*/) {}

    // Call-center queues
    /// `CRVideo_InitQueueDat` result; after 0 the queue getters answer.
    virtual void InitQueueDatRslt(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// A queue's counts changed: one QueueStatus (`{"queID":1,"agent_num":2,"wait_num":3,
    /// "srv_num":1}`). Reaches the queue's agents and waiting customers (at most once per
    /// 100 ms, with the latest counts), and answers `CRVideo_RefreshAllQueueStatus`.
    virtual void QueueStatusChanged(std::string_view /*queStatusJson*/) {}
    /// This customer's place in its queue changed: one QueuingInfo (`{"queID":1,"position":0,
    /// "queuingTime":17}`; `queID` -1: no longer queuing). Moves are told at most once per
    /// 100 ms, with the latest place (a place may be skipped).
    virtual void QueuingInfoChanged(std::string_view /*queuingInfoJson*/) {}
    /// `CRVideo_StartQueuing` result.
    virtual void StartQueuingRslt(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_StopQueuing` result.
    virtual void StopQueuingRslt(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_StartService` result.
    virtual void StartServiceRslt(int /*queID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_StopService` result.
    virtual void StopServiceRslt(int /*queID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// `CRVideo_AcceptAssignUser` / `CRVideo_RejectAssignUser` result.
    virtual void ResponseAssignUserRslt(int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// To an agent: a customer was assigned automatically (one QueueUser:
    /// `{"queID":1,"usrID":"bob","name":"Bob","queuingTime":17,"usrExtDat":""}`). Answer with
    /// `CRVideo_AcceptAssignUser` or `CRVideo_RejectAssignUser` within the server's
    /// `call_timeout_secs`, else `CancelAssignUser` follows.
    virtual void AutoAssignUser(std::string_view /*queUserJson*/) {}
    /// `CRVideo_ReqAssignUser` result: the assigned QueueUser (`""` on failure).
    virtual void ReqAssignUserRslt(int /*sdkErr*/, std::string_view /*queUserJson*/, std::string_view /*cookie*/) {}
    /// To an agent: the assignment of `usrID` was withdrawn (not answered in time, the customer
    /// left, or the agent stopped serving the queue). A customer not answered in time is
    /// handled as after `CRVideo_RejectAssignUser`: other agents first, this one again later.
    virtual void CancelAssignUser(int /*queID*/, std::string_view /*usrID*/) {}

    // Meeting room
    /// `CRVideo_EnterMeeting` result. After 0 the room's state follows, then live changes.
    virtual void EnterMeetingRslt(int /*sdkErr*/) {}
    /// Another member entered the meeting this user is in.
    virtual void UserEnterMeeting(std::string_view /*userID*/) {}
    /// Another member left the meeting (exit, or connection lost).
    virtual void UserLeftMeeting(std::string_view /*userID*/) {}
    /// `CRVideo_StopMeeting` result.
    virtual void StopMeetingRslt(int /*sdkErr*/) {}
    /// The meeting was stopped by its creator (or destroyed): this user is out of it.
    virtual void MeetingStopped() {}
    /// This user is out of the meeting it was in without having left it: its connection was
    /// lost (comes before `LineOff`), or, in cluster mode, the server node holding the
    /// meeting's room went away (entering again opens the room anew).
    virtual void MeetingDropped() {}
    /// A member's audio status changed (0 unknown, 1 no device, 2 closed, 3 open, 4 opening).
    virtual void AudioStatusChanged(std::string_view /*userID*/, int /*oldStatus*/, int /*newStatus*/) {}
    /// A member's video status changed (the same values).
    virtual void VideoStatusChanged(std::string_view /*userID*/, int /*oldStatus*/, int /*newStatus*/) {}
    /// `CRVideo_SendIMmsg` result.
    virtual void SendIMmsgRlst(std::string_view /*taskID*/, int /*sdkErr*/, std::string_view /*cookie*/) {}
    /// A text message from `fromUserID`; `sendTime` is the server's time (seconds since 1970).
    virtual void NotifyIMmsg(std::string_view /*fromUserID*/, std::string_view /*text*/, int64_t /*sendTime*/) {}
    /// `CRVideo_StartScreenShare` result: 0, `CRVIDEOSDK_ERR_BUSY` (another member shares).
    virtual void StartScreenShareRslt(int /*sdkErr*/) {}
    /// `CRVideo_StopScreenShare` result: 0, `CRVIDEOSDK_API_NO_PERMISSION` (another member
    /// shares).
    virtual void StopScreenShareRslt(int /*sdkErr*/) {}
    /// Another member started sharing their screen (also on entry while someone shares).
    virtual void NotifyScreenShareStarted() {}
    /// The sharer stopped sharing (or left the meeting).
    virtual void NotifyScreenShareStopped() {}
    /// The sharer `operId` gave the control right of their screen to `targetId`.
    virtual void NotifyGiveCtrlRight(std::string_view /*operId*/, std::string_view /*targetId*/) {}
    /// The sharer `operId` took the control right back from `targetId` (also when the share
    /// ends or `targetId` leaves).
    virtual void NotifyReleaseCtrlRight(std::string_view /*operId*/, std::string_view /*targetId*/) {}
    /// Another member switched the meeting's page (`CRVIDEOSDK_MAINPAGE_*`, page ID).
    virtual void NotifySwitchToPage(int /*mainPage*/, std::string_view /*pageID*/) {}
    /// Another member set the video-wall mode.
    virtual void NotifyVideoWallMode(int /*mode*/) {}
    /// `operId` made `targetId`'s video the main one.
    virtual void NotifyMainVideoChanged(std::string_view /*operId*/, std::string_view /*targetId*/) {}
    /// This user's connection quality while in a meeting, 0–10 (10 best), from the heartbeat
    /// round trips and unanswered pings; once known after entering, then on each change.
    virtual void NetStateChanged(int /*level*/) {}

    // Whiteboards
    /// On entering a meeting (after `EnterMeetingRslt(0)`): its open whiteboards, a JSON
    /// array of BoardObj in order of creation (`[]` when none).
    virtual void NotifyInitBoards(std::string_view /*boardsJson*/) {}
    /// On entering, after `NotifyInitBoards`: once per board page that has elements, a JSON
    /// array of them in the meeting's order; `operatorID` changed the page last; `imgID` is
    /// the page's background image (a net-disk file ID, "" when none).
    virtual void NotifyInitBoardPageDat(std::string_view /*boardID*/, int /*pageNo*/, std::string_view /*imgID*/, std::string_view /*elementsJson*/, std::string_view /*operatorID*/) {}
    /// A member (this user too) opened a whiteboard (`boardJson` a BoardObj).
    virtual void NotifyCreateBoard(std::string_view /*boardJson*/, std::string_view /*operatorID*/) {}
    /// A member (this user too) closed a whiteboard; its elements are gone.
    virtual void NotifyCloseBoard(std::string_view /*boardID*/, std::string_view /*operatorID*/) {}
    /// A member (this user too: the confirmation) added an element to a board page.
    virtual void NotifyAddBoardElement(std::string_view /*boardID*/, int /*pageNo*/, std::string_view /*elementJson*/, std::string_view /*operatorID*/) {}
    /// A member (this user too) replaced an element; it keeps its place in the page's order.
    virtual void NotifyModifyBoardElement(std::string_view /*boardID*/, int /*pageNo*/, std::string_view /*elementJson*/, std::string_view /*operatorID*/) {}
    /// A member (this user too) deleted elements of a board page (IDs joined by `;`).
    virtual void NotifyDelBoardElement(std::string_view /*boardID*/, int /*pageNo*/, std::string_view /*elementIDs*/, std::string_view /*operatorID*/) {}
    /// Another member's pointer on a board.
    virtual void NotifyMouseHotSpot(std::string_view /*boardID*/, int /*x*/, int /*y*/, std::string_view /*operatorID*/) {}

    // Connection
    /// The connection was lost; the SDK is reconnecting and will resume the session (the
    /// user stays online, in its meeting and calls) within the resume window
    /// (`resumeWindowMs`). Calls made meanwhile are sent once it is back. Transfers and
    /// commands in flight ended with `CRVIDEOSDK_CONNECTIONLOST`.
    virtual void Reconnecting() {}
    /// The session resumed on a new connection after `Reconnecting`: nothing was lost or
    /// repeated. If it cannot resume, `LineOff(CRVIDEOSDK_CONNECTIONLOST)` comes instead.
    virtual void Reconnected() {}

    // Video
    /// A new picture of `userID`'s camera `videoID` (one this user watches, see
    /// `CRVideo_SetWatchVideos`) was decoded; `frmTime` is the sender's timestamp of it
    /// (`CRVideo_InputCustomVideoDat`'s `timeStampMs`). Coalesced: no further one for this
    /// video until the app took a picture with `CRVideo_GetVideoImg` (a slow app skips
    /// pictures, it never queues them).
    virtual void NotifyVideoData(std::string_view /*userID*/, int /*videoID*/, int64_t /*frmTime*/) {}
    /// `userID`'s cameras changed (created, destroyed; this user's own, and those of the
    /// other members of the meeting, on entering too): see `CRVideo_GetAllVideoInfo`.
    virtual void VideoDevChanged(std::string_view /*userID*/) {}
    /// `userID`'s default camera is `videoID` now (0: it has none).
    virtual void DefVideoChanged(std::string_view /*userID*/, int /*videoID*/) {}

    // Screen pixels
    /// The shared screen changed within `left`, `top`, `width`, `height` (the bounding box
    /// of the changed pixels since the picture the app last took); take it with
    /// `CRVideo_GetShareScreenDecodeImg`. Coalesced: no further one until the app took a
    /// picture (then the next one covers everything that changed since).
    virtual void NotifyScreenShareData(std::string_view /*userID*/, int /*left*/, int /*top*/, int /*width*/, int /*height*/) {}
    /// To the sharer, after `CRVideo_SetCustomizeCatchScreen(1)`: time for the next screen
    /// image (`CRVideo_SetCustomizeScreenImg`), at the share's `maxFPS` while sharing; not
    /// again until the app gave one.
    virtual void NotifyCatchScreen() {}
    /// The shared screen's size, when first known and whenever it changes.
    virtual void NotifyShareRectChanged(int /*width*/, int /*height*/) {}

    // Audio
    /// `userID`'s speaking level (0 silent – 10 loudest, from its audio) changed from
    /// `oldLevel` to `newLevel`: for every member of the meeting whose mic is open, this
    /// user included; at most 10 a second per member. A member whose mic closes goes to 0.
    virtual void MicEnergyUpdate(std::string_view /*userID*/, int /*oldLevel*/, int /*newLevel*/) {}
    /// PCM of `aSide` (0 this user's microphone as pushed, 1 the speaker: the mix of the
    /// other members) after `CRVideo_StartGetAudioPCM(aSide, 0, {"EachSize":n})`: `len` is
    /// `n` bytes of 16 kHz 16-bit little-endian mono. The speaker side comes at real time
    /// while in a meeting (silence when nobody speaks). An app that falls far behind loses
    /// pieces rather than growing the SDK's memory.
    virtual void NotifyAudioPCMDat(int /*aSide*/, const uint8_t* /*pcm*/, size_t /*len*/) {}

    // Net disk
    /// Result of `CRVideo_GetNetDiskSummary`: the tenant's quota and the bytes its listed and
    /// resource files use (both 0 on failure).
    virtual void GetNetDiskSummaryRslt(int64_t /*diskLimit*/, int64_t /*diskUsed*/) {}
    /// Result of `CRVideo_GetNetDiskFileList`: a JSON array of NetFileObj, oldest first
    /// (`[]` on failure).
    virtual void GetNetDiskFileListRslt(std::string_view /*fileListJson*/) {}
    /// An upload of this user did not fit in the tenant's quota: the current file list, so
    /// the app can offer deletions. `NotifyNetDiskTransforProgress(fileID, 0, 0)` follows.
    virtual void NotifyNetDiskIsFull(std::string_view /*fileListJson*/) {}
    /// Result of `CRVideo_DeleteNetDiskFile`: 1 deleted, 0 not (unknown file, network).
    virtual void NotifyNetDiskFileDeleteRslt(std::string_view /*fileID*/, int /*isSucceed*/) {}
    /// Progress of a net-disk upload or download: `percent` rises to 100, and the last call
    /// has `isSucceed` 1 (the file is complete and verified); a failed or cancelled
    /// transfer ends with one call with `isSucceed` 0.
    virtual void NotifyNetDiskTransforProgress(std::string_view /*fileID*/, int /*percent*/, int /*isSucceed*/) {}
    /// A member (this user too) set a whiteboard page's background: `subPageJson`
    /// `{"boardID":"b1","pageNo":0}`, `imgFileID` a net-disk file ID ("" = none).
    virtual void NotifyBoardBkImage(std::string_view /*subPageJson*/, std::string_view /*imgFileID*/, std::string_view /*operatorID*/) {}

    // HTTP file transfer
    /// An HTTP transfer's state (`fileName` is its `filePathName`): 0 not started (or
    /// cancelled), 1 queued (3 run at once, the others wait in order), 2 transferring, 3
    /// finished (`FileFinished` follows).
    virtual void FileStateChanged(std::string_view /*fileName*/, int /*state*/) {}
    /// The head of an HTTP transfer's final response (after redirects): the status line
    /// and the headers, each line ending in CRLF, e.g. `"HTTP/1.1 200 OK\r\ncontent-length:
    /// 5\r\n"`. Also for an error status, before its `FileFinished`.
    virtual void FileHttpRspHeader(std::string_view /*fileName*/, std::string_view /*rspHeader*/) {}
    /// The body the server answered an upload with (its first MiB, as UTF-8 text; invalid
    /// bytes replaced), before the upload's `FileFinished`. Never for a download.
    virtual void FileHttpRspContent(std::string_view /*fileName*/, std::string_view /*content*/) {}
    /// Bytes of an HTTP transfer done so far (a resumed download counts what it had), of
    /// `totalSize` (0 when unknown): at most 10 a second, and a final one before a
    /// successful `FileFinished`.
    virtual void FileProgress(std::string_view /*fileName*/, int64_t /*finisedSize*/, int64_t /*totalSize*/) {}
    /// An HTTP transfer ended: 0 success, 1 internal error, 2 an `extParams` entry HTTP
    /// cannot carry, 3 network unreachable (refused, unknown host, untrusted certificate,
    /// connection broken), 4 timeout (no byte moved for the stall timeout), 5 file
    /// operation failed, 6 URL not http(s), 7 already queued or transferring, 1000 + the
    /// HTTP status when the final answer was a status >= 400 or a redirect not followed
    /// (the sixth in a row). Once per accepted `CRVideo_StartTransferFile`, unless
    /// `CRVideo_CancelFileTransfer`, `CRVideo_RmTransferInfo` or `CRVideo_Uninit` stopped
    /// it first; 2, 6 and 7 come alone (nothing started).
    virtual void FileFinished(std::string_view /*fileName*/, int /*rslt*/) {}

    // Recording
    /// The local recording's state: 1 starting (`CRVideo_StartRecording` accepted), 2
    /// recording (the file is set up), 4 stopping, 0 none (the file is complete at its
    /// `recordPath`, or gone if nothing could be kept). Always in that order.
    virtual void RecordStateChanged(int /*state*/) {}
    /// The recording stopped by itself: 902 `RECORD_NO_DISK` (a write failed, e.g. the disk
    /// is full: the file keeps what fitted and stays playable), 901 `RECORD_MAX` (the
    /// longest duration was reached), 3 `INNER_ERR` (no encoder). States 4 and 0 follow.
    virtual void RecordErr(int /*sdkErr*/) {}
    /// A record file's upload to the net disk (`CRVideo_UploadRecordFile`): 1 uploading, 2
    /// uploaded (listed on the tenant's net disk under its file name), 0 not uploaded
    /// (cancelled, or failed: `UploadRecordFileErr` came first).
    virtual void NotifyRecordFileStateChanged(std::string_view /*fileName*/, int /*state*/) {}
    /// Percent of a record file uploaded, rising to 100 (just before state 2).
    virtual void NotifyRecordFileUploadProgress(std::string_view /*fileName*/, int /*percent*/) {}
    /// A record file's upload failed: 1202 `RECORD_UPLOAD_FAILED` (the net disk is full,
    /// the server refused it, the file could not be read, the session ended).
    /// `NotifyRecordFileStateChanged(fileName, 0)` follows.
    virtual void UploadRecordFileErr(std::string_view /*fileName*/, int /*sdkErr*/) {}

    // Shared media playback
    /// To the player: `CRVideo_StartPlayMedia`'s file opened: its length in ms and its
    /// picture's size (0 × 0 without a video track). `NotifyMediaStart` follows (unless the
    /// playback is local), or `NotifyMediaStop` if it could not be opened.
    virtual void NotifyMediaOpened(int64_t /*totalTimeMs*/, int /*w*/, int /*h*/) {}
    /// To every member (the player too): `userID` started playing a media file to the
    /// meeting; also to a member entering while it plays.
    virtual void NotifyMediaStart(std::string_view /*userID*/) {}
    /// To every member: `userID`'s media stopped: 0 stopped (`CRVideo_StopPlayMedia`, or the
    /// player left), 1 the end was reached, 2 the file could not be opened or read, 3 it is
    /// not a media file, 4 its codecs are not supported (H.264 video and Opus audio are),
    /// 5 another reason (another member started playing first). 2–4 only to the player.
    virtual void NotifyMediaStop(std::string_view /*userID*/, int /*reason*/) {}
    /// To every member: `userID` paused (1) or resumed (0) its media (paused at the end
    /// too, after `pauseWhenFinished`).
    virtual void NotifyMediaPause(std::string_view /*userID*/, int /*pause*/) {}
    /// To every member: the player moved its media to `setPTS` ms
    /// (`CRVideo_SetMediaPlayPos`).
    virtual void NotifyPlayPosSetted(int64_t /*setPTS*/) {}
    /// A new picture of `userID`'s media was decoded (the player's own too); `curPosMs` is
    /// its position in the media. Coalesced: no further one until the app took a picture
    /// with `CRVideo_GetMediaImg`.
    virtual void NotifyMemberMediaData(std::string_view /*userID*/, int64_t /*curPosMs*/) {}
    // </generated>
};

namespace detail {

/** A C string as a view; NULL (which the SDK never passes) as an empty view. */
inline std::string_view view(const char* s) noexcept {
    return s != nullptr ? std::string_view(s) : std::string_view();
}

/** A NUL-terminated copy of a view, for the C functions: `cstr(v).c_str()` lives until the
 * end of the full expression, i.e. for the whole C call. */
inline std::string cstr(std::string_view v) {
    return std::string(v);
}

/** Takes ownership of a string the SDK returned; "" for NULL. */
inline std::string take(char* s) {
    std::unique_ptr<char, void (*)(char*)> owned(s, CRVideo_FreeString);
    return s != nullptr ? std::string(s) : std::string();
}

/** The C callbacks: each turns `userData` back into the Callbacks object, converts the
 * arguments and calls the virtual method, letting no exception out. */
struct Trampolines {
    template <typename F>
    static void deliver(void* userData, F&& call) noexcept {
        if (userData == nullptr) {
            return;
        }
        try {
            call(*static_cast<Callbacks*>(userData));
        } catch (...) {
            // Swallowed: an exception must not unwind into the SDK (see the top of the file).
        }
    }

    // <generated: trampolines>
    static void LoginSuccess(void* ud, const char* usrID, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.LoginSuccess(view(usrID), view(cookie)); });
    }
    static void LoginFail(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.LoginFail(sdkErr, view(cookie)); });
    }
    static void LineOff(void* ud, int sdkErr) {
        deliver(ud, [&](Callbacks& c) { c.LineOff(sdkErr); });
    }
    static void SetDNDStatusSuccess(void* ud, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.SetDNDStatusSuccess(view(cookie)); });
    }
    static void SetDNDStatusFail(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.SetDNDStatusFail(sdkErr, view(cookie)); });
    }
    static void GetUserStatusSuccess(void* ud, const char* usersStatusJson, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.GetUserStatusSuccess(view(usersStatusJson), view(cookie)); });
    }
    static void GetUserStatusFail(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.GetUserStatusFail(sdkErr, view(cookie)); });
    }
    static void StartUserStatusNotifyRslt(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.StartUserStatusNotifyRslt(sdkErr, view(cookie)); });
    }
    static void NotifyUserStatus(void* ud, const char* userStatusJson, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.NotifyUserStatus(view(userStatusJson), view(cookie)); });
    }
    static void StopUserStatusNotifyRslt(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.StopUserStatusNotifyRslt(sdkErr, view(cookie)); });
    }
    static void CreateMeetingSuccess(void* ud, const char* meetObjJson, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.CreateMeetingSuccess(view(meetObjJson), view(cookie)); });
    }
    static void CreateMeetingFail(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.CreateMeetingFail(sdkErr, view(cookie)); });
    }
    static void DestroyMeetingRslt(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.DestroyMeetingRslt(sdkErr, view(cookie)); });
    }
    static void GetMeetingsSuccess(void* ud, const char* meetingsJson, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.GetMeetingsSuccess(view(meetingsJson), view(cookie)); });
    }
    static void GetMeetingsFail(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.GetMeetingsFail(sdkErr, view(cookie)); });
    }
    static void CallSuccess(void* ud, const char* callID, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.CallSuccess(view(callID), view(cookie)); });
    }
    static void CallFail(void* ud, const char* callID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.CallFail(view(callID), sdkErr, view(cookie)); });
    }
    static void AcceptCallSuccess(void* ud, const char* callID, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.AcceptCallSuccess(view(callID), view(cookie)); });
    }
    static void AcceptCallFail(void* ud, const char* callID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.AcceptCallFail(view(callID), sdkErr, view(cookie)); });
    }
    static void RejectCallSuccess(void* ud, const char* callID, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.RejectCallSuccess(view(callID), view(cookie)); });
    }
    static void RejectCallFail(void* ud, const char* callID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.RejectCallFail(view(callID), sdkErr, view(cookie)); });
    }
    static void HangupCallSuccess(void* ud, const char* callID, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.HangupCallSuccess(view(callID), view(cookie)); });
    }
    static void HangupCallFail(void* ud, const char* callID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.HangupCallFail(view(callID), sdkErr, view(cookie)); });
    }
    static void ClientInviteRslt(void* ud, const char* inviteID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.ClientInviteRslt(view(inviteID), sdkErr, view(cookie)); });
    }
    static void ClientCancelInviteRslt(void* ud, const char* inviteID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.ClientCancelInviteRslt(view(inviteID), sdkErr, view(cookie)); });
    }
    static void SendCmdRlst(void* ud, const char* taskID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.SendCmdRlst(view(taskID), sdkErr, view(cookie)); });
    }
    static void SendBufferRlst(void* ud, const char* taskID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.SendBufferRlst(view(taskID), sdkErr, view(cookie)); });
    }
    static void SendFileRlst(void* ud, const char* taskID, const char* fileName, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.SendFileRlst(view(taskID), view(fileName), sdkErr, view(cookie)); });
    }
    static void SendProgress(void* ud, const char* taskID, int64_t sendedLen, int64_t totalLen, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.SendProgress(view(taskID), sendedLen, totalLen, view(cookie)); });
    }
    static void CancelSendRlst(void* ud, const char* taskID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.CancelSendRlst(view(taskID), sdkErr, view(cookie)); });
    }
    static void NotifyCallIn(void* ud, const char* callID, const char* meetObjJson, const char* callerID, const char* usrExtDat) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCallIn(view(callID), view(meetObjJson), view(callerID), view(usrExtDat)); });
    }
    static void NotifyCallAccepted(void* ud, const char* callID, const char* meetObjJson, const char* usrExtDat) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCallAccepted(view(callID), view(meetObjJson), view(usrExtDat)); });
    }
    static void NotifyCallRejected(void* ud, const char* callID, int sdkErr, const char* usrExtDat) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCallRejected(view(callID), sdkErr, view(usrExtDat)); });
    }
    static void NotifyCallHungup(void* ud, const char* callID, const char* usrExtDat) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCallHungup(view(callID), view(usrExtDat)); });
    }
    static void NotifyInviteStatus(void* ud, const char* inviteID, int status) {
        deliver(ud, [&](Callbacks& c) { c.NotifyInviteStatus(view(inviteID), status); });
    }
    static void NotifyCmdData(void* ud, const char* sourceUserId, const uint8_t* data, size_t len) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCmdData(view(sourceUserId), data, len); });
    }
    static void NotifyBufferData(void* ud, const char* sourceUserId, const uint8_t* data, size_t len) {
        deliver(ud, [&](Callbacks& c) { c.NotifyBufferData(view(sourceUserId), data, len); });
    }
    static void NotifyFileData(void* ud, const char* sourceUserId, const char* tmpFile, const char* orgFileName) {
        deliver(ud, [&](Callbacks& c) { c.NotifyFileData(view(sourceUserId), view(tmpFile), view(orgFileName)); });
    }
    static void NotifyCancelSend(void* ud, const char* taskID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCancelSend(view(taskID)); });
    }
    static void InitQueueDatRslt(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.InitQueueDatRslt(sdkErr, view(cookie)); });
    }
    static void QueueStatusChanged(void* ud, const char* queStatusJson) {
        deliver(ud, [&](Callbacks& c) { c.QueueStatusChanged(view(queStatusJson)); });
    }
    static void QueuingInfoChanged(void* ud, const char* queuingInfoJson) {
        deliver(ud, [&](Callbacks& c) { c.QueuingInfoChanged(view(queuingInfoJson)); });
    }
    static void StartQueuingRslt(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.StartQueuingRslt(sdkErr, view(cookie)); });
    }
    static void StopQueuingRslt(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.StopQueuingRslt(sdkErr, view(cookie)); });
    }
    static void StartServiceRslt(void* ud, int queID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.StartServiceRslt(queID, sdkErr, view(cookie)); });
    }
    static void StopServiceRslt(void* ud, int queID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.StopServiceRslt(queID, sdkErr, view(cookie)); });
    }
    static void ResponseAssignUserRslt(void* ud, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.ResponseAssignUserRslt(sdkErr, view(cookie)); });
    }
    static void AutoAssignUser(void* ud, const char* queUserJson) {
        deliver(ud, [&](Callbacks& c) { c.AutoAssignUser(view(queUserJson)); });
    }
    static void ReqAssignUserRslt(void* ud, int sdkErr, const char* queUserJson, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.ReqAssignUserRslt(sdkErr, view(queUserJson), view(cookie)); });
    }
    static void CancelAssignUser(void* ud, int queID, const char* usrID) {
        deliver(ud, [&](Callbacks& c) { c.CancelAssignUser(queID, view(usrID)); });
    }
    static void EnterMeetingRslt(void* ud, int sdkErr) {
        deliver(ud, [&](Callbacks& c) { c.EnterMeetingRslt(sdkErr); });
    }
    static void UserEnterMeeting(void* ud, const char* userID) {
        deliver(ud, [&](Callbacks& c) { c.UserEnterMeeting(view(userID)); });
    }
    static void UserLeftMeeting(void* ud, const char* userID) {
        deliver(ud, [&](Callbacks& c) { c.UserLeftMeeting(view(userID)); });
    }
    static void StopMeetingRslt(void* ud, int sdkErr) {
        deliver(ud, [&](Callbacks& c) { c.StopMeetingRslt(sdkErr); });
    }
    static void MeetingStopped(void* ud) {
        deliver(ud, [&](Callbacks& c) { c.MeetingStopped(); });
    }
    static void MeetingDropped(void* ud) {
        deliver(ud, [&](Callbacks& c) { c.MeetingDropped(); });
    }
    static void AudioStatusChanged(void* ud, const char* userID, int oldStatus, int newStatus) {
        deliver(ud, [&](Callbacks& c) { c.AudioStatusChanged(view(userID), oldStatus, newStatus); });
    }
    static void VideoStatusChanged(void* ud, const char* userID, int oldStatus, int newStatus) {
        deliver(ud, [&](Callbacks& c) { c.VideoStatusChanged(view(userID), oldStatus, newStatus); });
    }
    static void SendIMmsgRlst(void* ud, const char* taskID, int sdkErr, const char* cookie) {
        deliver(ud, [&](Callbacks& c) { c.SendIMmsgRlst(view(taskID), sdkErr, view(cookie)); });
    }
    static void NotifyIMmsg(void* ud, const char* fromUserID, const char* text, int64_t sendTime) {
        deliver(ud, [&](Callbacks& c) { c.NotifyIMmsg(view(fromUserID), view(text), sendTime); });
    }
    static void StartScreenShareRslt(void* ud, int sdkErr) {
        deliver(ud, [&](Callbacks& c) { c.StartScreenShareRslt(sdkErr); });
    }
    static void StopScreenShareRslt(void* ud, int sdkErr) {
        deliver(ud, [&](Callbacks& c) { c.StopScreenShareRslt(sdkErr); });
    }
    static void NotifyScreenShareStarted(void* ud) {
        deliver(ud, [&](Callbacks& c) { c.NotifyScreenShareStarted(); });
    }
    static void NotifyScreenShareStopped(void* ud) {
        deliver(ud, [&](Callbacks& c) { c.NotifyScreenShareStopped(); });
    }
    static void NotifyGiveCtrlRight(void* ud, const char* operId, const char* targetId) {
        deliver(ud, [&](Callbacks& c) { c.NotifyGiveCtrlRight(view(operId), view(targetId)); });
    }
    static void NotifyReleaseCtrlRight(void* ud, const char* operId, const char* targetId) {
        deliver(ud, [&](Callbacks& c) { c.NotifyReleaseCtrlRight(view(operId), view(targetId)); });
    }
    static void NotifySwitchToPage(void* ud, int mainPage, const char* pageID) {
        deliver(ud, [&](Callbacks& c) { c.NotifySwitchToPage(mainPage, view(pageID)); });
    }
    static void NotifyVideoWallMode(void* ud, int mode) {
        deliver(ud, [&](Callbacks& c) { c.NotifyVideoWallMode(mode); });
    }
    static void NotifyMainVideoChanged(void* ud, const char* operId, const char* targetId) {
        deliver(ud, [&](Callbacks& c) { c.NotifyMainVideoChanged(view(operId), view(targetId)); });
    }
    static void NetStateChanged(void* ud, int level) {
        deliver(ud, [&](Callbacks& c) { c.NetStateChanged(level); });
    }
    static void NotifyInitBoards(void* ud, const char* boardsJson) {
        deliver(ud, [&](Callbacks& c) { c.NotifyInitBoards(view(boardsJson)); });
    }
    static void NotifyInitBoardPageDat(void* ud, const char* boardID, int pageNo, const char* imgID, const char* elementsJson, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyInitBoardPageDat(view(boardID), pageNo, view(imgID), view(elementsJson), view(operatorID)); });
    }
    static void NotifyCreateBoard(void* ud, const char* boardJson, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCreateBoard(view(boardJson), view(operatorID)); });
    }
    static void NotifyCloseBoard(void* ud, const char* boardID, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCloseBoard(view(boardID), view(operatorID)); });
    }
    static void NotifyAddBoardElement(void* ud, const char* boardID, int pageNo, const char* elementJson, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyAddBoardElement(view(boardID), pageNo, view(elementJson), view(operatorID)); });
    }
    static void NotifyModifyBoardElement(void* ud, const char* boardID, int pageNo, const char* elementJson, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyModifyBoardElement(view(boardID), pageNo, view(elementJson), view(operatorID)); });
    }
    static void NotifyDelBoardElement(void* ud, const char* boardID, int pageNo, const char* elementIDs, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyDelBoardElement(view(boardID), pageNo, view(elementIDs), view(operatorID)); });
    }
    static void NotifyMouseHotSpot(void* ud, const char* boardID, int x, int y, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyMouseHotSpot(view(boardID), x, y, view(operatorID)); });
    }
    static void Reconnecting(void* ud) {
        deliver(ud, [&](Callbacks& c) { c.Reconnecting(); });
    }
    static void Reconnected(void* ud) {
        deliver(ud, [&](Callbacks& c) { c.Reconnected(); });
    }
    static void NotifyVideoData(void* ud, const char* userID, int videoID, int64_t frmTime) {
        deliver(ud, [&](Callbacks& c) { c.NotifyVideoData(view(userID), videoID, frmTime); });
    }
    static void VideoDevChanged(void* ud, const char* userID) {
        deliver(ud, [&](Callbacks& c) { c.VideoDevChanged(view(userID)); });
    }
    static void DefVideoChanged(void* ud, const char* userID, int videoID) {
        deliver(ud, [&](Callbacks& c) { c.DefVideoChanged(view(userID), videoID); });
    }
    static void NotifyScreenShareData(void* ud, const char* userID, int left, int top, int width, int height) {
        deliver(ud, [&](Callbacks& c) { c.NotifyScreenShareData(view(userID), left, top, width, height); });
    }
    static void NotifyCatchScreen(void* ud) {
        deliver(ud, [&](Callbacks& c) { c.NotifyCatchScreen(); });
    }
    static void NotifyShareRectChanged(void* ud, int width, int height) {
        deliver(ud, [&](Callbacks& c) { c.NotifyShareRectChanged(width, height); });
    }
    static void MicEnergyUpdate(void* ud, const char* userID, int oldLevel, int newLevel) {
        deliver(ud, [&](Callbacks& c) { c.MicEnergyUpdate(view(userID), oldLevel, newLevel); });
    }
    static void NotifyAudioPCMDat(void* ud, int aSide, const uint8_t* pcm, size_t len) {
        deliver(ud, [&](Callbacks& c) { c.NotifyAudioPCMDat(aSide, pcm, len); });
    }
    static void GetNetDiskSummaryRslt(void* ud, int64_t diskLimit, int64_t diskUsed) {
        deliver(ud, [&](Callbacks& c) { c.GetNetDiskSummaryRslt(diskLimit, diskUsed); });
    }
    static void GetNetDiskFileListRslt(void* ud, const char* fileListJson) {
        deliver(ud, [&](Callbacks& c) { c.GetNetDiskFileListRslt(view(fileListJson)); });
    }
    static void NotifyNetDiskIsFull(void* ud, const char* fileListJson) {
        deliver(ud, [&](Callbacks& c) { c.NotifyNetDiskIsFull(view(fileListJson)); });
    }
    static void NotifyNetDiskFileDeleteRslt(void* ud, const char* fileID, int isSucceed) {
        deliver(ud, [&](Callbacks& c) { c.NotifyNetDiskFileDeleteRslt(view(fileID), isSucceed); });
    }
    static void NotifyNetDiskTransforProgress(void* ud, const char* fileID, int percent, int isSucceed) {
        deliver(ud, [&](Callbacks& c) { c.NotifyNetDiskTransforProgress(view(fileID), percent, isSucceed); });
    }
    static void NotifyBoardBkImage(void* ud, const char* subPageJson, const char* imgFileID, const char* operatorID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyBoardBkImage(view(subPageJson), view(imgFileID), view(operatorID)); });
    }
    static void FileStateChanged(void* ud, const char* fileName, int state) {
        deliver(ud, [&](Callbacks& c) { c.FileStateChanged(view(fileName), state); });
    }
    static void FileHttpRspHeader(void* ud, const char* fileName, const char* rspHeader) {
        deliver(ud, [&](Callbacks& c) { c.FileHttpRspHeader(view(fileName), view(rspHeader)); });
    }
    static void FileHttpRspContent(void* ud, const char* fileName, const char* content) {
        deliver(ud, [&](Callbacks& c) { c.FileHttpRspContent(view(fileName), view(content)); });
    }
    static void FileProgress(void* ud, const char* fileName, int64_t finisedSize, int64_t totalSize) {
        deliver(ud, [&](Callbacks& c) { c.FileProgress(view(fileName), finisedSize, totalSize); });
    }
    static void FileFinished(void* ud, const char* fileName, int rslt) {
        deliver(ud, [&](Callbacks& c) { c.FileFinished(view(fileName), rslt); });
    }
    static void RecordStateChanged(void* ud, int state) {
        deliver(ud, [&](Callbacks& c) { c.RecordStateChanged(state); });
    }
    static void RecordErr(void* ud, int sdkErr) {
        deliver(ud, [&](Callbacks& c) { c.RecordErr(sdkErr); });
    }
    static void NotifyRecordFileStateChanged(void* ud, const char* fileName, int state) {
        deliver(ud, [&](Callbacks& c) { c.NotifyRecordFileStateChanged(view(fileName), state); });
    }
    static void NotifyRecordFileUploadProgress(void* ud, const char* fileName, int percent) {
        deliver(ud, [&](Callbacks& c) { c.NotifyRecordFileUploadProgress(view(fileName), percent); });
    }
    static void UploadRecordFileErr(void* ud, const char* fileName, int sdkErr) {
        deliver(ud, [&](Callbacks& c) { c.UploadRecordFileErr(view(fileName), sdkErr); });
    }
    static void NotifyMediaOpened(void* ud, int64_t totalTimeMs, int w, int h) {
        deliver(ud, [&](Callbacks& c) { c.NotifyMediaOpened(totalTimeMs, w, h); });
    }
    static void NotifyMediaStart(void* ud, const char* userID) {
        deliver(ud, [&](Callbacks& c) { c.NotifyMediaStart(view(userID)); });
    }
    static void NotifyMediaStop(void* ud, const char* userID, int reason) {
        deliver(ud, [&](Callbacks& c) { c.NotifyMediaStop(view(userID), reason); });
    }
    static void NotifyMediaPause(void* ud, const char* userID, int pause) {
        deliver(ud, [&](Callbacks& c) { c.NotifyMediaPause(view(userID), pause); });
    }
    static void NotifyPlayPosSetted(void* ud, int64_t setPTS) {
        deliver(ud, [&](Callbacks& c) { c.NotifyPlayPosSetted(setPTS); });
    }
    static void NotifyMemberMediaData(void* ud, const char* userID, int64_t curPosMs) {
        deliver(ud, [&](Callbacks& c) { c.NotifyMemberMediaData(view(userID), curPosMs); });
    }
    // </generated>

    /** The table registered by Mgr::setCallbacks(): every member set (members a newer
     * CRVideoSDK.h may add stay NULL, i.e. skipped). */
    static CRVideo_Callbacks table() noexcept {
        CRVideo_Callbacks t{};
        t.size = sizeof(CRVideo_Callbacks);
        // <generated: table>
        t.LoginSuccess = &LoginSuccess;
        t.LoginFail = &LoginFail;
        t.LineOff = &LineOff;
        t.SetDNDStatusSuccess = &SetDNDStatusSuccess;
        t.SetDNDStatusFail = &SetDNDStatusFail;
        t.GetUserStatusSuccess = &GetUserStatusSuccess;
        t.GetUserStatusFail = &GetUserStatusFail;
        t.StartUserStatusNotifyRslt = &StartUserStatusNotifyRslt;
        t.NotifyUserStatus = &NotifyUserStatus;
        t.StopUserStatusNotifyRslt = &StopUserStatusNotifyRslt;
        t.CreateMeetingSuccess = &CreateMeetingSuccess;
        t.CreateMeetingFail = &CreateMeetingFail;
        t.DestroyMeetingRslt = &DestroyMeetingRslt;
        t.GetMeetingsSuccess = &GetMeetingsSuccess;
        t.GetMeetingsFail = &GetMeetingsFail;
        t.CallSuccess = &CallSuccess;
        t.CallFail = &CallFail;
        t.AcceptCallSuccess = &AcceptCallSuccess;
        t.AcceptCallFail = &AcceptCallFail;
        t.RejectCallSuccess = &RejectCallSuccess;
        t.RejectCallFail = &RejectCallFail;
        t.HangupCallSuccess = &HangupCallSuccess;
        t.HangupCallFail = &HangupCallFail;
        t.ClientInviteRslt = &ClientInviteRslt;
        t.ClientCancelInviteRslt = &ClientCancelInviteRslt;
        t.SendCmdRlst = &SendCmdRlst;
        t.SendBufferRlst = &SendBufferRlst;
        t.SendFileRlst = &SendFileRlst;
        t.SendProgress = &SendProgress;
        t.CancelSendRlst = &CancelSendRlst;
        t.NotifyCallIn = &NotifyCallIn;
        t.NotifyCallAccepted = &NotifyCallAccepted;
        t.NotifyCallRejected = &NotifyCallRejected;
        t.NotifyCallHungup = &NotifyCallHungup;
        t.NotifyInviteStatus = &NotifyInviteStatus;
        t.NotifyCmdData = &NotifyCmdData;
        t.NotifyBufferData = &NotifyBufferData;
        t.NotifyFileData = &NotifyFileData;
        t.NotifyCancelSend = &NotifyCancelSend;
        t.InitQueueDatRslt = &InitQueueDatRslt;
        t.QueueStatusChanged = &QueueStatusChanged;
        t.QueuingInfoChanged = &QueuingInfoChanged;
        t.StartQueuingRslt = &StartQueuingRslt;
        t.StopQueuingRslt = &StopQueuingRslt;
        t.StartServiceRslt = &StartServiceRslt;
        t.StopServiceRslt = &StopServiceRslt;
        t.ResponseAssignUserRslt = &ResponseAssignUserRslt;
        t.AutoAssignUser = &AutoAssignUser;
        t.ReqAssignUserRslt = &ReqAssignUserRslt;
        t.CancelAssignUser = &CancelAssignUser;
        t.EnterMeetingRslt = &EnterMeetingRslt;
        t.UserEnterMeeting = &UserEnterMeeting;
        t.UserLeftMeeting = &UserLeftMeeting;
        t.StopMeetingRslt = &StopMeetingRslt;
        t.MeetingStopped = &MeetingStopped;
        t.MeetingDropped = &MeetingDropped;
        t.AudioStatusChanged = &AudioStatusChanged;
        t.VideoStatusChanged = &VideoStatusChanged;
        t.SendIMmsgRlst = &SendIMmsgRlst;
        t.NotifyIMmsg = &NotifyIMmsg;
        t.StartScreenShareRslt = &StartScreenShareRslt;
        t.StopScreenShareRslt = &StopScreenShareRslt;
        t.NotifyScreenShareStarted = &NotifyScreenShareStarted;
        t.NotifyScreenShareStopped = &NotifyScreenShareStopped;
        t.NotifyGiveCtrlRight = &NotifyGiveCtrlRight;
        t.NotifyReleaseCtrlRight = &NotifyReleaseCtrlRight;
        t.NotifySwitchToPage = &NotifySwitchToPage;
        t.NotifyVideoWallMode = &NotifyVideoWallMode;
        t.NotifyMainVideoChanged = &NotifyMainVideoChanged;
        t.NetStateChanged = &NetStateChanged;
        t.NotifyInitBoards = &NotifyInitBoards;
        t.NotifyInitBoardPageDat = &NotifyInitBoardPageDat;
        t.NotifyCreateBoard = &NotifyCreateBoard;
        t.NotifyCloseBoard = &NotifyCloseBoard;
        t.NotifyAddBoardElement = &NotifyAddBoardElement;
        t.NotifyModifyBoardElement = &NotifyModifyBoardElement;
        t.NotifyDelBoardElement = &NotifyDelBoardElement;
        t.NotifyMouseHotSpot = &NotifyMouseHotSpot;
        t.Reconnecting = &Reconnecting;
        t.Reconnected = &Reconnected;
        t.NotifyVideoData = &NotifyVideoData;
        t.VideoDevChanged = &VideoDevChanged;
        t.DefVideoChanged = &DefVideoChanged;
        t.NotifyScreenShareData = &NotifyScreenShareData;
        t.NotifyCatchScreen = &NotifyCatchScreen;
        t.NotifyShareRectChanged = &NotifyShareRectChanged;
        t.MicEnergyUpdate = &MicEnergyUpdate;
        t.NotifyAudioPCMDat = &NotifyAudioPCMDat;
        t.GetNetDiskSummaryRslt = &GetNetDiskSummaryRslt;
        t.GetNetDiskFileListRslt = &GetNetDiskFileListRslt;
        t.NotifyNetDiskIsFull = &NotifyNetDiskIsFull;
        t.NotifyNetDiskFileDeleteRslt = &NotifyNetDiskFileDeleteRslt;
        t.NotifyNetDiskTransforProgress = &NotifyNetDiskTransforProgress;
        t.NotifyBoardBkImage = &NotifyBoardBkImage;
        t.FileStateChanged = &FileStateChanged;
        t.FileHttpRspHeader = &FileHttpRspHeader;
        t.FileHttpRspContent = &FileHttpRspContent;
        t.FileProgress = &FileProgress;
        t.FileFinished = &FileFinished;
        t.RecordStateChanged = &RecordStateChanged;
        t.RecordErr = &RecordErr;
        t.NotifyRecordFileStateChanged = &NotifyRecordFileStateChanged;
        t.NotifyRecordFileUploadProgress = &NotifyRecordFileUploadProgress;
        t.UploadRecordFileErr = &UploadRecordFileErr;
        t.NotifyMediaOpened = &NotifyMediaOpened;
        t.NotifyMediaStart = &NotifyMediaStart;
        t.NotifyMediaStop = &NotifyMediaStop;
        t.NotifyMediaPause = &NotifyMediaPause;
        t.NotifyPlayPosSetted = &NotifyPlayPosSetted;
        t.NotifyMemberMediaData = &NotifyMemberMediaData;
        // </generated>
        return t;
    }
};

}  // namespace detail

/**
 * The process's SDK: one method per CRVideo_* function, same name in lowerCamelCase, same
 * arguments (std::string_view for strings), same results. Get it with Mgr::instance().
 */
class Mgr {
public:
    /** The one instance (the SDK is one per process). */
    static Mgr& instance() noexcept {
        static Mgr mgr;
        return mgr;
    }

    Mgr(const Mgr&) = delete;
    Mgr& operator=(const Mgr&) = delete;
    Mgr(Mgr&&) = delete;
    Mgr& operator=(Mgr&&) = delete;

    // Lifecycle -----------------------------------------------------------------------

    /** CRVideo_Init: `paramsJson` "" (defaults) or a JSON object (serverAddr, tmpDir,
     * timeoutMs, logLevel, dispatch, ...). 0 or CRVIDEOSDK_PARAM_ERR. */
    int init(std::string_view paramsJson = "") {
        return CRVideo_Init(detail::cstr(paramsJson).c_str());
    }
    /** CRVideo_Uninit: no callback runs after it returns (see the top of the file for the
     * call from inside a callback). Forgets the registered Callbacks. */
    void uninit() noexcept { CRVideo_Uninit(); }
    /** CRVideo_SetServerAddr: "host:port;host2:port2". */
    int setServerAddr(std::string_view addrList) {
        return CRVideo_SetServerAddr(detail::cstr(addrList).c_str());
    }
    /** CRVideo_SetCallbacks: from now on the SDK calls `cb`'s virtual methods (nullptr:
     * none). `cb` must outlive the registration (see the top of the file). 0,
     * CRVIDEOSDK_NOT_INIT. */
    int setCallbacks(Callbacks* cb) noexcept {
        if (cb == nullptr) {
            CRVideo_Callbacks none{};
            none.size = sizeof(CRVideo_Callbacks);
            return CRVideo_SetCallbacks(&none, nullptr);
        }
        const CRVideo_Callbacks table = detail::Trampolines::table();
        return CRVideo_SetCallbacks(&table, static_cast<void*>(cb));
    }
    /** CRVideo_PollEvents ("dispatch":"poll" mode): runs pending callbacks on this thread,
     * waiting up to `timeoutMs` for the first. How many ran, or a negated error code. */
    int pollEvents(int timeoutMs) noexcept { return CRVideo_PollEvents(timeoutMs); }
    /** CRVideo_GetVersion, e.g. "0.1.0"; static. */
    static const char* version() noexcept { return CRVideo_GetVersion(); }
    /** CRVideo_GetErrorDesc: English text of a CRVIDEOSDK_* code; static. */
    static const char* errorDesc(int code) noexcept { return CRVideo_GetErrorDesc(code); }

    // Session -------------------------------------------------------------------------

    /** CRVideo_Login: then LoginSuccess or LoginFail. */
    int login(std::string_view authAcnt, std::string_view authPswd, std::string_view nickName,
              std::string_view privAcnt, std::string_view privAuthCode = "",
              std::string_view cookie = "") {
        return CRVideo_Login(detail::cstr(authAcnt).c_str(), detail::cstr(authPswd).c_str(),
                             detail::cstr(nickName).c_str(), detail::cstr(privAcnt).c_str(),
                             detail::cstr(privAuthCode).c_str(), detail::cstr(cookie).c_str());
    }
    /** CRVideo_Logout: no callback; may be called from inside a callback. */
    int logout() noexcept { return CRVideo_Logout(); }

    // Presence ------------------------------------------------------------------------

    /** CRVideo_SetDNDStatus: then SetDNDStatusSuccess or SetDNDStatusFail. */
    int setDNDStatus(int dndStatus, std::string_view cookie = "") {
        return CRVideo_SetDNDStatus(dndStatus, detail::cstr(cookie).c_str());
    }
    /** CRVideo_GetUserStatus: then GetUserStatusSuccess or GetUserStatusFail. */
    int getUserStatus(std::string_view cookie = "") {
        return CRVideo_GetUserStatus(detail::cstr(cookie).c_str());
    }
    /** CRVideo_StartUserStatusNotify: then StartUserStatusNotifyRslt, NotifyUserStatus... */
    int startUserStatusNotify(std::string_view cookie = "") {
        return CRVideo_StartUserStatusNotify(detail::cstr(cookie).c_str());
    }
    /** CRVideo_StopUserStatusNotify: then StopUserStatusNotifyRslt. */
    int stopUserStatusNotify(std::string_view cookie = "") {
        return CRVideo_StopUserStatusNotify(detail::cstr(cookie).c_str());
    }

    // Meetings ------------------------------------------------------------------------

    /** CRVideo_CreateMeeting: then CreateMeetingSuccess or CreateMeetingFail. */
    int createMeeting(std::string_view meetSubject, int createPswd = 0,
                      std::string_view cookie = "") {
        return CRVideo_CreateMeeting(detail::cstr(meetSubject).c_str(), createPswd,
                                     detail::cstr(cookie).c_str());
    }
    /** CRVideo_DestroyMeeting: then DestroyMeetingRslt. */
    int destroyMeeting(int meetID, std::string_view cookie = "") {
        return CRVideo_DestroyMeeting(meetID, detail::cstr(cookie).c_str());
    }
    /** CRVideo_GetMeetings: then GetMeetingsSuccess or GetMeetingsFail. */
    int getMeetings(std::string_view cookie = "") {
        return CRVideo_GetMeetings(detail::cstr(cookie).c_str());
    }

    // Calls and invitations -----------------------------------------------------------

    /** CRVideo_Call: the call's ID ("" only when not initialised); then CallSuccess or
     * CallFail with it. */
    std::string call(std::string_view calledUserID, std::string_view meetObjJson = "",
                     std::string_view usrExtDat = "", std::string_view cookie = "") {
        return detail::take(CRVideo_Call(detail::cstr(calledUserID).c_str(),
                                         detail::cstr(meetObjJson).c_str(),
                                         detail::cstr(usrExtDat).c_str(),
                                         detail::cstr(cookie).c_str()));
    }
    /** CRVideo_AcceptCall: then AcceptCallSuccess or AcceptCallFail. */
    int acceptCall(std::string_view callID, std::string_view meetObjJson = "",
                   std::string_view usrExtDat = "", std::string_view cookie = "") {
        return CRVideo_AcceptCall(detail::cstr(callID).c_str(),
                                  detail::cstr(meetObjJson).c_str(),
                                  detail::cstr(usrExtDat).c_str(), detail::cstr(cookie).c_str());
    }
    /** CRVideo_RejectCall: then RejectCallSuccess or RejectCallFail. */
    int rejectCall(std::string_view callID, std::string_view usrExtDat = "",
                   std::string_view cookie = "") {
        return CRVideo_RejectCall(detail::cstr(callID).c_str(), detail::cstr(usrExtDat).c_str(),
                                  detail::cstr(cookie).c_str());
    }
    /** CRVideo_HungupCall: then HangupCallSuccess or HangupCallFail. */
    int hungupCall(std::string_view callID, std::string_view usrExtDat = "",
                   std::string_view cookie = "") {
        return CRVideo_HungupCall(detail::cstr(callID).c_str(), detail::cstr(usrExtDat).c_str(),
                                  detail::cstr(cookie).c_str());
    }
    /** CRVideo_ClientInvite: the invitation's ID ("" only when not initialised); then
     * ClientInviteRslt, NotifyInviteStatus... with it. */
    std::string clientInvite(std::string_view called, std::string_view meetObjJson = "",
                             std::string_view cookie = "") {
        return detail::take(CRVideo_ClientInvite(detail::cstr(called).c_str(),
                                                 detail::cstr(meetObjJson).c_str(),
                                                 detail::cstr(cookie).c_str()));
    }
    /** CRVideo_ClientCancelInvite: then ClientCancelInviteRslt. */
    int clientCancelInvite(std::string_view inviteID, std::string_view cookie = "") {
        return CRVideo_ClientCancelInvite(detail::cstr(inviteID).c_str(),
                                          detail::cstr(cookie).c_str());
    }

    // Transparent channel -------------------------------------------------------------

    /** CRVideo_SendCmd (at most 51,200 bytes, binary-safe, copied before it returns): the
     * task's ID ("" only when not initialised); then SendCmdRlst with it. */
    std::string sendCmd(std::string_view targetUserId, const void* data, size_t len,
                        std::string_view cookie = "") {
        return detail::take(CRVideo_SendCmd(detail::cstr(targetUserId).c_str(),
                                            static_cast<const uint8_t*>(data), len,
                                            detail::cstr(cookie).c_str()));
    }
    std::string sendCmd(std::string_view targetUserId, const std::vector<uint8_t>& data,
                        std::string_view cookie = "") {
        return sendCmd(targetUserId, data.data(), data.size(), cookie);
    }
    /** CRVideo_SendBuffer (binary-safe, copied before it returns): the task's ID ("" only
     * when not initialised); then SendProgress... and SendBufferRlst (or CancelSendRlst). */
    std::string sendBuffer(std::string_view targetUserId, const void* data, size_t len,
                           std::string_view cookie = "") {
        return detail::take(CRVideo_SendBuffer(detail::cstr(targetUserId).c_str(),
                                               static_cast<const uint8_t*>(data), len,
                                               detail::cstr(cookie).c_str()));
    }
    std::string sendBuffer(std::string_view targetUserId, const std::vector<uint8_t>& data,
                           std::string_view cookie = "") {
        return sendBuffer(targetUserId, data.data(), data.size(), cookie);
    }
    /** CRVideo_SendBufferNoCopy: sends the buffer without copying it; `release(ctx, data,
     * len)` is called exactly once when the SDK no longer reads it (see the C function). */
    std::string sendBufferNoCopy(std::string_view targetUserId, const void* data, size_t len,
                                 void (*release)(void*, const uint8_t*, size_t), void* ctx,
                                 std::string_view cookie = "") {
        return detail::take(CRVideo_SendBufferNoCopy(
            detail::cstr(targetUserId).c_str(), static_cast<const uint8_t*>(data), len, release,
            ctx, detail::cstr(cookie).c_str()));
    }
    /** The vector is moved in and destroyed when the SDK lets go of it. */
    std::string sendBufferNoCopy(std::string_view targetUserId, std::vector<uint8_t>&& data,
                                 std::string_view cookie = "") {
        auto* owned = new std::vector<uint8_t>(std::move(data));
        return sendBufferNoCopy(
            targetUserId, owned->data(), owned->size(),
            [](void* ctx, const uint8_t*, size_t) { delete static_cast<std::vector<uint8_t>*>(ctx); },
            owned, cookie);
    }
    /** CRVideo_SendFile: the task's ID ("" only when not initialised); then SendProgress...
     * and SendFileRlst (or CancelSendRlst). */
    std::string sendFile(std::string_view targetUserId, std::string_view fileName,
                         std::string_view cookie = "") {
        return detail::take(CRVideo_SendFile(detail::cstr(targetUserId).c_str(),
                                             detail::cstr(fileName).c_str(),
                                             detail::cstr(cookie).c_str()));
    }
    /** CRVideo_CancelSend: then CancelSendRlst. */
    int cancelSend(std::string_view taskID) {
        return CRVideo_CancelSend(detail::cstr(taskID).c_str());
    }

    // Call-center queues ----------------------------------------------------------------

    /** CRVideo_InitQueueDat: then InitQueueDatRslt. */
    int initQueueDat(std::string_view cookie = "") {
        return CRVideo_InitQueueDat(detail::cstr(cookie).c_str());
    }
    /** CRVideo_RefreshAllQueueStatus: then one QueueStatusChanged per queue. */
    int refreshAllQueueStatus() { return CRVideo_RefreshAllQueueStatus(); }
    /** CRVideo_GetAllQueueInfo: a JSON array of QueueInfo ("" only when not initialised). */
    std::string getAllQueueInfo() { return detail::take(CRVideo_GetAllQueueInfo()); }
    /** CRVideo_GetQueueStatus: one QueueStatus JSON object ("" for an unknown queue). */
    std::string getQueueStatus(int queID) { return detail::take(CRVideo_GetQueueStatus(queID)); }
    /** CRVideo_GetQueuingInfo: this user's QueuingInfo JSON object. */
    std::string getQueuingInfo() { return detail::take(CRVideo_GetQueuingInfo()); }
    /** CRVideo_GetServingQueues: a JSON array of the queue IDs this agent serves. */
    std::string getServingQueues() { return detail::take(CRVideo_GetServingQueues()); }
    /** CRVideo_StartQueuing: then StartQueuingRslt (and QueuingInfoChanged). */
    int startQueuing(int queID, std::string_view usrExtDat = "", std::string_view cookie = "") {
        return CRVideo_StartQueuing(queID, detail::cstr(usrExtDat).c_str(),
                                    detail::cstr(cookie).c_str());
    }
    /** CRVideo_StopQueuing: then StopQueuingRslt. */
    int stopQueuing(std::string_view cookie = "") {
        return CRVideo_StopQueuing(detail::cstr(cookie).c_str());
    }
    /** CRVideo_StartService: then StartServiceRslt. */
    int startService(int queID, int priority, std::string_view cookie = "") {
        return CRVideo_StartService(queID, priority, detail::cstr(cookie).c_str());
    }
    /** CRVideo_StopService: then StopServiceRslt. */
    int stopService(int queID, std::string_view cookie = "") {
        return CRVideo_StopService(queID, detail::cstr(cookie).c_str());
    }
    /** CRVideo_ReqAssignUser: then ReqAssignUserRslt. */
    int reqAssignUser(std::string_view cookie = "") {
        return CRVideo_ReqAssignUser(detail::cstr(cookie).c_str());
    }
    /** CRVideo_AcceptAssignUser: then ResponseAssignUserRslt. */
    int acceptAssignUser(int queID, std::string_view usrID, std::string_view cookie = "") {
        return CRVideo_AcceptAssignUser(queID, detail::cstr(usrID).c_str(),
                                        detail::cstr(cookie).c_str());
    }
    /** CRVideo_RejectAssignUser: then ResponseAssignUserRslt. */
    int rejectAssignUser(int queID, std::string_view usrID, std::string_view cookie = "") {
        return CRVideo_RejectAssignUser(queID, detail::cstr(usrID).c_str(),
                                        detail::cstr(cookie).c_str());
    }

    // Meeting room ----------------------------------------------------------------------

    /** CRVideo_EnterMeeting: then EnterMeetingRslt. */
    int enterMeeting(int meetID, std::string_view pswd = "") {
        return CRVideo_EnterMeeting(meetID, detail::cstr(pswd).c_str());
    }
    /** CRVideo_ExitMeeting (no callback). */
    int exitMeeting() { return CRVideo_ExitMeeting(); }
    /** CRVideo_StopMeeting: then StopMeetingRslt. */
    int stopMeeting() { return CRVideo_StopMeeting(); }
    /** CRVideo_GetAllMembers: a JSON array of MemberInfo ("[]" when not in a meeting). */
    std::string getAllMembers() { return detail::take(CRVideo_GetAllMembers()); }
    int openMic(std::string_view userID) { return CRVideo_OpenMic(detail::cstr(userID).c_str()); }
    int closeMic(std::string_view userID) { return CRVideo_CloseMic(detail::cstr(userID).c_str()); }
    int openVideo(std::string_view userID) { return CRVideo_OpenVideo(detail::cstr(userID).c_str()); }
    int closeVideo(std::string_view userID) {
        return CRVideo_CloseVideo(detail::cstr(userID).c_str());
    }
    /** CRVideo_SendIMmsg: the task's ID; then SendIMmsgRlst. */
    std::string sendIMmsg(std::string_view text, std::string_view toUserID = "",
                          std::string_view cookie = "") {
        return detail::take(CRVideo_SendIMmsg(detail::cstr(text).c_str(),
                                              detail::cstr(toUserID).c_str(),
                                              detail::cstr(cookie).c_str()));
    }
    /** CRVideo_StartScreenShare: then StartScreenShareRslt. */
    int startScreenShare() { return CRVideo_StartScreenShare(); }
    /** CRVideo_StopScreenShare: then StopScreenShareRslt. */
    int stopScreenShare() { return CRVideo_StopScreenShare(); }
    int giveCtrlRight(std::string_view userID) {
        return CRVideo_GiveCtrlRight(detail::cstr(userID).c_str());
    }
    int releaseCtrlRight(std::string_view userID) {
        return CRVideo_ReleaseCtrlRight(detail::cstr(userID).c_str());
    }
    int switchToPage(int mainPage, std::string_view pageID = "") {
        return CRVideo_SwitchToPage(mainPage, detail::cstr(pageID).c_str());
    }
    int setVideoWallMode(int mode) { return CRVideo_SetVideoWallMode(mode); }
    int setMainVideo(std::string_view userID) {
        return CRVideo_SetMainVideo(detail::cstr(userID).c_str());
    }

    // Whiteboards -------------------------------------------------------------------------

    /** CRVideo_CreateBoard: the new board's ID, or "" when it failed (then getLastError()). */
    std::string createBoard(std::string_view title, int width, int height, int pageCount = 1) {
        return detail::take(
            CRVideo_CreateBoard(detail::cstr(title).c_str(), width, height, pageCount));
    }
    /** CRVideo_GetLastError: why this thread's last createBoard() failed (0: it did not). */
    int getLastError() { return CRVideo_GetLastError(); }
    int closeBoard(std::string_view boardID) {
        return CRVideo_CloseBoard(detail::cstr(boardID).c_str());
    }
    /** CRVideo_CreateElementID: a new element ID, made locally. */
    std::string createElementID() { return detail::take(CRVideo_CreateElementID()); }
    int addBoardElement(std::string_view boardID, int pageNo, std::string_view elementJson) {
        return CRVideo_AddBoardElement(detail::cstr(boardID).c_str(), pageNo,
                                       detail::cstr(elementJson).c_str());
    }
    int modifyBoardElement(std::string_view boardID, int pageNo, std::string_view elementJson) {
        return CRVideo_ModifyBoardElement(detail::cstr(boardID).c_str(), pageNo,
                                          detail::cstr(elementJson).c_str());
    }
    /** elementIDs joined by ';'. */
    int delBoardElement(std::string_view boardID, int pageNo, std::string_view elementIDs) {
        return CRVideo_DelBoardElement(detail::cstr(boardID).c_str(), pageNo,
                                       detail::cstr(elementIDs).c_str());
    }
    int setMouseHotSpot(std::string_view boardID, int pageNo, int x, int y) {
        return CRVideo_SetMouseHotSpot(detail::cstr(boardID).c_str(), pageNo, x, y);
    }
    /** CRVideo_SetBoardBkImage: a page's background, a net-disk file ID ("" none). */
    int setBoardBkImage(std::string_view boardID, int pageNo, std::string_view imgFileID) {
        return CRVideo_SetBoardBkImage(detail::cstr(boardID).c_str(), pageNo,
                                       detail::cstr(imgFileID).c_str());
    }

    // Net disk --------------------------------------------------------------------------

    int getNetDiskSummary() { return CRVideo_GetNetDiskSummary(); }
    int getNetDiskFileList() { return CRVideo_GetNetDiskFileList(); }
    /** CRVideo_MakeNetDiskFileID: fileType 0 shared (listed), 1 resource; "" on error. */
    std::string makeNetDiskFileID(int fileType, std::string_view newFileName) {
        return detail::take(
            CRVideo_MakeNetDiskFileID(fileType, detail::cstr(newFileName).c_str()));
    }
    int uploadNetDiskFile(std::string_view fileID, std::string_view localPath) {
        return CRVideo_UploadNetDiskFile(detail::cstr(fileID).c_str(),
                                         detail::cstr(localPath).c_str());
    }
    int downloadNetDiskFile(std::string_view fileID, std::string_view localPath) {
        return CRVideo_DownloadNetDiskFile(detail::cstr(fileID).c_str(),
                                           detail::cstr(localPath).c_str());
    }
    int setNetDiskTransportPause(std::string_view fileID, bool pause) {
        return CRVideo_SetNetDiskTransportPause(detail::cstr(fileID).c_str(), pause);
    }
    int cancelNetDiskFile(std::string_view fileID) {
        return CRVideo_CancelNetDiskFile(detail::cstr(fileID).c_str());
    }
    int deleteNetDiskFile(std::string_view fileID) {
        return CRVideo_DeleteNetDiskFile(detail::cstr(fileID).c_str());
    }

    // Video -----------------------------------------------------------------------------

    /** A picture from getVideoImg, freed with CRVideo_FreeVideoImg when it goes. */
    using VideoImg = std::unique_ptr<CRVideo_VideoImg, void (*)(CRVideo_VideoImg*)>;

    /** CRVideo_CreateCustomVideoDev: the new camera's ID in *videoID; then VideoDevChanged
        (and DefVideoChanged for the first camera). */
    int createCustomVideoDev(std::string_view camName, int pixFmt, int width, int height,
                             std::string_view extParamsJson, int* videoID) {
        return CRVideo_CreateCustomVideoDev(detail::cstr(camName).c_str(), pixFmt, width, height,
                                            detail::cstr(extParamsJson).c_str(), videoID);
    }
    int destroyCustomVideoDev(int videoID) { return CRVideo_DestroyCustomVideoDev(videoID); }
    /** CRVideo_InputCustomVideoDat: one picture in the camera's format and size. */
    int inputCustomVideoDat(int videoID, const uint8_t* data, size_t len, int64_t timeStampMs) {
        return CRVideo_InputCustomVideoDat(videoID, data, len, timeStampMs);
    }
    int setDefaultVideo(int videoID) { return CRVideo_SetDefaultVideo(videoID); }
    int getDefaultVideo(std::string_view userID) {
        return CRVideo_GetDefaultVideo(detail::cstr(userID).c_str());
    }
    /** CRVideo_GetAllVideoInfo: a JSON array of {"userID","videoID","videoName"}. */
    std::string getAllVideoInfo(std::string_view userID) {
        return detail::take(CRVideo_GetAllVideoInfo(detail::cstr(userID).c_str()));
    }
    /** CRVideo_SetWatchVideos with a JSON array of "userID.videoID". */
    int setWatchVideos(std::string_view videosJson) {
        return CRVideo_SetWatchVideos(detail::cstr(videosJson).c_str());
    }
    /** CRVideo_SetWatchVideos(NULL): every open video. */
    int watchAllVideos() { return CRVideo_SetWatchVideos(nullptr); }
    /** CRVideo_GetVideoImg: the newest picture into *img (empty on failure). */
    int getVideoImg(std::string_view userID, int videoID, int format, int maxWidth,
                    int maxHeight, VideoImg* img) {
        CRVideo_VideoImg* raw = nullptr;
        int rc = CRVideo_GetVideoImg(detail::cstr(userID).c_str(), videoID, format, maxWidth,
                                     maxHeight, &raw);
        *img = VideoImg(raw, CRVideo_FreeVideoImg);
        return rc;
    }

    // Screen pixels ---------------------------------------------------------------------

    /** CRVideo_SetScreenShareCfg: {"maxFPS":8,"maxKbps":800}. */
    int setScreenShareCfg(std::string_view cfgJson) {
        return CRVideo_SetScreenShareCfg(detail::cstr(cfgJson).c_str());
    }
    /** CRVideo_SetCustomizeCatchScreen: NotifyCatchScreen at maxFPS while sharing. */
    int setCustomizeCatchScreen(bool enable) { return CRVideo_SetCustomizeCatchScreen(enable); }
    /** CRVideo_SetCustomizeScreenImg: the current screen image. */
    int setCustomizeScreenImg(int format, int width, int height, const uint8_t* data,
                              size_t len) {
        return CRVideo_SetCustomizeScreenImg(format, width, height, data, len);
    }
    /** CRVideo_GetShareScreenDecodeImg: the shared screen into *img (empty on failure). */
    int getShareScreenDecodeImg(int format, int maxWidth, int maxHeight, VideoImg* img) {
        CRVideo_VideoImg* raw = nullptr;
        int rc = CRVideo_GetShareScreenDecodeImg(format, maxWidth, maxHeight, &raw);
        *img = VideoImg(raw, CRVideo_FreeVideoImg);
        return rc;
    }

    // Audio (16 kHz 16-bit little-endian mono PCM; 320 bytes are 10 ms) ------------------

    /** CRVideo_SetCustomAudioCapture: the app pushes the microphone's PCM. */
    int setCustomAudioCapture(bool enable, std::string_view paramsJson = {}) {
        return CRVideo_SetCustomAudioCapture(enable, detail::cstr(paramsJson).c_str());
    }
    /** CRVideo_PushCustomAudioDat: a multiple of 320 bytes, at real time. */
    int pushCustomAudioDat(const uint8_t* pcm, size_t len) {
        return CRVideo_PushCustomAudioDat(pcm, len);
    }
    /** CRVideo_StartGetAudioPCM: aSide 0 mic / 1 speaker; getType 0 NotifyAudioPCMDat
        ({"EachSize":n}), 1 a WAV file ({"FileName":"x.wav"}). */
    int startGetAudioPCM(int aSide, int getType, std::string_view jsonParam) {
        return CRVideo_StartGetAudioPCM(aSide, getType, detail::cstr(jsonParam).c_str());
    }
    int stopGetAudioPCM(int aSide) { return CRVideo_StopGetAudioPCM(aSide); }
    /** CRVideo_SetCustomAudioPlayback: the app pulls the speaker mix at its own clock. */
    int setCustomAudioPlayback(bool enable, std::string_view paramsJson = {}) {
        return CRVideo_SetCustomAudioPlayback(enable, detail::cstr(paramsJson).c_str());
    }
    /** CRVideo_PullCustomAudioDat: the next len bytes (even) of the speaker stream. */
    int pullCustomAudioDat(uint8_t* buf, size_t len) { return CRVideo_PullCustomAudioDat(buf, len); }
    /** CRVideo_GetMicEnergy: 0–10. */
    int getMicEnergy(std::string_view userID) {
        return CRVideo_GetMicEnergy(detail::cstr(userID).c_str());
    }

    // HTTP file transfer (no login needed; fileName is the transfer's filePathName) ------

    /** CRVideo_StartTransferFile: {"bUploadType":0|1,"filePathName":"/abs","httpUrl":..,
        "extParams":{..},"transforCfg":{"extParamsTransfType":0|1}}; then FileStateChanged,
        FileProgress, FileHttpRspHeader, (upload) FileHttpRspContent, FileFinished. */
    int startTransferFile(std::string_view fileInfoJson) {
        return CRVideo_StartTransferFile(detail::cstr(fileInfoJson).c_str());
    }
    /** CRVideo_CancelFileTransfer: back to state 0; a new start resumes a download. */
    int cancelFileTransfer(std::string_view fileName) {
        return CRVideo_CancelFileTransfer(detail::cstr(fileName).c_str());
    }
    /** CRVideo_RmTransferInfo: forgets it (removeLocFile: and deletes its local files). */
    int rmTransferInfo(std::string_view fileName, bool removeLocFile) {
        return CRVideo_RmTransferInfo(detail::cstr(fileName).c_str(), removeLocFile ? 1 : 0);
    }
    /** CRVideo_GetAllTransferInfos: a JSON array of {"fileName","state","finished","total","httpUrl"}. */
    std::string getAllTransferInfos() { return detail::take(CRVideo_GetAllTransferInfos()); }
    /** CRVideo_GetTransferInfo: one such object ("" when unknown: CRVideo_GetLastError says why). */
    std::string getTransferInfo(std::string_view fileName) {
        return detail::take(CRVideo_GetTransferInfo(detail::cstr(fileName).c_str()));
    }
    /** CRVideo_SetFileUploadRate: bytes per second across all uploads; 0 unlimited. */
    int setFileUploadRate(int64_t bytesPerSec) { return CRVideo_SetFileUploadRate(bytesPerSec); }
    /** CRVideo_SetFileDownloadRate: bytes per second across all downloads; 0 unlimited. */
    int setFileDownloadRate(int64_t bytesPerSec) { return CRVideo_SetFileDownloadRate(bytesPerSec); }

    // ---- Local recording ----

    /** CRVideo_StartRecording: {"recordPath":"/dir/name.mp4","audioType":3,"frameRate":15,
        "width":1280,"height":720,"bitRate":1000000,"recDataType":0}; then
        RecordStateChanged 1, 2, 4, 0 (the file complete), or RecordErr. */
    int startRecording(std::string_view recordCfgJson) {
        return CRVideo_StartRecording(detail::cstr(recordCfgJson).c_str());
    }
    /** CRVideo_SetRecordVideos: [{"left","top","width","height","keepAspectRatio",
        "param":{"type":0 camera|1 picture|2 screen|3 media|4 time,"camid"|"resourceid"}}]. */
    int setRecordVideos(std::string_view layoutJson) {
        return CRVideo_SetRecordVideos(detail::cstr(layoutJson).c_str());
    }
    /** CRVideo_StopRecording: RecordStateChanged 4, then 0 once the file is complete. */
    int stopRecording() { return CRVideo_StopRecording(); }
    /** CRVideo_GetAllRecordFiles: [{"fileName","size","state","uploadPercent"}]. */
    std::string getAllRecordFiles() { return detail::take(CRVideo_GetAllRecordFiles()); }
    /** CRVideo_UploadRecordFile: to the net disk; NotifyRecordFileStateChanged 1, progress,
        state 2, or UploadRecordFileErr and state 0. */
    int uploadRecordFile(std::string_view fileName) {
        return CRVideo_UploadRecordFile(detail::cstr(fileName).c_str());
    }
    /** CRVideo_CancelUploadRecordFile: NotifyRecordFileStateChanged(fileName, 0). */
    int cancelUploadRecordFile(std::string_view fileName) {
        return CRVideo_CancelUploadRecordFile(detail::cstr(fileName).c_str());
    }

    // Shared media playback -------------------------------------------------------------

    /** CRVideo_StartPlayMedia: NotifyMediaOpened, then every member's NotifyMediaStart (or
        NotifyMediaStop with 2, 3, 4, 5). ERR_BUSY: another member plays. */
    int startPlayMedia(std::string_view filename, bool locPlay = false,
                       bool pauseWhenFinished = false) {
        return CRVideo_StartPlayMedia(detail::cstr(filename).c_str(), locPlay, pauseWhenFinished);
    }
    /** CRVideo_PausePlayMedia: every member's NotifyMediaPause. */
    int pausePlayMedia(bool pause) { return CRVideo_PausePlayMedia(pause); }
    /** CRVideo_SetMediaPlayPos: every member's NotifyPlayPosSetted. */
    int setMediaPlayPos(int64_t posMs) { return CRVideo_SetMediaPlayPos(posMs); }
    /** CRVideo_StopPlayMedia: every member's NotifyMediaStop(userID, 0). */
    int stopPlayMedia() { return CRVideo_StopPlayMedia(); }
    /** CRVideo_GetMediaImg: the newest picture of userID's media into *img. */
    int getMediaImg(std::string_view userID, int format, int maxWidth, int maxHeight,
                    VideoImg* img) {
        CRVideo_VideoImg* raw = nullptr;
        int rc = CRVideo_GetMediaImg(detail::cstr(userID).c_str(), format, maxWidth, maxHeight,
                                     &raw);
        *img = VideoImg(raw, CRVideo_FreeVideoImg);
        return rc;
    }
    /** CRVideo_GetMediaInfo: {"userID","state","mediaName"}; state 0 playing, 1 paused,
        2 none. */
    std::string getMediaInfo() { return detail::take(CRVideo_GetMediaInfo()); }

private:
    Mgr() = default;
    ~Mgr() = default;
};

}  // namespace CRVideo

#endif  // CRVIDEOSDK_HPP
