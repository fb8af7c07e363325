/* demo.c: one user of the CRVideo SDK, as a C application would write it.
 *
 * Usage: demo HOST:PORT USER
 * scripts/demo.sh runs two of these (alice and bob) against a local crvideo-server.
 * Every callback is printed with the user's name in front. Exits 0 when the session went
 * as expected. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *me;

/* Callbacks run on the SDK's dispatch thread; main waits for them on this condition. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in;   /* 1 after LoginSuccess */
static int login_error; /* sdkErr of LoginFail */

static void on_login_success(void *userData, const char *usrID, const char *cookie) {
    (void)userData;
    printf("[%s] LoginSuccess usrID=%s cookie=%s\n", me, usrID, cookie);
    pthread_mutex_lock(&lock);
    logged_in = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_login_fail(void *userData, int sdkErr, const char *cookie) {
    (void)userData;
    printf("[%s] LoginFail sdkErr=%d (%s) cookie=%s\n", me, sdkErr, CRVideo_GetErrorDesc(sdkErr), cookie);
    pthread_mutex_lock(&lock);
    login_error = sdkErr;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_line_off(void *userData, int sdkErr) {
    (void)userData;
    printf("[%s] LineOff sdkErr=%d (%s)\n", me, sdkErr, CRVideo_GetErrorDesc(sdkErr));
}

/* Waits until the login has an outcome; 0 on success. */
static int wait_for_login(void) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&lock);
    while (!logged_in && !login_error && rc == 0) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = logged_in ? 0 : 1;
    pthread_mutex_unlock(&lock);
    return rc;
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST:PORT USER\n", argv[0]);
        return 2;
    }
    me = argv[2];
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
    CRVideo_SetCallbacks(&cbs, NULL);

    /* 3. Log in to the server's built-in development tenant demo/demo123. */
    rc = CRVideo_Login("demo", "demo123", me, me, "", "demo-login");
    if (rc != CRVIDEOSDK_NOERR || wait_for_login() != 0) {
        fprintf(stderr, "[%s] login failed\n", me);
        CRVideo_Uninit();
        return 1;
    }

    /* 4. Log out and shut down; Uninit joins the SDK's threads. */
    rc = CRVideo_Logout();
    printf("[%s] Logout -> %d\n", me, rc);
    CRVideo_Uninit();
    printf("[%s] done\n", me);
    return rc == CRVIDEOSDK_NOERR ? 0 : 1;
}
