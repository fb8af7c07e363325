/* call_and_meeting.c: create a meeting, call someone with it, hang up, destroy the meeting.
 *
 * Build: cc -std=c99 call_and_meeting.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./call_and_meeting 127.0.0.1:2727 alice bob     (bob must be online to answer)
 *
 * Shows: a request whose result arrives in a callback (CreateMeeting), an ID-returning call
 * (CRVideo_Call: free the ID with CRVideo_FreeString), and the call's notifications. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, meeting_ready, answered, hung_up, destroyed, failure;
static char meeting_json[512]; /* the MeetInfoObj, passed to the callee as it is */
static int meeting_id;

static void set(int *flag, int value) {
    pthread_mutex_lock(&lock);
    *flag = value;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static int wait_flag(const int *flag) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 40; /* longer than the server's call timeout (30 s by default) */
    pthread_mutex_lock(&lock);
    while (!*flag && !failure && rc == 0) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = *flag ? 0 : 1;
    pthread_mutex_unlock(&lock);
    return rc;
}

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud;
    (void)usrID;
    (void)cookie;
    set(&logged_in, 1);
}

static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("login failed: %s\n", CRVideo_GetErrorDesc(sdkErr));
    set(&failure, sdkErr);
}

static void on_meeting_created(void *ud, const char *meetObjJson, const char *cookie) {
    const char *id = strstr(meetObjJson, "\"ID\":");
    (void)ud;
    (void)cookie;
    printf("meeting created: %s\n", meetObjJson);
    pthread_mutex_lock(&lock);
    snprintf(meeting_json, sizeof meeting_json, "%s", meetObjJson);
    meeting_id = id ? atoi(id + 5) : 0;
    meeting_ready = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_meeting_failed(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    set(&failure, sdkErr);
}

static void on_call_success(void *ud, const char *callID, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("ringing (call %s)\n", callID);
}

static void on_call_fail(void *ud, const char *callID, int sdkErr, const char *cookie) {
    (void)ud;
    (void)callID;
    (void)cookie;
    /* ERR_OFFLINE, ERR_USER_NOT_FOUND, ERR_BUSY, ERR_CALL_EXIST, ... */
    printf("could not call: %s\n", CRVideo_GetErrorDesc(sdkErr));
    set(&failure, sdkErr);
}

static void on_accepted(void *ud, const char *callID, const char *meetObjJson, const char *usrExtDat) {
    (void)ud;
    printf("call %s accepted (meeting %s, they said \"%s\")\n", callID, meetObjJson, usrExtDat);
    set(&answered, 1);
}

static void on_rejected(void *ud, const char *callID, int sdkErr, const char *usrExtDat) {
    (void)ud;
    (void)callID;
    (void)usrExtDat;
    /* ERR_REFUSE, or ERR_NOANSWER after the server's timeout */
    printf("call not taken: %s\n", CRVideo_GetErrorDesc(sdkErr));
    set(&failure, sdkErr);
}

static void on_hangup_done(void *ud, const char *callID, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("hung up call %s\n", callID);
    set(&hung_up, 1);
}

static void on_destroyed(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("meeting destroyed: %s\n", CRVideo_GetErrorDesc(sdkErr));
    set(sdkErr == 0 ? &destroyed : &failure, sdkErr == 0 ? 1 : sdkErr);
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    char *call_id = NULL;
    int ok;

    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST:PORT USER CALLEE\n", argv[0]);
        return 2;
    }
    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\"}", argv[1]);
    if (CRVideo_Init(params) != CRVIDEOSDK_NOERR) {
        return 1;
    }
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.CreateMeetingSuccess = on_meeting_created;
    cbs.CreateMeetingFail = on_meeting_failed;
    cbs.CallSuccess = on_call_success;
    cbs.CallFail = on_call_fail;
    cbs.NotifyCallAccepted = on_accepted;
    cbs.NotifyCallRejected = on_rejected;
    cbs.HangupCallSuccess = on_hangup_done;
    cbs.DestroyMeetingRslt = on_destroyed;
    CRVideo_SetCallbacks(&cbs, NULL);

    ok = CRVideo_Login("demo", "demo123", argv[2], argv[2], "", NULL) == 0 && wait_flag(&logged_in) == 0 &&
         CRVideo_CreateMeeting("planning", 1, NULL) == 0 && wait_flag(&meeting_ready) == 0;
    if (ok) {
        /* The meetObj travels to the callee unchanged; the returned ID is ours to free. */
        call_id = CRVideo_Call(argv[3], meeting_json, "join me?", NULL);
        ok = call_id != NULL && wait_flag(&answered) == 0 && CRVideo_HungupCall(call_id, "bye", NULL) == 0 &&
             wait_flag(&hung_up) == 0 && CRVideo_DestroyMeeting(meeting_id, NULL) == 0 &&
             wait_flag(&destroyed) == 0;
        CRVideo_FreeString(call_id);
    }
    CRVideo_Logout();
    CRVideo_Uninit();
    printf("%s\n", ok ? "done" : "failed");
    return ok ? 0 : 1;
}
