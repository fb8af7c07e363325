/* record_meeting.c: record a meeting to an MP4 file, then put it on the net disk.
 *
 * Build: cc -std=c99 record_meeting.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./record_meeting 127.0.0.1:2727 alice MEETING_ID /abs/path/meeting.mp4 SECONDS
 *        (MEETING_ID of a meeting without password, e.g. from call_and_meeting's
 *        CreateMeeting; the path must not exist)
 *
 * The member enters the meeting, creates a custom camera (320x240 RGBA, a moving pattern
 * at 15 pictures a second) and records SECONDS seconds: its camera large, every other
 * member's default camera in a column on the right, the date and time below. Then it stops
 * the recording, waits until the file is complete, lists the record files and uploads the
 * file to the tenant's net disk.
 *
 * Shows: CRVideo_SetRecordVideos (what is drawn where, in a JSON layout that may change
 * while recording), CRVideo_StartRecording / CRVideo_StopRecording and RecordStateChanged
 * (1 starting, 2 recording, 4 stopping, 0 done: the file is complete), and
 * CRVideo_UploadRecordFile with its state and progress callbacks. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WIDTH 320
#define HEIGHT 240
#define FPS 15

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, entered, failure, recording, recorded, uploaded;

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

static void on_record_state(void *ud, int state) {
    (void)ud;
    printf("RecordStateChanged %d\n", state);
    fflush(stdout);
    if (state == 2) {
        set(&recording);
    } else if (state == 0) {
        set(&recorded);
    }
}

static void on_record_err(void *ud, int sdkErr) {
    (void)ud;
    printf("RecordErr %d (%s)\n", sdkErr, CRVideo_GetErrorDesc(sdkErr));
    fflush(stdout);
}

static void on_upload_state(void *ud, const char *fileName, int state) {
    (void)ud;
    printf("upload of %s: state %d\n", fileName, state);
    fflush(stdout);
    if (state == 2) {
        set(&uploaded);
    }
}

static void on_upload_progress(void *ud, const char *fileName, int percent) {
    (void)ud, (void)fileName;
    if (percent % 25 == 0) {
        printf("uploaded %d%%\n", percent);
        fflush(stdout);
    }
}

static void on_upload_err(void *ud, const char *fileName, int sdkErr) {
    (void)ud, (void)fileName;
    fail("upload failed", sdkErr);
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

/* A moving picture: a colour gradient and a square crossing it. */
static void draw(uint8_t *rgba, long long ms) {
    int x, y, cx = (int)(ms / 8 % (WIDTH + 80)) - 40;
    for (y = 0; y < HEIGHT; y++) {
        for (x = 0; x < WIDTH; x++) {
            uint8_t *p = rgba + ((size_t)y * WIDTH + (size_t)x) * 4;
            int square = x >= cx - 24 && x < cx + 24 && y >= HEIGHT / 2 - 24 && y < HEIGHT / 2 + 24;
            p[0] = (uint8_t)(x * 200 / WIDTH);
            p[1] = (uint8_t)(y * 220 / HEIGHT + 16);
            p[2] = square ? 240 : 64;
            p[3] = 255;
        }
    }
}

/* The layout: this user's camera 1 large on the left, up to three others' default cameras
   in a column on the right, the time under them. */
static void set_layout(const char *me) {
    char layout[2048];
    char *members = CRVideo_GetAllMembers();
    int n = snprintf(layout, sizeof layout,
                     "[{\"left\":0,\"top\":0,\"width\":960,\"height\":720,"
                     "\"param\":{\"type\":0,\"camid\":\"%s.1\"}}",
                     me);
    /* members is a JSON array of MemberObj; a real app parses it. Here: the userIDs. */
    const char *p = members;
    int row = 0;
    while (p != NULL && row < 3 && (p = strstr(p, "\"userID\":\"")) != NULL) {
        char user[128];
        size_t len;
        p += strlen("\"userID\":\"");
        len = strcspn(p, "\"");
        if (len >= sizeof user) {
            break;
        }
        memcpy(user, p, len);
        user[len] = '\0';
        if (strcmp(user, me) != 0) {
            n += snprintf(layout + n, sizeof layout - (size_t)n,
                          ",{\"left\":960,\"top\":%d,\"width\":320,\"height\":180,"
                          "\"param\":{\"type\":0,\"camid\":\"%s.%d\"}}",
                          row * 180, user, CRVideo_GetDefaultVideo(user));
            row++;
        }
    }
    snprintf(layout + n, sizeof layout - (size_t)n,
             ",{\"left\":960,\"top\":660,\"width\":320,\"height\":40,"
             "\"param\":{\"type\":4}}]");
    CRVideo_FreeString(members);
    if (CRVideo_SetRecordVideos(layout) != 0) {
        printf("layout refused: %s\n", layout);
    }
}

static int record(const char *me, const char *path, int seconds) {
    char cfg[1024];
    char *files;
    int camera = 0, rc;
    long long start, next;
    uint8_t *rgba = malloc((size_t)WIDTH * HEIGHT * 4);
    rc = CRVideo_CreateCustomVideoDev("pattern", CRVIDEOSDK_VFMT_RGBA32, WIDTH, HEIGHT,
                                      "{\"fps\":15,\"maxKbps\":600}", &camera);
    if (rc != 0 || rgba == NULL) {
        printf("camera: %s\n", CRVideo_GetErrorDesc(rc));
        free(rgba);
        return 1;
    }
    set_layout(me);
    snprintf(cfg, sizeof cfg,
             "{\"recordPath\":\"%s\",\"width\":1280,\"height\":720,\"frameRate\":15,"
             "\"bitRate\":1000000,\"audioType\":3}",
             path);
    rc = CRVideo_StartRecording(cfg);
    if (rc != 0 || wait_flag(&recording, 10) != 0) {
        printf("StartRecording: %s\n", CRVideo_GetErrorDesc(rc));
        free(rgba);
        return 1;
    }
    printf("recording %d s to %s\n", seconds, path);
    fflush(stdout);
    start = next = now_ms();
    while (now_ms() - start < seconds * 1000LL) {
        draw(rgba, now_ms() - start);
        CRVideo_InputCustomVideoDat(camera, rgba, (size_t)WIDTH * HEIGHT * 4, now_ms() - start);
        next += 1000 / FPS;
        if (next > now_ms()) {
            sleep_ms((long)(next - now_ms()));
        }
    }
    free(rgba);
    CRVideo_StopRecording();
    if (wait_flag(&recorded, 30) != 0) {
        printf("the recording did not finish\n");
        return 1;
    }
    files = CRVideo_GetAllRecordFiles();
    printf("record files: %s\n", files);
    CRVideo_FreeString(files);
    fflush(stdout);
    rc = CRVideo_UploadRecordFile(path);
    if (rc != 0 || wait_flag(&uploaded, 60) != 0) {
        printf("UploadRecordFile: %s\n", CRVideo_GetErrorDesc(rc));
        return 1;
    }
    CRVideo_DestroyCustomVideoDev(camera);
    return 0;
}

int main(int argc, char **argv) {
    CRVideo_Callbacks cbs;
    int rc;
    if (argc < 6) {
        fprintf(stderr, "usage: %s SERVER USER MEETING_ID /abs/path.mp4 SECONDS\n", argv[0]);
        return 2;
    }
    CRVideo_Init("{}");
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.EnterMeetingRslt = on_enter;
    cbs.RecordStateChanged = on_record_state;
    cbs.RecordErr = on_record_err;
    cbs.NotifyRecordFileStateChanged = on_upload_state;
    cbs.NotifyRecordFileUploadProgress = on_upload_progress;
    cbs.UploadRecordFileErr = on_upload_err;
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
    rc = record(argv[2], argv[4], atoi(argv[5]));
    CRVideo_ExitMeeting();
    CRVideo_Uninit();
    printf(rc == 0 ? "done\n" : "failed\n");
    return rc;
}
