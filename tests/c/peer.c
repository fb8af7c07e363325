/* peer: one SDK instance driven line by line, so the Rust tests can run several users in
 * several processes. Compiled with -std=c99 -Wall -Wextra -Werror against the generated
 * header by tests/common/peer.rs.
 *
 * stdin, one command per line, fields separated by TABs:
 *   init <json> | login <tenant> <pswd> <nick> <user> <cookie> | logout | uninit
 *   dnd <value> <cookie> | get_status <cookie> | notify_start <cookie> | notify_stop <cookie>
 *   create_meeting <subject> <createPswd> <cookie> | destroy_meeting <id> <cookie>
 *   get_meetings <cookie> | call <callee> <meetObj> <usrExtDat> <cookie>
 *   accept <callID> <meetObj> <usrExtDat> <cookie> | reject <callID> <usrExtDat> <cookie>
 *   hangup <callID> <usrExtDat> <cookie> | invite <called> <meetObj> <cookie>
 *   cancel_invite <inviteID> <cookie>
 *   send_cmd <target> <hex data> <cookie> | send_buffer <target> <hex data> <cookie>
 *   send_pattern <target> <len> <seed> <cookie>   (a SendBuffer of pattern(len, seed))
 *   send_file <target> <path> <cookie> | cancel_send <taskID>
 *   slow <ms>   (every data callback sleeps that long: a slow app)
 *   queue_init <cookie> | queue_refresh | start_queuing <queID> <usrExtDat> <cookie>
 *   stop_queuing <cookie> | start_service <queID> <prio> <cookie> | stop_service <queID> <cookie>
 *   req_assign <cookie> | accept_assign <queID> <usrID> <cookie> | reject_assign <queID> <usrID> <cookie>
 *   all_queue_info | queue_status <queID> | queuing_info | serving_queues   (print the JSON as RC)
 *   enter <meetID> <pswd> | exit_meeting | stop_meeting | members (JSON as RC)
 *   open_mic <user> | close_mic <user> | open_video <user> | close_video <user>
 *   im <text> <toUserID> <cookie>   (the task ID as RC)
 *   start_share | stop_share | give_ctrl <user> | release_ctrl <user> | page <main> <id>
 *   wall <mode> | main_video <user>
 *   create_board <title> <width> <height> <pageCount>   (the ID as RC, or NULL:<last error>)
 *   close_board <boardID> | element_id (the ID as RC) | add_el <boardID> <page> <json>
 *   mod_el <boardID> <page> <json> | del_el <boardID> <page> <ids> | hot_spot <boardID> <page> <x> <y>
 * Received commands print their bytes in hex; buffers print their length and FNV-1a-64.
 * Each command prints "RC<TAB><return value>" (for call and invite: the returned ID, or
 * "NULL"). Every callback prints one line: its name,
 * then its arguments, TAB-separated. stdout is flushed after every line. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <dirent.h>
#endif

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&out_lock);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud;
    emit("LoginSuccess\t%s\t%s", usrID, cookie);
}
static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("LoginFail\t%d\t%s", sdkErr, cookie);
}
static void on_line_off(void *ud, int sdkErr) {
    (void)ud;
    emit("LineOff\t%d", sdkErr);
}
static void on_dnd_ok(void *ud, const char *cookie) {
    (void)ud;
    emit("SetDNDStatusSuccess\t%s", cookie);
}
static void on_dnd_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("SetDNDStatusFail\t%d\t%s", sdkErr, cookie);
}
static void on_status_ok(void *ud, const char *json, const char *cookie) {
    (void)ud;
    emit("GetUserStatusSuccess\t%s\t%s", json, cookie);
}
static void on_status_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("GetUserStatusFail\t%d\t%s", sdkErr, cookie);
}
static void on_notify_start(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("StartUserStatusNotifyRslt\t%d\t%s", sdkErr, cookie);
}
static void on_notify(void *ud, const char *json, const char *cookie) {
    (void)ud;
    emit("NotifyUserStatus\t%s\t%s", json, cookie);
}
static void on_notify_stop(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("StopUserStatusNotifyRslt\t%d\t%s", sdkErr, cookie);
}

static void on_create_ok(void *ud, const char *json, const char *cookie) {
    (void)ud;
    emit("CreateMeetingSuccess\t%s\t%s", json, cookie);
}
static void on_create_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("CreateMeetingFail\t%d\t%s", sdkErr, cookie);
}
static void on_destroy(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("DestroyMeetingRslt\t%d\t%s", sdkErr, cookie);
}
static void on_meetings_ok(void *ud, const char *json, const char *cookie) {
    (void)ud;
    emit("GetMeetingsSuccess\t%s\t%s", json, cookie);
}
static void on_meetings_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("GetMeetingsFail\t%d\t%s", sdkErr, cookie);
}
/* The call results all have the shape (id, cookie) or (id, sdkErr, cookie). */
#define ID_OK(name)                                                      \
    static void on_##name(void *ud, const char *id, const char *cookie) { \
        (void)ud;                                                        \
        emit(#name "\t%s\t%s", id, cookie);                              \
    }
#define ID_ERR(name)                                                                 \
    static void on_##name(void *ud, const char *id, int sdkErr, const char *cookie) { \
        (void)ud;                                                                    \
        emit(#name "\t%s\t%d\t%s", id, sdkErr, cookie);                             \
    }
ID_OK(CallSuccess)
ID_ERR(CallFail)
ID_OK(AcceptCallSuccess)
ID_ERR(AcceptCallFail)
ID_OK(RejectCallSuccess)
ID_ERR(RejectCallFail)
ID_OK(HangupCallSuccess)
ID_ERR(HangupCallFail)
ID_ERR(ClientInviteRslt)
ID_ERR(ClientCancelInviteRslt)
static void on_call_in(void *ud, const char *id, const char *meetObj, const char *caller, const char *ext) {
    (void)ud;
    emit("NotifyCallIn\t%s\t%s\t%s\t%s", id, meetObj, caller, ext);
}
static void on_call_accepted(void *ud, const char *id, const char *meetObj, const char *ext) {
    (void)ud;
    emit("NotifyCallAccepted\t%s\t%s\t%s", id, meetObj, ext);
}
static void on_call_rejected(void *ud, const char *id, int sdkErr, const char *ext) {
    (void)ud;
    emit("NotifyCallRejected\t%s\t%d\t%s", id, sdkErr, ext);
}
static void on_call_hungup(void *ud, const char *id, const char *ext) {
    (void)ud;
    emit("NotifyCallHungup\t%s\t%s", id, ext);
}
static void on_invite_status(void *ud, const char *id, int status) {
    (void)ud;
    emit("NotifyInviteStatus\t%s\t%d", id, status);
}

static volatile int slow_ms;

static void nap(void) {
    if (slow_ms > 0) {
        struct timespec t;
        t.tv_sec = slow_ms / 1000;
        t.tv_nsec = (long)(slow_ms % 1000) * 1000000L;
        nanosleep(&t, NULL);
    }
}

static unsigned long long fnv1a(const uint8_t *data, size_t len) {
    unsigned long long h = 14695981039346656037ULL;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The test pattern: byte i of pattern(len, seed), NULs included. */
static uint8_t pattern_byte(size_t i, unsigned seed) {
    return (uint8_t)((i * 131u + seed + (i >> 11)) & 0xff);
}

static char *to_hex(const uint8_t *data, size_t len) {
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(len * 2 + 1);
    size_t i;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

static uint8_t *from_hex(const char *hex, size_t *len) {
    size_t n = strlen(hex) / 2, i;
    uint8_t *out = malloc(n + 1);
    for (i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    *len = n;
    return out;
}

static void on_send_cmd_rslt(void *ud, const char *id, int sdkErr, const char *cookie) {
    (void)ud;
    emit("SendCmdRlst\t%s\t%d\t%s", id, sdkErr, cookie);
}
static void on_send_buffer_rslt(void *ud, const char *id, int sdkErr, const char *cookie) {
    (void)ud;
    emit("SendBufferRlst\t%s\t%d\t%s", id, sdkErr, cookie);
}
static void on_send_file_rslt(void *ud, const char *id, const char *file, int sdkErr, const char *cookie) {
    (void)ud;
    emit("SendFileRlst\t%s\t%s\t%d\t%s", id, file, sdkErr, cookie);
}
static void on_progress(void *ud, const char *id, int64_t sent, int64_t total, const char *cookie) {
    (void)ud;
    emit("SendProgress\t%s\t%lld\t%lld\t%s", id, (long long)sent, (long long)total, cookie);
}
static void on_cancel_rslt(void *ud, const char *id, int sdkErr, const char *cookie) {
    (void)ud;
    emit("CancelSendRlst\t%s\t%d\t%s", id, sdkErr, cookie);
}
static void on_cmd_data(void *ud, const char *source, const uint8_t *data, size_t len) {
    char *hex = to_hex(data, len);
    (void)ud;
    nap();
    emit("NotifyCmdData\t%s\t%s", source, hex);
    free(hex);
}
static void on_buffer_data(void *ud, const char *source, const uint8_t *data, size_t len) {
    (void)ud;
    nap();
    emit("NotifyBufferData\t%s\t%lu\t%016llx", source, (unsigned long)len, fnv1a(data, len));
}
static void on_file_data(void *ud, const char *source, const char *tmpFile, const char *orgName) {
    (void)ud;
    nap();
    emit("NotifyFileData\t%s\t%s\t%s", source, tmpFile, orgName);
}
static void on_cancel_send(void *ud, const char *id) {
    (void)ud;
    emit("NotifyCancelSend\t%s", id);
}

static void on_queue_init(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("InitQueueDatRslt\t%d\t%s", sdkErr, cookie);
}
static void on_queue_status(void *ud, const char *json) {
    (void)ud;
    emit("QueueStatusChanged\t%s", json);
}
static void on_queuing_info(void *ud, const char *json) {
    (void)ud;
    emit("QueuingInfoChanged\t%s", json);
}
static void on_start_queuing(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("StartQueuingRslt\t%d\t%s", sdkErr, cookie);
}
static void on_stop_queuing(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("StopQueuingRslt\t%d\t%s", sdkErr, cookie);
}
static void on_start_service(void *ud, int queID, int sdkErr, const char *cookie) {
    (void)ud;
    emit("StartServiceRslt\t%d\t%d\t%s", queID, sdkErr, cookie);
}
static void on_stop_service(void *ud, int queID, int sdkErr, const char *cookie) {
    (void)ud;
    emit("StopServiceRslt\t%d\t%d\t%s", queID, sdkErr, cookie);
}
static void on_response_assign(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    emit("ResponseAssignUserRslt\t%d\t%s", sdkErr, cookie);
}
static void on_auto_assign(void *ud, const char *json) {
    (void)ud;
    emit("AutoAssignUser\t%s", json);
}
static void on_req_assign(void *ud, int sdkErr, const char *json, const char *cookie) {
    (void)ud;
    emit("ReqAssignUserRslt\t%d\t%s\t%s", sdkErr, json, cookie);
}
static void on_cancel_assign(void *ud, int queID, const char *usrID) {
    (void)ud;
    emit("CancelAssignUser\t%d\t%s", queID, usrID);
}

static void on_enter(void *ud, int sdkErr) {
    (void)ud;
    emit("EnterMeetingRslt\t%d", sdkErr);
}
static void on_user_enter(void *ud, const char *userID) {
    (void)ud;
    emit("UserEnterMeeting\t%s", userID);
}
static void on_user_left(void *ud, const char *userID) {
    (void)ud;
    emit("UserLeftMeeting\t%s", userID);
}
static void on_stop(void *ud, int sdkErr) {
    (void)ud;
    emit("StopMeetingRslt\t%d", sdkErr);
}
static void on_stopped(void *ud) {
    (void)ud;
    emit("MeetingStopped");
}
static void on_dropped(void *ud) {
    (void)ud;
    emit("MeetingDropped");
}
static void on_audio(void *ud, const char *userID, int oldStatus, int newStatus) {
    (void)ud;
    emit("AudioStatusChanged\t%s\t%d\t%d", userID, oldStatus, newStatus);
}
static void on_video(void *ud, const char *userID, int oldStatus, int newStatus) {
    (void)ud;
    emit("VideoStatusChanged\t%s\t%d\t%d", userID, oldStatus, newStatus);
}
static void on_im_rslt(void *ud, const char *taskID, int sdkErr, const char *cookie) {
    (void)ud;
    emit("SendIMmsgRlst\t%s\t%d\t%s", taskID, sdkErr, cookie);
}
static void on_im(void *ud, const char *from, const char *text, int64_t sendTime) {
    (void)ud;
    emit("NotifyIMmsg\t%s\t%s\t%lld", from, text, (long long)sendTime);
}
static void on_share_rslt(void *ud, int sdkErr) {
    (void)ud;
    emit("StartScreenShareRslt\t%d", sdkErr);
}
static void on_unshare_rslt(void *ud, int sdkErr) {
    (void)ud;
    emit("StopScreenShareRslt\t%d", sdkErr);
}
static void on_share_started(void *ud) {
    (void)ud;
    emit("NotifyScreenShareStarted");
}
static void on_share_stopped(void *ud) {
    (void)ud;
    emit("NotifyScreenShareStopped");
}
static void on_give_ctrl(void *ud, const char *operId, const char *targetId) {
    (void)ud;
    emit("NotifyGiveCtrlRight\t%s\t%s", operId, targetId);
}
static void on_release_ctrl(void *ud, const char *operId, const char *targetId) {
    (void)ud;
    emit("NotifyReleaseCtrlRight\t%s\t%s", operId, targetId);
}
static void on_page(void *ud, int mainPage, const char *pageID) {
    (void)ud;
    emit("NotifySwitchToPage\t%d\t%s", mainPage, pageID);
}
static void on_wall(void *ud, int mode) {
    (void)ud;
    emit("NotifyVideoWallMode\t%d", mode);
}
static void on_main_video(void *ud, const char *operId, const char *targetId) {
    (void)ud;
    emit("NotifyMainVideoChanged\t%s\t%s", operId, targetId);
}

static void on_net_state(void *ud, int level) {
    (void)ud;
    emit("NetStateChanged\t%d", level);
}

static void on_init_boards(void *ud, const char *boardsJson) {
    (void)ud;
    emit("NotifyInitBoards\t%s", boardsJson);
}
static void on_init_page(void *ud, const char *boardID, int pageNo, const char *imgID,
                         const char *elementsJson, const char *operatorID) {
    (void)ud;
    emit("NotifyInitBoardPageDat\t%s\t%d\t%s\t%s\t%s", boardID, pageNo, imgID, elementsJson,
         operatorID);
}
static void on_create_board(void *ud, const char *boardJson, const char *operatorID) {
    (void)ud;
    emit("NotifyCreateBoard\t%s\t%s", boardJson, operatorID);
}
static void on_close_board(void *ud, const char *boardID, const char *operatorID) {
    (void)ud;
    emit("NotifyCloseBoard\t%s\t%s", boardID, operatorID);
}
static void on_add_element(void *ud, const char *boardID, int pageNo, const char *elementJson,
                           const char *operatorID) {
    (void)ud;
    emit("NotifyAddBoardElement\t%s\t%d\t%s\t%s", boardID, pageNo, elementJson, operatorID);
}
static void on_modify_element(void *ud, const char *boardID, int pageNo, const char *elementJson,
                              const char *operatorID) {
    (void)ud;
    emit("NotifyModifyBoardElement\t%s\t%d\t%s\t%s", boardID, pageNo, elementJson, operatorID);
}
static void on_del_elements(void *ud, const char *boardID, int pageNo, const char *elementIDs,
                            const char *operatorID) {
    (void)ud;
    emit("NotifyDelBoardElement\t%s\t%d\t%s\t%s", boardID, pageNo, elementIDs, operatorID);
}
static void on_hot_spot(void *ud, const char *boardID, int x, int y, const char *operatorID) {
    (void)ud;
    emit("NotifyMouseHotSpot\t%s\t%d\t%d\t%s", boardID, x, y, operatorID);
}

static void on_reconnecting(void *ud) {
    (void)ud;
    emit("Reconnecting");
}
static void on_reconnected(void *ud) {
    (void)ud;
    emit("Reconnected");
}

static void register_callbacks(void) {
    CRVideo_Callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.LineOff = on_line_off;
    cbs.SetDNDStatusSuccess = on_dnd_ok;
    cbs.SetDNDStatusFail = on_dnd_fail;
    cbs.GetUserStatusSuccess = on_status_ok;
    cbs.GetUserStatusFail = on_status_fail;
    cbs.StartUserStatusNotifyRslt = on_notify_start;
    cbs.NotifyUserStatus = on_notify;
    cbs.StopUserStatusNotifyRslt = on_notify_stop;
    cbs.CreateMeetingSuccess = on_create_ok;
    cbs.CreateMeetingFail = on_create_fail;
    cbs.DestroyMeetingRslt = on_destroy;
    cbs.GetMeetingsSuccess = on_meetings_ok;
    cbs.GetMeetingsFail = on_meetings_fail;
    cbs.CallSuccess = on_CallSuccess;
    cbs.CallFail = on_CallFail;
    cbs.AcceptCallSuccess = on_AcceptCallSuccess;
    cbs.AcceptCallFail = on_AcceptCallFail;
    cbs.RejectCallSuccess = on_RejectCallSuccess;
    cbs.RejectCallFail = on_RejectCallFail;
    cbs.HangupCallSuccess = on_HangupCallSuccess;
    cbs.HangupCallFail = on_HangupCallFail;
    cbs.ClientInviteRslt = on_ClientInviteRslt;
    cbs.ClientCancelInviteRslt = on_ClientCancelInviteRslt;
    cbs.NotifyCallIn = on_call_in;
    cbs.NotifyCallAccepted = on_call_accepted;
    cbs.NotifyCallRejected = on_call_rejected;
    cbs.NotifyCallHungup = on_call_hungup;
    cbs.NotifyInviteStatus = on_invite_status;
    cbs.SendCmdRlst = on_send_cmd_rslt;
    cbs.SendBufferRlst = on_send_buffer_rslt;
    cbs.SendFileRlst = on_send_file_rslt;
    cbs.SendProgress = on_progress;
    cbs.CancelSendRlst = on_cancel_rslt;
    cbs.NotifyCmdData = on_cmd_data;
    cbs.NotifyBufferData = on_buffer_data;
    cbs.NotifyFileData = on_file_data;
    cbs.NotifyCancelSend = on_cancel_send;
    cbs.InitQueueDatRslt = on_queue_init;
    cbs.QueueStatusChanged = on_queue_status;
    cbs.QueuingInfoChanged = on_queuing_info;
    cbs.StartQueuingRslt = on_start_queuing;
    cbs.StopQueuingRslt = on_stop_queuing;
    cbs.StartServiceRslt = on_start_service;
    cbs.StopServiceRslt = on_stop_service;
    cbs.ResponseAssignUserRslt = on_response_assign;
    cbs.AutoAssignUser = on_auto_assign;
    cbs.ReqAssignUserRslt = on_req_assign;
    cbs.CancelAssignUser = on_cancel_assign;
    cbs.EnterMeetingRslt = on_enter;
    cbs.UserEnterMeeting = on_user_enter;
    cbs.UserLeftMeeting = on_user_left;
    cbs.StopMeetingRslt = on_stop;
    cbs.MeetingStopped = on_stopped;
    cbs.MeetingDropped = on_dropped;
    cbs.AudioStatusChanged = on_audio;
    cbs.VideoStatusChanged = on_video;
    cbs.SendIMmsgRlst = on_im_rslt;
    cbs.NotifyIMmsg = on_im;
    cbs.StartScreenShareRslt = on_share_rslt;
    cbs.StopScreenShareRslt = on_unshare_rslt;
    cbs.NotifyScreenShareStarted = on_share_started;
    cbs.NotifyScreenShareStopped = on_share_stopped;
    cbs.NotifyGiveCtrlRight = on_give_ctrl;
    cbs.NotifyReleaseCtrlRight = on_release_ctrl;
    cbs.NotifySwitchToPage = on_page;
    cbs.NotifyVideoWallMode = on_wall;
    cbs.NotifyMainVideoChanged = on_main_video;
    cbs.NetStateChanged = on_net_state;
    cbs.NotifyInitBoards = on_init_boards;
    cbs.NotifyInitBoardPageDat = on_init_page;
    cbs.NotifyCreateBoard = on_create_board;
    cbs.NotifyCloseBoard = on_close_board;
    cbs.NotifyAddBoardElement = on_add_element;
    cbs.NotifyModifyBoardElement = on_modify_element;
    cbs.NotifyDelBoardElement = on_del_elements;
    cbs.NotifyMouseHotSpot = on_hot_spot;
    cbs.Reconnecting = on_reconnecting;
    cbs.Reconnected = on_reconnected;
    CRVideo_SetCallbacks(&cbs, NULL);
}

/* Splits `line` at TABs in place; returns the number of fields. */
static int split(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }
    return n;
}

/* The i-th argument, or "" when absent. */
#define ARG(i) (n > (i) ? f[i] : "")

/* Prints the string an ID- or JSON-returning call gave (as the command's result), and frees
 * it. */
static void emit_id(char *id) {
    if (id == NULL) {
        emit("RC\tNULL");
    } else {
        emit("RC\t%s", id);
        CRVideo_FreeString(id);
    }
}

/* Prints "RC\t" and the names of this process's SDK threads (`crvideo-*`), comma-separated,
   or "none" (Linux: /proc/self/task; elsewhere always "none"). */
static void emit_sdk_threads(void) {
    char names[4096] = "";
#ifdef __linux__
    DIR *dir = opendir("/proc/self/task");
    struct dirent *entry;
    while (dir != NULL && (entry = readdir(dir)) != NULL) {
        char path[300];
        char comm[64] = "";
        FILE *fp;
        if (entry->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        fp = fopen(path, "r");
        if (fp == NULL) {
            continue; /* the thread ended meanwhile */
        }
        if (fgets(comm, sizeof comm, fp) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';
            if (strncmp(comm, "crvideo-", 8) == 0 &&
                strlen(names) + strlen(comm) + 2 < sizeof names) {
                if (names[0] != '\0') {
                    strcat(names, ",");
                }
                strcat(names, comm);
            }
        }
        fclose(fp);
    }
    if (dir != NULL) {
        closedir(dir);
    }
#endif
    emit("RC\t%s", names[0] != '\0' ? names : "none");
}

int main(void) {
    static char line[1 << 18];
    char *f[16];
    while (fgets(line, sizeof line, stdin) != NULL) {
        int n, rc;
        line[strcspn(line, "\r\n")] = '\0';
        n = split(line, f, 16);
        if (strcmp(f[0], "init") == 0) {
            rc = CRVideo_Init(ARG(1));
            if (rc == 0) {
                register_callbacks();
            }
        } else if (strcmp(f[0], "login") == 0) {
            rc = CRVideo_Login(ARG(1), ARG(2), ARG(3), ARG(4), "", ARG(5));
        } else if (strcmp(f[0], "logout") == 0) {
            rc = CRVideo_Logout();
        } else if (strcmp(f[0], "uninit") == 0) {
            CRVideo_Uninit();
            rc = 0;
        } else if (strcmp(f[0], "sdk_threads") == 0) {
            emit_sdk_threads();
            continue;
        } else if (strcmp(f[0], "dnd") == 0) {
            rc = CRVideo_SetDNDStatus(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "get_status") == 0) {
            rc = CRVideo_GetUserStatus(ARG(1));
        } else if (strcmp(f[0], "notify_start") == 0) {
            rc = CRVideo_StartUserStatusNotify(ARG(1));
        } else if (strcmp(f[0], "notify_stop") == 0) {
            rc = CRVideo_StopUserStatusNotify(ARG(1));
        } else if (strcmp(f[0], "create_meeting") == 0) {
            rc = CRVideo_CreateMeeting(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "destroy_meeting") == 0) {
            rc = CRVideo_DestroyMeeting(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "get_meetings") == 0) {
            rc = CRVideo_GetMeetings(ARG(1));
        } else if (strcmp(f[0], "call") == 0) {
            emit_id(CRVideo_Call(ARG(1), ARG(2), ARG(3), ARG(4)));
            continue;
        } else if (strcmp(f[0], "accept") == 0) {
            rc = CRVideo_AcceptCall(ARG(1), ARG(2), ARG(3), ARG(4));
        } else if (strcmp(f[0], "reject") == 0) {
            rc = CRVideo_RejectCall(ARG(1), ARG(2), ARG(3));
        } else if (strcmp(f[0], "hangup") == 0) {
            rc = CRVideo_HungupCall(ARG(1), ARG(2), ARG(3));
        } else if (strcmp(f[0], "invite") == 0) {
            emit_id(CRVideo_ClientInvite(ARG(1), ARG(2), ARG(3)));
            continue;
        } else if (strcmp(f[0], "cancel_invite") == 0) {
            rc = CRVideo_ClientCancelInvite(ARG(1), ARG(2));
        } else if (strcmp(f[0], "send_cmd") == 0 || strcmp(f[0], "send_buffer") == 0) {
            size_t len;
            uint8_t *data = from_hex(ARG(2), &len);
            if (strcmp(f[0], "send_cmd") == 0) {
                emit_id(CRVideo_SendCmd(ARG(1), data, len, ARG(3)));
            } else {
                emit_id(CRVideo_SendBuffer(ARG(1), data, len, ARG(3)));
            }
            free(data); /* the SDK copied what it needs */
            continue;
        } else if (strcmp(f[0], "send_pattern") == 0) {
            size_t len = (size_t)strtoull(ARG(2), NULL, 10), i;
            unsigned seed = (unsigned)atoi(ARG(3));
            uint8_t *data = malloc(len + 1);
            for (i = 0; i < len; i++) {
                data[i] = pattern_byte(i, seed);
            }
            emit_id(CRVideo_SendBuffer(ARG(1), data, len, ARG(4)));
            free(data);
            continue;
        } else if (strcmp(f[0], "send_file") == 0) {
            emit_id(CRVideo_SendFile(ARG(1), ARG(2), ARG(3)));
            continue;
        } else if (strcmp(f[0], "cancel_send") == 0) {
            rc = CRVideo_CancelSend(ARG(1));
        } else if (strcmp(f[0], "queue_init") == 0) {
            rc = CRVideo_InitQueueDat(ARG(1));
        } else if (strcmp(f[0], "queue_refresh") == 0) {
            rc = CRVideo_RefreshAllQueueStatus();
        } else if (strcmp(f[0], "start_queuing") == 0) {
            rc = CRVideo_StartQueuing(atoi(ARG(1)), ARG(2), ARG(3));
        } else if (strcmp(f[0], "stop_queuing") == 0) {
            rc = CRVideo_StopQueuing(ARG(1));
        } else if (strcmp(f[0], "start_service") == 0) {
            rc = CRVideo_StartService(atoi(ARG(1)), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "stop_service") == 0) {
            rc = CRVideo_StopService(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "req_assign") == 0) {
            rc = CRVideo_ReqAssignUser(ARG(1));
        } else if (strcmp(f[0], "accept_assign") == 0) {
            rc = CRVideo_AcceptAssignUser(atoi(ARG(1)), ARG(2), ARG(3));
        } else if (strcmp(f[0], "reject_assign") == 0) {
            rc = CRVideo_RejectAssignUser(atoi(ARG(1)), ARG(2), ARG(3));
        } else if (strcmp(f[0], "all_queue_info") == 0) {
            emit_id(CRVideo_GetAllQueueInfo());
            continue;
        } else if (strcmp(f[0], "queue_status") == 0) {
            emit_id(CRVideo_GetQueueStatus(atoi(ARG(1))));
            continue;
        } else if (strcmp(f[0], "queuing_info") == 0) {
            emit_id(CRVideo_GetQueuingInfo());
            continue;
        } else if (strcmp(f[0], "serving_queues") == 0) {
            emit_id(CRVideo_GetServingQueues());
            continue;
        } else if (strcmp(f[0], "enter") == 0) {
            rc = CRVideo_EnterMeeting(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "exit_meeting") == 0) {
            rc = CRVideo_ExitMeeting();
        } else if (strcmp(f[0], "stop_meeting") == 0) {
            rc = CRVideo_StopMeeting();
        } else if (strcmp(f[0], "members") == 0) {
            emit_id(CRVideo_GetAllMembers());
            continue;
        } else if (strcmp(f[0], "open_mic") == 0) {
            rc = CRVideo_OpenMic(ARG(1));
        } else if (strcmp(f[0], "close_mic") == 0) {
            rc = CRVideo_CloseMic(ARG(1));
        } else if (strcmp(f[0], "open_video") == 0) {
            rc = CRVideo_OpenVideo(ARG(1));
        } else if (strcmp(f[0], "close_video") == 0) {
            rc = CRVideo_CloseVideo(ARG(1));
        } else if (strcmp(f[0], "im") == 0) {
            emit_id(CRVideo_SendIMmsg(ARG(1), ARG(2), ARG(3)));
            continue;
        } else if (strcmp(f[0], "start_share") == 0) {
            rc = CRVideo_StartScreenShare();
        } else if (strcmp(f[0], "stop_share") == 0) {
            rc = CRVideo_StopScreenShare();
        } else if (strcmp(f[0], "give_ctrl") == 0) {
            rc = CRVideo_GiveCtrlRight(ARG(1));
        } else if (strcmp(f[0], "release_ctrl") == 0) {
            rc = CRVideo_ReleaseCtrlRight(ARG(1));
        } else if (strcmp(f[0], "page") == 0) {
            rc = CRVideo_SwitchToPage(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "wall") == 0) {
            rc = CRVideo_SetVideoWallMode(atoi(ARG(1)));
        } else if (strcmp(f[0], "main_video") == 0) {
            rc = CRVideo_SetMainVideo(ARG(1));
        } else if (strcmp(f[0], "create_board") == 0) {
            char *id = CRVideo_CreateBoard(ARG(1), atoi(ARG(2)), atoi(ARG(3)), atoi(ARG(4)));
            if (id == NULL) {
                emit("RC\tNULL:%d", CRVideo_GetLastError());
            } else {
                emit_id(id);
            }
            continue;
        } else if (strcmp(f[0], "close_board") == 0) {
            rc = CRVideo_CloseBoard(ARG(1));
        } else if (strcmp(f[0], "element_id") == 0) {
            emit_id(CRVideo_CreateElementID());
            continue;
        } else if (strcmp(f[0], "add_el") == 0) {
            rc = CRVideo_AddBoardElement(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "mod_el") == 0) {
            rc = CRVideo_ModifyBoardElement(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "del_el") == 0) {
            rc = CRVideo_DelBoardElement(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "hot_spot") == 0) {
            rc = CRVideo_SetMouseHotSpot(ARG(1), atoi(ARG(2)), atoi(ARG(3)), atoi(ARG(4)));
        } else if (strcmp(f[0], "slow") == 0) {
            slow_ms = atoi(ARG(1));
            rc = 0;
        } else {
            rc = -1;
        }
        emit("RC\t%d", rc);
    }
    CRVideo_Uninit();
    return 0;
}
