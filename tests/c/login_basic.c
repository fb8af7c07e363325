/* A real C client of the SDK: login, duplicate login, logout, wrong password, bad
 * arguments. Run by tests/c_programs.rs against a real crvideo-server process.
 * Usage: login_basic HOST:PORT. Prints each callback; exits 0 when every check passed. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The last event, handed from the SDK's dispatch thread to main. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int events;
static char last_kind[32];
static int last_code;
static char last_text[256];
static pthread_t main_thread;
static int on_main_thread;

static void record(const char *kind, int code, const char *text) {
    pthread_mutex_lock(&lock);
    snprintf(last_kind, sizeof last_kind, "%s", kind);
    last_code = code;
    snprintf(last_text, sizeof last_text, "%s", text);
    if (pthread_equal(pthread_self(), main_thread)) {
        on_main_thread = 1;
    }
    events++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    printf("LoginSuccess usrID=%s cookie=%s\n", usrID, cookie);
    record("LoginSuccess", *(int *)ud, usrID);
}

static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    printf("LoginFail sdkErr=%d (%s) cookie=%s\n", sdkErr, CRVideo_GetErrorDesc(sdkErr), cookie);
    record("LoginFail", sdkErr, cookie);
}

static void on_line_off(void *ud, int sdkErr) {
    (void)ud;
    printf("LineOff sdkErr=%d\n", sdkErr);
    record("LineOff", sdkErr, "");
}

/* Waits for event number `n` (1-based); fails the program after 20 s. */
static void wait_event(int n) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&lock);
    while (events < n) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) {
            fprintf(stderr, "timed out waiting for event %d\n", n);
            exit(3);
        }
    }
    pthread_mutex_unlock(&lock);
}

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

int main(int argc, char **argv) {
    char params[256];
    static int user_data = 42;
    CRVideo_Callbacks cbs;

    if (argc != 2) {
        fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
        return 2;
    }
    main_thread = pthread_self();
    CHECK(CRVideo_Logout() == CRVIDEOSDK_NOT_INIT);

    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\",\"timeoutMs\":10000}", argv[1]);
    CHECK(CRVideo_Init(params) == CRVIDEOSDK_NOERR);
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.LineOff = on_line_off;
    CHECK(CRVideo_SetCallbacks(&cbs, &user_data) == CRVIDEOSDK_NOERR);

    CHECK(CRVideo_Login("demo", "demo123", "C Alice", "c_alice", "", "c-cookie") == 0);
    wait_event(1);
    CHECK(strcmp(last_kind, "LoginSuccess") == 0 && strcmp(last_text, "c_alice") == 0);
    CHECK(last_code == 42); /* userData came back */

    CHECK(CRVideo_Login("demo", "demo123", "C Alice", "c_alice", "", NULL) == 0);
    wait_event(2);
    CHECK(strcmp(last_kind, "LoginFail") == 0 && last_code == CRVIDEOSDK_LOGINSTATE_ERROR);
    CHECK(strcmp(last_text, "") == 0); /* NULL cookie comes back as "" */

    CHECK(CRVideo_Logout() == CRVIDEOSDK_NOERR);
    CHECK(CRVideo_Logout() == CRVIDEOSDK_NOT_LOGIN);

    CHECK(CRVideo_Login("demo", "wrong", "C Alice", "c_alice", "", "bad") == 0);
    wait_event(3);
    CHECK(strcmp(last_kind, "LoginFail") == 0 && last_code == CRVIDEOSDK_ANCTPSWD_ERR);

    CHECK(CRVideo_Login(NULL, "demo123", "n", "u", "", "") == CRVIDEOSDK_PARAM_ERR);
    CHECK(CRVideo_SetServerAddr("no-port") == CRVIDEOSDK_PARAM_ERR);

    CRVideo_Uninit();
    CRVideo_Uninit();
    CHECK(CRVideo_Logout() == CRVIDEOSDK_NOT_INIT);
    CHECK(events == 3);
    CHECK(!on_main_thread);
    printf("login_basic: all checks passed\n");
    return 0;
}
