/* netdisk_share.c: put a file on the tenant's net disk, or fetch one from it.
 *
 * Build: cc -std=c99 netdisk_share.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./netdisk_share 127.0.0.1:2727 alice upload ./plan.pdf
 *          (prints "file ID: <id>" once the file is listed for every user of the tenant)
 *        ./netdisk_share 127.0.0.1:2727 bob download <id> ./plan-copy.pdf
 *          (lists the net disk, then downloads the file; never over an existing file)
 *
 * Progress comes as NotifyNetDiskTransforProgress(fileID, percent, isSucceed): percent rises
 * to 100 with isSucceed 1 once the file is complete and its MD5 matched end to end, or one
 * call with isSucceed 0 says it failed (and nothing partial is left). */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, listed, finished, failed, succeeded;

static void signal_change(int *flag) {
    pthread_mutex_lock(&lock);
    *flag = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Waits for `flag` (or a failure); 0 when it came. */
static int wait_for(const int *flag) {
    pthread_mutex_lock(&lock);
    while (!*flag && !failed) {
        pthread_cond_wait(&changed, &lock); /* every request ends with a callback */
    }
    pthread_mutex_unlock(&lock);
    return *flag ? 0 : 1;
}

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("logged in as %s\n", usrID);
    signal_change(&logged_in);
}

static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("login failed: %s\n", CRVideo_GetErrorDesc(sdkErr));
    signal_change(&failed);
}

static void on_file_list(void *ud, const char *fileListJson) {
    (void)ud;
    printf("net disk: %s\n", fileListJson);
    signal_change(&listed);
}

static void on_full(void *ud, const char *fileListJson) {
    (void)ud;
    printf("\nthe net disk is full; its files: %s\n", fileListJson);
}

static void on_progress(void *ud, const char *fileID, int percent, int isSucceed) {
    (void)ud;
    (void)fileID;
    if (!isSucceed) {
        printf("\nfailed at %d%%\n", percent);
        signal_change(&failed);
        return;
    }
    printf("\r[%-50.*s] %3d%%", percent / 2, "##################################################",
           percent);
    fflush(stdout);
    if (percent == 100) {
        printf("\n");
        succeeded = 1;
        signal_change(&finished);
    }
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    int upload, rc;
    char *file_id = NULL;

    upload = argc == 5 && strcmp(argv[3], "upload") == 0;
    if (!upload && !(argc == 6 && strcmp(argv[3], "download") == 0)) {
        fprintf(stderr, "usage: %s HOST:PORT USER upload FILE\n"
                        "       %s HOST:PORT USER download FILE_ID LOCAL_PATH\n",
                argv[0], argv[0]);
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
    cbs.GetNetDiskFileListRslt = on_file_list;
    cbs.NotifyNetDiskIsFull = on_full;
    cbs.NotifyNetDiskTransforProgress = on_progress;
    CRVideo_SetCallbacks(&cbs, NULL);
    CRVideo_Login("demo", "demo123", argv[2], argv[2], "", "login");
    if (wait_for(&logged_in) != 0) {
        CRVideo_Uninit();
        return 1;
    }

    if (upload) {
        /* The name on the net disk: the local file's base name. */
        const char *slash = strrchr(argv[4], '/');
        file_id = CRVideo_MakeNetDiskFileID(0, slash != NULL ? slash + 1 : argv[4]);
        if (file_id == NULL) {
            printf("bad file name: %s\n", CRVideo_GetErrorDesc(CRVideo_GetLastError()));
            CRVideo_Uninit();
            return 1;
        }
        rc = CRVideo_UploadNetDiskFile(file_id, argv[4]);
    } else {
        if (CRVideo_GetNetDiskFileList() == CRVIDEOSDK_NOERR) {
            wait_for(&listed);
        }
        rc = CRVideo_DownloadNetDiskFile(argv[4], argv[5]);
    }
    if (rc != CRVIDEOSDK_NOERR) {
        printf("cannot start: %s\n", CRVideo_GetErrorDesc(rc));
    } else if (wait_for(&finished) == 0 && upload) {
        printf("file ID: %s\n", file_id);
    }
    CRVideo_FreeString(file_id);
    CRVideo_Logout();
    CRVideo_Uninit();
    if (rc != CRVIDEOSDK_NOERR || !succeeded) {
        return 1;
    }
    printf("done\n");
    return 0;
}
