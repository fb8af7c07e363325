/* login_and_presence.c: log in, watch who is online, change your do-not-disturb status.
 *
 * Build: cc -std=c99 login_and_presence.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./login_and_presence 127.0.0.1:2727 alice       (a crvideo-server must be running)
 *
 * Shows: CRVideo_Init, callbacks registration, CRVideo_Login, the presence calls
 * (subscribe first, then list, so no change is missed), and a clean shutdown. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Callbacks run on the SDK's own thread: hand results to main() under a lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int step;       /* how far the session got: 1 logged in, 2 subscribed, 3 listed, 4 saw own DND */
static int error_code; /* the sdkErr of a failure, 0 while all is well */
static char me[65];

static void advance(int to, int err) {
    pthread_mutex_lock(&lock);
    if (err != 0) {
        error_code = err;
    } else if (to > step) {
        step = to;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_login_success(void *userData, const char *usrID, const char *cookie) {
    (void)userData;
    (void)cookie;
    printf("logged in as %s\n", usrID);
    advance(1, 0);
}

static void on_login_fail(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    (void)cookie;
    printf("login failed: %d (%s)\n", sdkErr, CRVideo_GetErrorDesc(sdkErr));
    advance(0, sdkErr);
}

static void on_notify_started(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    (void)cookie;
    advance(2, sdkErr);
}

static void on_status_list(void *userData, const char *usersStatusJson, const char *cookie) {
    (void)userData;
    (void)cookie;
    /* A JSON array of {"userID":..,"userStatus":..,"DNDType":..}; parse it with your JSON
     * library. userStatus: 0 offline, 1 idle, 2 in a call, 3 in a meeting. */
    printf("online now: %s\n", usersStatusJson);
    advance(3, 0);
}

static void on_status_fail(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    (void)cookie;
    advance(0, sdkErr);
}

static void on_user_status(void *userData, const char *userStatusJson, const char *cookie) {
    char mine[128];
    (void)userData;
    printf("status change [%s]: %s\n", cookie, userStatusJson);
    snprintf(mine, sizeof mine, "{\"userID\":\"%s\",\"userStatus\":1,\"DNDType\":2}", me);
    if (strcmp(userStatusJson, mine) == 0) {
        advance(4, 0);
    }
}

static void on_line_off(void *userData, int sdkErr) {
    (void)userData;
    printf("disconnected: %s\n", CRVideo_GetErrorDesc(sdkErr));
    advance(0, sdkErr);
}

/* Waits until the session reached `target` (or failed); 0 when reached. */
static int wait_step(int target) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&lock);
    while (step < target && error_code == 0 && rc == 0) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = step >= target ? 0 : 1;
    pthread_mutex_unlock(&lock);
    return rc;
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    int ok;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST:PORT USER\n", argv[0]);
        return 2;
    }
    snprintf(me, sizeof me, "%s", argv[2]);

    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\"}", argv[1]);
    if (CRVideo_Init(params) != CRVIDEOSDK_NOERR) {
        return 1;
    }
    memset(&cbs, 0, sizeof cbs); /* unset callbacks stay NULL: those events are skipped */
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.LineOff = on_line_off;
    cbs.StartUserStatusNotifyRslt = on_notify_started;
    cbs.GetUserStatusSuccess = on_status_list;
    cbs.GetUserStatusFail = on_status_fail;
    cbs.NotifyUserStatus = on_user_status;
    CRVideo_SetCallbacks(&cbs, NULL);

    /* demo/demo123 is the server's built-in development tenant. */
    ok = CRVideo_Login("demo", "demo123", me, me, "", "login") == 0 && wait_step(1) == 0 &&
         CRVideo_StartUserStatusNotify("watch") == 0 && wait_step(2) == 0 &&
         CRVideo_GetUserStatus("list") == 0 && wait_step(3) == 0 &&
         CRVideo_SetDNDStatus(2, "dnd") == 0 && wait_step(4) == 0;

    CRVideo_Logout();
    CRVideo_Uninit(); /* joins the SDK's threads: no callback runs after this */
    printf("%s\n", ok ? "done" : "failed");
    return ok ? 0 : 1;
}
