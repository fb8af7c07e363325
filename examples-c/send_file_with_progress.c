/* send_file_with_progress.c: send a file to another user and show the progress.
 *
 * Build: cc -std=c99 send_file_with_progress.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./send_file_with_progress 127.0.0.1:2727 alice bob ./report.pdf
 *
 * The file streams from disk with flow control (any size). SendProgress reports what the
 * receiver's SDK holds; SendFileRlst(0) means it holds every byte, verified. The receiver gets
 * NotifyFileData with the file's path in its tmpDir. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, finished, result = -1;

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud;
    (void)usrID;
    (void)cookie;
    pthread_mutex_lock(&lock);
    logged_in = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    pthread_mutex_lock(&lock);
    finished = 1;
    result = sdkErr;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_progress(void *ud, const char *taskID, int64_t sendedLen, int64_t totalLen, const char *cookie) {
    int percent = totalLen > 0 ? (int)(sendedLen * 100 / totalLen) : 100;
    (void)ud;
    (void)taskID;
    (void)cookie;
    printf("\r[%-50.*s] %3d%% %lld/%lld bytes", percent / 2, "##################################################",
           percent, (long long)sendedLen, (long long)totalLen);
    fflush(stdout);
}

static void on_file_result(void *ud, const char *taskID, const char *fileName, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("\n%s: %s (task %s)\n", fileName, sdkErr == 0 ? "delivered" : CRVideo_GetErrorDesc(sdkErr), taskID);
    pthread_mutex_lock(&lock);
    finished = 1;
    result = sdkErr;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static int wait_for(const int *flag) {
    pthread_mutex_lock(&lock);
    while (!*flag && !finished) {
        pthread_cond_wait(&changed, &lock); /* the SDK's request timeout bounds the wait */
    }
    pthread_mutex_unlock(&lock);
    return *flag ? 0 : 1;
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    char *task;

    if (argc != 5) {
        fprintf(stderr, "usage: %s HOST:PORT USER TARGET FILE\n", argv[0]);
        return 2;
    }
    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\",\"timeoutMs\":10000}", argv[1]);
    if (CRVideo_Init(params) != CRVIDEOSDK_NOERR) {
        return 1;
    }
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.SendProgress = on_progress;
    cbs.SendFileRlst = on_file_result;
    CRVideo_SetCallbacks(&cbs, NULL);

    if (CRVideo_Login("demo", "demo123", argv[2], argv[2], "", NULL) != 0 || wait_for(&logged_in) != 0) {
        CRVideo_Uninit();
        return 1;
    }
    /* Returns the task's ID at once; exactly one SendFileRlst follows (a missing file too:
     * CRVIDEOSDK_SENDFILE_FILEINERROR). CRVideo_CancelSend(task) would stop it. */
    task = CRVideo_SendFile(argv[3], argv[4], "my-file");
    CRVideo_FreeString(task);
    wait_for(&finished);
    CRVideo_Logout();
    CRVideo_Uninit();
    return result == 0 ? 0 : 1;
}
