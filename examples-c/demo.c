/* demo.c: one user of the CRVideo SDK, as a C application would write it.
 *
 * Usage: demo HOST:PORT USER PEER caller|callee INBOX_DIR
 * scripts/demo.sh runs two of these (alice calling bob, bob answering) against a local
 * crvideo-server. Every callback is printed with the user's name in front.
 *
 * The session: log in; watch the peer's presence (subscribe, then list); the caller creates
 * a meeting and calls the peer with it, the callee accepts, the caller hangs up and
 * destroys the meeting; the caller sends the callee a command, a buffer and a file (with
 * progress), which land in the callee's INBOX_DIR; both turn on do-not-disturb and wait to
 * see the peer do the same; log out. Exits 0 when all went well. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *me;
static const char *peer;

/* What the callbacks learned, guarded by `lock`; main waits on `changed`. Callbacks run on
 * the SDK's dispatch thread, so shared state needs the lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in;     /* 1 after LoginSuccess */
static int failed;        /* an sdkErr from a failure callback */
static int subscribed;    /* 1 after StartUserStatusNotifyRslt(0) */
static int listed;        /* 1 after GetUserStatusSuccess */
static int peer_status;   /* the peer's userStatus: 0 offline, 1 online, 2 busy, 3 meeting */
static int peer_seen_online; /* 1 once the peer had any status but offline */
static int peer_seen_dnd;    /* 1 once the peer had do-not-disturb on (it may log out after) */
static int peer_dnd;      /* the peer's DNDType */
static char meeting[512]; /* the MeetInfoObj the caller created */
static int meeting_id;
static int meeting_ready; /* 1 after CreateMeetingSuccess */
static char call_id[128]; /* the call in progress */
static int call_stage;    /* 1 ringing, 2 accepted, 3 ended */
static int destroyed;     /* 1 after DestroyMeetingRslt(0) */
static int dnd_set;       /* 1 after SetDNDStatusSuccess */
static int sends_done;    /* caller: SendCmdRlst + SendBufferRlst + SendFileRlst with 0 */
static int received;      /* callee: NotifyCmdData + NotifyBufferData + NotifyFileData */

static void bump(int *counter) {
    pthread_mutex_lock(&lock);
    (*counter)++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void update(int *field, int value) {
    pthread_mutex_lock(&lock);
    *field = value;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Finds the peer's UserStatusObj in `json` (one object or an array of them) and records
 * its status. A real app would use a JSON parser; the SDK's objects are compact and their
 * field order fixed, which is enough for a demo. */
static void note_peer_status(const char *json) {
    char key[160];
    const char *obj;
    int status, dnd;
    snprintf(key, sizeof key, "{\"userID\":\"%s\",", peer);
    obj = strstr(json, key);
    if (obj != NULL && sscanf(obj + strlen(key), "\"userStatus\":%d,\"DNDType\":%d", &status, &dnd) == 2) {
        pthread_mutex_lock(&lock);
        peer_status = status;
        peer_dnd = dnd;
        if (status != 0) {
            /* Online in any way: idle, or already busy calling us. */
            peer_seen_online = 1;
        }
        if (dnd != 0) {
            peer_seen_dnd = 1;
        }
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
    }
}

static void on_login_success(void *userData, const char *usrID, const char *cookie) {
    (void)userData;
    printf("[%s] LoginSuccess usrID=%s cookie=%s\n", me, usrID, cookie);
    update(&logged_in, 1);
}

static void on_login_fail(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] LoginFail sdkErr=%d (%s) cookie=%s\n", me, sdkErr, CRVideo_GetErrorDesc(sdkErr), cookie);
    update(&failed, sdkErr);
}

static void on_line_off(void *userData, int sdkErr) {
    (void)userData;
    printf("[%s] LineOff sdkErr=%d (%s)\n", me, sdkErr, CRVideo_GetErrorDesc(sdkErr));
    update(&failed, sdkErr);
}

static void on_notify_start(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] StartUserStatusNotifyRslt sdkErr=%d cookie=%s\n", me, sdkErr, cookie);
    if (sdkErr == CRVIDEOSDK_NOERR) {
        update(&subscribed, 1);
    } else {
        update(&failed, sdkErr);
    }
}

static void on_status_list(void *userData, const char *usersStatusJson, const char *cookie) {
    (void)userData;
    printf("[%s] GetUserStatusSuccess %s cookie=%s\n", me, usersStatusJson, cookie);
    note_peer_status(usersStatusJson);
    update(&listed, 1);
}

static void on_status_fail(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] GetUserStatusFail sdkErr=%d cookie=%s\n", me, sdkErr, cookie);
    update(&failed, sdkErr);
}

static void on_notify(void *userData, const char *userStatusJson, const char *cookie) {
    (void)userData;
    printf("[%s] NotifyUserStatus %s cookie=%s\n", me, userStatusJson, cookie);
    note_peer_status(userStatusJson);
}

static void on_dnd_ok(void *userData, const char *cookie) {
    (void)userData;
    printf("[%s] SetDNDStatusSuccess cookie=%s\n", me, cookie);
    update(&dnd_set, 1);
}

static void on_dnd_fail(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] SetDNDStatusFail sdkErr=%d cookie=%s\n", me, sdkErr, cookie);
    update(&failed, sdkErr);
}

static void on_meeting_created(void *userData, const char *meetObjJson, const char *cookie) {
    const char *id;
    (void)userData;
    printf("[%s] CreateMeetingSuccess %s cookie=%s\n", me, meetObjJson, cookie);
    id = strstr(meetObjJson, "\"ID\":");
    pthread_mutex_lock(&lock);
    snprintf(meeting, sizeof meeting, "%s", meetObjJson);
    meeting_id = id != NULL ? atoi(id + 5) : -1;
    meeting_ready = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_meeting_failed(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] CreateMeetingFail sdkErr=%d cookie=%s\n", me, sdkErr, cookie);
    update(&failed, sdkErr);
}

static void on_meeting_destroyed(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] DestroyMeetingRslt sdkErr=%d cookie=%s\n", me, sdkErr, cookie);
    update(sdkErr == 0 ? &destroyed : &failed, sdkErr == 0 ? 1 : sdkErr);
}

static void on_call_success(void *userData, const char *callID, const char *cookie) {
    (void)userData;
    printf("[%s] CallSuccess callID=%s cookie=%s\n", me, callID, cookie);
}

static void on_call_fail(void *userData, const char *callID, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] CallFail callID=%s sdkErr=%d (%s) cookie=%s\n", me, callID, sdkErr,
           CRVideo_GetErrorDesc(sdkErr), cookie);
    update(&failed, sdkErr);
}

static void on_call_in(void *userData, const char *callID, const char *meetObjJson, const char *callerID,
                       const char *usrExtDat) {
    (void)userData;
    printf("[%s] NotifyCallIn callID=%s meetObj=%s callerID=%s usrExtDat=%s\n", me, callID, meetObjJson,
           callerID, usrExtDat);
    pthread_mutex_lock(&lock);
    snprintf(call_id, sizeof call_id, "%s", callID);
    call_stage = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_call_accepted(void *userData, const char *callID, const char *meetObjJson, const char *usrExtDat) {
    (void)userData;
    printf("[%s] NotifyCallAccepted callID=%s meetObj=%s usrExtDat=%s\n", me, callID, meetObjJson, usrExtDat);
    update(&call_stage, 2);
}

static void on_accept_success(void *userData, const char *callID, const char *cookie) {
    (void)userData;
    printf("[%s] AcceptCallSuccess callID=%s cookie=%s\n", me, callID, cookie);
}

static void on_call_rejected(void *userData, const char *callID, int sdkErr, const char *usrExtDat) {
    (void)userData;
    printf("[%s] NotifyCallRejected callID=%s sdkErr=%d usrExtDat=%s\n", me, callID, sdkErr, usrExtDat);
    update(&failed, sdkErr);
}

static void on_call_hungup(void *userData, const char *callID, const char *usrExtDat) {
    (void)userData;
    printf("[%s] NotifyCallHungup callID=%s usrExtDat=%s\n", me, callID, usrExtDat);
    update(&call_stage, 3);
}

static void on_hangup_success(void *userData, const char *callID, const char *cookie) {
    (void)userData;
    printf("[%s] HangupCallSuccess callID=%s cookie=%s\n", me, callID, cookie);
    update(&call_stage, 3);
}

static void on_send_result(const char *what, const char *taskID, int sdkErr, const char *cookie) {
    printf("[%s] %s taskID=%s sdkErr=%d cookie=%s\n", me, what, taskID, sdkErr, cookie);
    if (sdkErr == CRVIDEOSDK_NOERR) {
        bump(&sends_done);
    } else {
        update(&failed, sdkErr);
    }
}

static void on_cmd_result(void *userData, const char *taskID, int sdkErr, const char *cookie) {
    (void)userData;
    on_send_result("SendCmdRlst", taskID, sdkErr, cookie);
}

static void on_buffer_result(void *userData, const char *taskID, int sdkErr, const char *cookie) {
    (void)userData;
    on_send_result("SendBufferRlst", taskID, sdkErr, cookie);
}

static void on_file_result(void *userData, const char *taskID, const char *fileName, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] (file %s)\n", me, fileName);
    on_send_result("SendFileRlst", taskID, sdkErr, cookie);
}

static void on_progress(void *userData, const char *taskID, int64_t sendedLen, int64_t totalLen, const char *cookie) {
    (void)userData;
    printf("[%s] SendProgress taskID=%s %lld/%lld cookie=%s\n", me, taskID, (long long)sendedLen,
           (long long)totalLen, cookie);
}

static void on_cmd_data(void *userData, const char *sourceUserId, const uint8_t *data, size_t len) {
    (void)userData;
    printf("[%s] NotifyCmdData from %s: %.*s\n", me, sourceUserId, (int)len, (const char *)data);
    bump(&received);
}

static void on_buffer_data(void *userData, const char *sourceUserId, const uint8_t *data, size_t len) {
    size_t i, sum = 0;
    (void)userData;
    for (i = 0; i < len; i++) {
        sum += data[i];
    }
    printf("[%s] NotifyBufferData from %s: %lu bytes (byte sum %lu)\n", me, sourceUserId, (unsigned long)len,
           (unsigned long)sum);
    bump(&received);
}

static void on_file_data(void *userData, const char *sourceUserId, const char *tmpFile, const char *orgFileName) {
    (void)userData;
    printf("[%s] NotifyFileData from %s: %s (sent as %s)\n", me, sourceUserId, tmpFile, orgFileName);
    bump(&received);
}

/* Waits until *field == value (or a failure, or 30 s). Returns 0 when reached. */
static int wait_for(const int *field, int value, const char *what) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&lock);
    while (*field != value && !failed && rc == 0) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = *field == value ? 0 : 1;
    pthread_mutex_unlock(&lock);
    if (rc != 0) {
        fprintf(stderr, "[%s] gave up waiting for %s\n", me, what);
    }
    return rc;
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    int rc;

    if (argc != 6 || (strcmp(argv[4], "caller") != 0 && strcmp(argv[4], "callee") != 0)) {
        fprintf(stderr, "usage: %s HOST:PORT USER PEER caller|callee INBOX_DIR\n", argv[0]);
        return 2;
    }
    me = argv[2];
    peer = argv[3];
    setvbuf(stdout, NULL, _IOLBF, 0); /* two demos share one terminal: whole lines */
    printf("[%s] CRVideo SDK %s\n", me, CRVideo_GetVersion());

    /* 1. Initialise, pointing the SDK at the server. */
    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\",\"timeoutMs\":10000,\"tmpDir\":\"%s\"}", argv[1],
             argv[5]);
    rc = CRVideo_Init(params);
    if (rc != CRVIDEOSDK_NOERR) {
        fprintf(stderr, "[%s] CRVideo_Init: %s\n", me, CRVideo_GetErrorDesc(rc));
        return 1;
    }

    /* 2. Register callbacks: zero the struct, set size, fill in what you handle. */
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.LineOff = on_line_off;
    cbs.StartUserStatusNotifyRslt = on_notify_start;
    cbs.GetUserStatusSuccess = on_status_list;
    cbs.GetUserStatusFail = on_status_fail;
    cbs.NotifyUserStatus = on_notify;
    cbs.SetDNDStatusSuccess = on_dnd_ok;
    cbs.SetDNDStatusFail = on_dnd_fail;
    cbs.CreateMeetingSuccess = on_meeting_created;
    cbs.CreateMeetingFail = on_meeting_failed;
    cbs.DestroyMeetingRslt = on_meeting_destroyed;
    cbs.CallSuccess = on_call_success;
    cbs.CallFail = on_call_fail;
    cbs.NotifyCallIn = on_call_in;
    cbs.NotifyCallAccepted = on_call_accepted;
    cbs.AcceptCallSuccess = on_accept_success;
    cbs.NotifyCallRejected = on_call_rejected;
    cbs.NotifyCallHungup = on_call_hungup;
    cbs.HangupCallSuccess = on_hangup_success;
    cbs.SendCmdRlst = on_cmd_result;
    cbs.SendBufferRlst = on_buffer_result;
    cbs.SendFileRlst = on_file_result;
    cbs.SendProgress = on_progress;
    cbs.NotifyCmdData = on_cmd_data;
    cbs.NotifyBufferData = on_buffer_data;
    cbs.NotifyFileData = on_file_data;
    CRVideo_SetCallbacks(&cbs, NULL);

    /* 3. Log in to the server's built-in development tenant demo/demo123. */
    rc = CRVideo_Login("demo", "demo123", me, me, "", "demo-login");
    if (rc != CRVIDEOSDK_NOERR || wait_for(&logged_in, 1, "login") != 0) {
        CRVideo_Uninit();
        return 1;
    }

    /* 4. Presence: subscribe first, then take the list, so no change falls in between. */
    if (CRVideo_StartUserStatusNotify("watch") != 0 || wait_for(&subscribed, 1, "subscription") != 0 ||
        CRVideo_GetUserStatus("list") != 0 || wait_for(&listed, 1, "status list") != 0 ||
        wait_for(&peer_seen_online, 1, "the peer to come online") != 0) {
        CRVideo_Uninit();
        return 1;
    }
    printf("[%s] sees %s online\n", me, peer);

    /* 5. A call with a meeting. The caller creates the meeting and calls with it; the
     * callee accepts; the caller hangs up and destroys the meeting. */
    if (strcmp(argv[4], "caller") == 0) {
        char *id;
        if (CRVideo_CreateMeeting("demo meeting", 1, "create") != 0 || wait_for(&meeting_ready, 1, "the meeting") != 0) {
            CRVideo_Uninit();
            return 1;
        }
        id = CRVideo_Call(peer, meeting, "let's talk", "call");
        snprintf(call_id, sizeof call_id, "%s", id);
        CRVideo_FreeString(id);
        if (wait_for(&call_stage, 2, "the peer to accept") != 0) {
            CRVideo_Uninit();
            return 1;
        }
        if (CRVideo_HungupCall(call_id, "bye", "hangup") != 0 || wait_for(&call_stage, 3, "the hang-up") != 0 ||
            CRVideo_DestroyMeeting(meeting_id, "destroy") != 0 || wait_for(&destroyed, 1, "the meeting's end") != 0) {
            CRVideo_Uninit();
            return 1;
        }
    } else {
        if (wait_for(&call_stage, 1, "a call") != 0 || CRVideo_AcceptCall(call_id, "", "ok", "accept") != 0 ||
            wait_for(&call_stage, 3, "the caller to hang up") != 0) {
            CRVideo_Uninit();
            return 1;
        }
    }

    /* 6. The transparent channel: a command, a buffer (binary, NULs included) and a file. */
    if (strcmp(argv[4], "caller") == 0) {
        static const char cmd[] = "{\"type\":\"hello\",\"text\":\"hi bob\"}";
        static uint8_t buffer[1 << 20];
        char path[256];
        FILE *f;
        size_t i;
        for (i = 0; i < sizeof buffer; i++) {
            buffer[i] = (uint8_t)(i % 251);
        }
        snprintf(path, sizeof path, "%s/../demo-note-%s.txt", argv[5], me);
        f = fopen(path, "w");
        for (i = 0; f != NULL && i < 60000; i++) {
            fprintf(f, "line %lu of a note from %s\n", (unsigned long)i, me);
        }
        if (f == NULL || fclose(f) != 0) {
            fprintf(stderr, "[%s] cannot write %s\n", me, path);
            CRVideo_Uninit();
            return 1;
        }
        CRVideo_FreeString(CRVideo_SendCmd(peer, (const uint8_t *)cmd, strlen(cmd), "cmd"));
        CRVideo_FreeString(CRVideo_SendBuffer(peer, buffer, sizeof buffer, "buffer"));
        CRVideo_FreeString(CRVideo_SendFile(peer, path, "file"));
        if (wait_for(&sends_done, 3, "the three sends") != 0) {
            CRVideo_Uninit();
            return 1;
        }
    } else if (wait_for(&received, 3, "a command, a buffer and a file") != 0) {
        CRVideo_Uninit();
        return 1;
    }

    /* 7. Do-not-disturb on, and see the peer's change arrive. */
    if (CRVideo_SetDNDStatus(1, "dnd-on") != 0 || wait_for(&dnd_set, 1, "DND to be set") != 0 ||
        wait_for(&peer_seen_dnd, 1, "the peer's DND") != 0) {
        CRVideo_Uninit();
        return 1;
    }
    printf("[%s] sees %s with do-not-disturb on\n", me, peer);

    /* 8. Log out and shut down; Uninit joins the SDK's threads. */
    rc = CRVideo_Logout();
    printf("[%s] Logout -> %d\n", me, rc);
    CRVideo_Uninit();
    printf("[%s] done\n", me);
    return rc == CRVIDEOSDK_NOERR ? 0 : 1;
}
