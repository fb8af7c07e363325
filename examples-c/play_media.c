/* play_media.c: play a media file to everyone in a meeting.
 *
 * Build: cc -std=c99 play_media.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./play_media 127.0.0.1:2727 alice MEETING_ID /path/clip.mp4
 *        (MEETING_ID of a meeting without password; the file an MP4 with H.264 video
 *        and/or Opus audio, e.g. one written by record_meeting)
 *
 * The member enters the meeting and plays the file to it: every member sees its pictures
 * (NotifyMemberMediaData, then CRVideo_GetMediaImg with the player's ID) and hears its
 * sound in the speaker mix. At the first picture it pauses, shows CRVideo_GetMediaInfo,
 * moves back to the start and resumes; it ends when the file does (NotifyMediaStop with
 * reason 1).
 *
 * Shows: CRVideo_StartPlayMedia and NotifyMediaOpened / NotifyMediaStart,
 * CRVideo_PausePlayMedia and NotifyMediaPause, CRVideo_SetMediaPlayPos and
 * NotifyPlayPosSetted, the player's own pictures, and NotifyMediaStop's reasons. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, entered, failure, first_picture, paused, moved, stopped;
static int stop_reason = -1, pictures;

static void set(int *flag) {
    pthread_mutex_lock(&lock);
    *flag = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void fail(const char *what, int sdkErr) {
    printf("%s: %s\n", what, CRVideo_GetErrorDesc(sdkErr));
    fflush(stdout);
    pthread_mutex_lock(&lock);
    failure = sdkErr != 0 ? sdkErr : -1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Waits up to `secs` for `flag`; 0 when it was set (and clears it). */
static int wait_flag(int *flag, int secs) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += secs;
    pthread_mutex_lock(&lock);
    while (!*flag && !failure && rc == 0) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = *flag ? 0 : 1;
    *flag = 0;
    pthread_mutex_unlock(&lock);
    return rc;
}

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud, (void)usrID, (void)cookie;
    set(&logged_in);
}

static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud, (void)cookie;
    fail("login failed", sdkErr);
}

static void on_enter(void *ud, int sdkErr) {
    (void)ud;
    if (sdkErr != 0) {
        fail("enter failed", sdkErr);
    } else {
        set(&entered);
    }
}

static void on_opened(void *ud, int64_t totalTimeMs, int w, int h) {
    (void)ud;
    printf("opened: %lld ms, %dx%d\n", (long long)totalTimeMs, w, h);
    fflush(stdout);
}

static void on_start(void *ud, const char *userID) {
    (void)ud;
    printf("%s plays to the meeting\n", userID);
    fflush(stdout);
}

/* A new picture of a member's media (ours too): take it, which also asks for the next. */
static void on_media_data(void *ud, const char *userID, int64_t curPosMs) {
    CRVideo_VideoImg *img = NULL;
    (void)ud;
    if (CRVideo_GetMediaImg(userID, CRVIDEOSDK_VFMT_RGBA32, 0, 0, &img) == 0) {
        pthread_mutex_lock(&lock);
        pictures++;
        pthread_mutex_unlock(&lock);
        if (curPosMs == 0 || pictures == 1) {
            printf("picture at %lld ms: %dx%d\n", (long long)curPosMs, img->width, img->height);
            fflush(stdout);
        }
        CRVideo_FreeVideoImg(img);
        set(&first_picture);
    }
}

static void on_pause(void *ud, const char *userID, int pause) {
    (void)ud;
    printf("%s %s\n", userID, pause ? "paused" : "resumed");
    fflush(stdout);
    if (pause) {
        set(&paused);
    }
}

static void on_pos(void *ud, int64_t setPTS) {
    (void)ud;
    printf("moved to %lld ms\n", (long long)setPTS);
    fflush(stdout);
    set(&moved);
}

static void on_stop(void *ud, const char *userID, int reason) {
    static const char *why[] = {"stopped", "reached the end", "cannot open the file",
                                "not a media file", "codec not supported", "other"};
    (void)ud;
    printf("%s's media: %s (%d)\n", userID, reason >= 0 && reason <= 5 ? why[reason] : "?",
           reason);
    fflush(stdout);
    pthread_mutex_lock(&lock);
    stop_reason = reason;
    pthread_mutex_unlock(&lock);
    set(&stopped);
}

/* Plays `path`; 0 when it played to its end. */
static int play(const char *path) {
    char *info;
    int rc = CRVideo_StartPlayMedia(path, 0, 0);
    if (rc != 0) {
        fail("StartPlayMedia", rc);
        return 1;
    }
    if (wait_flag(&first_picture, 30) != 0) {
        printf("no picture (%s)\n", stopped ? "stopped" : "timeout");
        return 1;
    }
    CRVideo_PausePlayMedia(1);
    if (wait_flag(&paused, 30) != 0) {
        return 1;
    }
    info = CRVideo_GetMediaInfo();
    printf("media info: %s\n", info != NULL ? info : "NULL");
    CRVideo_FreeString(info);
    CRVideo_SetMediaPlayPos(0);
    if (wait_flag(&moved, 30) != 0) {
        return 1;
    }
    CRVideo_PausePlayMedia(0);
    if (wait_flag(&stopped, 600) != 0) {
        return 1;
    }
    pthread_mutex_lock(&lock);
    rc = stop_reason == 1 ? 0 : 1;
    printf("%d pictures shown\n", pictures);
    pthread_mutex_unlock(&lock);
    return rc;
}

int main(int argc, char **argv) {
    CRVideo_Callbacks cbs;
    int rc;
    if (argc < 5) {
        fprintf(stderr, "usage: %s SERVER USER MEETING_ID /path/clip.mp4\n", argv[0]);
        return 2;
    }
    CRVideo_Init("{}");
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.EnterMeetingRslt = on_enter;
    cbs.NotifyMediaOpened = on_opened;
    cbs.NotifyMediaStart = on_start;
    cbs.NotifyMemberMediaData = on_media_data;
    cbs.NotifyMediaPause = on_pause;
    cbs.NotifyPlayPosSetted = on_pos;
    cbs.NotifyMediaStop = on_stop;
    CRVideo_SetCallbacks(&cbs, NULL);
    CRVideo_SetServerAddr(argv[1]);
    CRVideo_Login("demo", "demo123", argv[2], argv[2], "", "");
    if (wait_flag(&logged_in, 30) != 0) {
        CRVideo_Uninit();
        return 1;
    }
    CRVideo_EnterMeeting(atoi(argv[3]), "");
    if (wait_flag(&entered, 30) != 0) {
        CRVideo_Uninit();
        return 1;
    }
    rc = play(argv[4]);
    CRVideo_ExitMeeting();
    CRVideo_Uninit();
    printf(rc == 0 ? "done\n" : "failed\n");
    return rc;
}
