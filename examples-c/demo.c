/* demo.c: one user of the CRVideo SDK, as a C application would write it.
 *
 * Usage: demo HOST:PORT USER PEER
 * scripts/demo.sh runs two of these (alice with peer bob, bob with peer alice) against a
 * local crvideo-server. Every callback is printed with the user's name in front.
 *
 * The session: log in, watch the peer's presence (subscribe, then list), turn on
 * do-not-disturb, wait to see the peer do the same, log out. Exits 0 when all went well. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
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
static int peer_dnd;      /* the peer's DNDType */

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
}

static void on_dnd_fail(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] SetDNDStatusFail sdkErr=%d cookie=%s\n", me, sdkErr, cookie);
    update(&failed, sdkErr);
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

    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST:PORT USER PEER\n", argv[0]);
        return 2;
    }
    me = argv[2];
    peer = argv[3];
    setvbuf(stdout, NULL, _IOLBF, 0); /* two demos share one terminal: whole lines */
    printf("[%s] CRVideo SDK %s\n", me, CRVideo_GetVersion());

    /* 1. Initialise, pointing the SDK at the server. */
    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\",\"timeoutMs\":10000}", argv[1]);
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
        wait_for(&peer_status, 1, "the peer to come online") != 0) {
        CRVideo_Uninit();
        return 1;
    }
    printf("[%s] sees %s online\n", me, peer);

    /* 5. Do-not-disturb on, and see the peer's change arrive. */
    if (CRVideo_SetDNDStatus(1, "dnd-on") != 0 || wait_for(&peer_dnd, 1, "the peer's DND") != 0) {
        CRVideo_Uninit();
        return 1;
    }
    printf("[%s] sees %s with do-not-disturb on\n", me, peer);

    /* 6. Log out and shut down; Uninit joins the SDK's threads. */
    rc = CRVideo_Logout();
    printf("[%s] Logout -> %d\n", me, rc);
    CRVideo_Uninit();
    printf("[%s] done\n", me);
    return rc == CRVIDEOSDK_NOERR ? 0 : 1;
}
