/* http_download.c: download a URL to a file over HTTP(S), showing the progress.
 *
 * Build: cc -std=c99 http_download.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./http_download https://example.com/big.iso ./big.iso [ca.pem]
 *
 * No server address and no login: HTTP transfers need neither. The file grows in a hidden
 * ".big.iso.crvpart" beside the target and takes its name only when complete; if this
 * program is stopped half-way, running it again resumes (HTTP Range). An existing target
 * is never overwritten (FileFinished 5). The optional ca.pem is the Init key caFile: the
 * authorities trusted for https (default: the system's). */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int finished, result = -1;

static void on_state(void *ud, const char *fileName, int state) {
    (void)ud;
    (void)fileName;
    /* 3 (finished) is followed by FileFinished, which says how. */
    if (state == 1) {
        printf("queued behind other transfers\n");
    } else if (state == 2) {
        printf("transferring\n");
    }
}

static void on_header(void *ud, const char *fileName, const char *rspHeader) {
    (void)ud;
    (void)fileName;
    /* The status line is the head's first line. */
    printf("response: %.*s\n", (int)strcspn(rspHeader, "\r\n"), rspHeader);
}

static void on_progress(void *ud, const char *fileName, int64_t done, int64_t total) {
    int percent = total > 0 ? (int)(done * 100 / total) : 0;
    (void)ud;
    (void)fileName;
    printf("\r[%-50.*s] %3d%% %lld/%lld bytes", percent / 2, "##################################################",
           percent, (long long)done, (long long)total);
    fflush(stdout);
}

static void on_finished(void *ud, const char *fileName, int rslt) {
    (void)ud;
    if (rslt == 0) {
        printf("\ndownloaded %s\n", fileName);
    } else if (rslt >= 1000) {
        printf("\nfailed: the server answered HTTP %d\n", rslt - 1000);
    } else {
        printf("\nfailed: FileFinished %d\n", rslt);
    }
    pthread_mutex_lock(&lock);
    finished = 1;
    result = rslt;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Appends `s` to `out` as the inside of a JSON string (quotes, backslashes and control
 * characters escaped). */
static void json_text(char *out, size_t cap, const char *s) {
    size_t n = strlen(out);
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

int main(int argc, char **argv) {
    char params[4200] = "{\"caFile\":\"";
    char info[8400] = "{\"bUploadType\":0,\"filePathName\":\"";
    char path[4096];
    CRVideo_Callbacks cbs;
    int rc;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s URL FILE [CA.pem]\n", argv[0]);
        return 2;
    }
    /* filePathName must be absolute. */
    if (strlen(argv[2]) + 2 >= sizeof path) {
        fprintf(stderr, "path too long\n");
        return 2;
    } else if (argv[2][0] == '/') {
        snprintf(path, sizeof path, "%s", argv[2]);
    } else if (getcwd(path, sizeof path - 1 - strlen(argv[2])) != NULL) {
        strcat(path, "/");
        strcat(path, argv[2]);
    } else {
        fprintf(stderr, "path too long\n");
        return 2;
    }
    if (argc == 4) {
        json_text(params, sizeof params, argv[3]);
        strcat(params, "\"}");
    } else {
        strcpy(params, "{}");
    }
    if (CRVideo_Init(params) != CRVIDEOSDK_NOERR) {
        fprintf(stderr, "CRVideo_Init failed (is the CA file a PEM file?)\n");
        return 1;
    }
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.FileStateChanged = on_state;
    cbs.FileHttpRspHeader = on_header;
    cbs.FileProgress = on_progress;
    cbs.FileFinished = on_finished;
    CRVideo_SetCallbacks(&cbs, NULL);

    json_text(info, sizeof info, path);
    strcat(info, "\",\"httpUrl\":\"");
    json_text(info, sizeof info, argv[1]);
    strcat(info, "\"}");
    /* 0: accepted, and exactly one FileFinished follows; else nothing follows. */
    rc = CRVideo_StartTransferFile(info);
    if (rc != CRVIDEOSDK_NOERR) {
        fprintf(stderr, "CRVideo_StartTransferFile: %s\n", CRVideo_GetErrorDesc(rc));
        CRVideo_Uninit();
        return 1;
    }
    pthread_mutex_lock(&lock);
    while (!finished) {
        pthread_cond_wait(&changed, &lock); /* the stall timeout (timeoutMs) bounds the wait */
    }
    pthread_mutex_unlock(&lock);
    CRVideo_Uninit();
    return result == 0 ? 0 : 1;
}
