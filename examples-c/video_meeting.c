/* video_meeting.c: video between two members of a meeting. Run it twice, once per member:
 *
 * Build: cc -std=c99 video_meeting.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./video_meeting 127.0.0.1:2727 alice send MEETING_ID &
 *        ./video_meeting 127.0.0.1:2727 bob watch MEETING_ID OUT_DIR
 *        (MEETING_ID of a meeting without password, e.g. from call_and_meeting's CreateMeeting)
 *
 * The sender creates a custom camera (640x360 RGBA), opens its video and sends a moving
 * pattern at 15 frames a second until the watcher has left (at most 30 s). The watcher
 * waits for pictures of the sender's camera and writes three of them, a second apart, to
 * OUT_DIR/frame-N.ppm (any image viewer opens PPM), then leaves.
 *
 * Shows: custom cameras (the SDK encodes what the app gives it; it captures nothing
 * itself), NotifyVideoData as a "new picture" signal that does not repeat until the app
 * took one with CRVideo_GetVideoImg, and pictures in the format and size the app asks for. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WIDTH 640
#define HEIGHT 360
#define FPS 15

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, entered, failure, other_left, new_picture;
static char sender[64];

static void set(int *flag) {
    pthread_mutex_lock(&lock);
    *flag = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void fail(const char *what, int sdkErr) {
    printf("%s: %s\n", what, CRVideo_GetErrorDesc(sdkErr));
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

static void on_user_left(void *ud, const char *userID) {
    (void)ud, (void)userID;
    set(&other_left);
}

/* Runs on the SDK's callback thread: only note it; the main thread takes the picture. */
static void on_video_data(void *ud, const char *userID, int videoID, int64_t frmTime) {
    (void)ud, (void)videoID, (void)frmTime;
    pthread_mutex_lock(&lock);
    snprintf(sender, sizeof sender, "%s", userID);
    new_picture = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* A moving picture: a scrolling colour gradient and a square crossing it. */
static void draw(uint8_t *rgba, long long ms) {
    int x, y, cx = (int)(ms / 8 % (WIDTH + 80)) - 40;
    for (y = 0; y < HEIGHT; y++) {
        for (x = 0; x < WIDTH; x++) {
            uint8_t *p = rgba + ((size_t)y * WIDTH + (size_t)x) * 4;
            int square = x >= cx - 32 && x < cx + 32 && y >= HEIGHT / 2 - 32 && y < HEIGHT / 2 + 32;
            p[0] = (uint8_t)(x * 200 / WIDTH + ms / 20);
            p[1] = (uint8_t)(y * 220 / HEIGHT + 16);
            p[2] = square ? 240 : 64;
            p[3] = 255;
        }
    }
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

static int send_video(const char *me) {
    int camera = 0, rc;
    long long start = now_ms(), next = start;
    uint8_t *rgba = malloc((size_t)WIDTH * HEIGHT * 4);
    rc = CRVideo_CreateCustomVideoDev("pattern", CRVIDEOSDK_VFMT_RGBA32, WIDTH, HEIGHT,
                                      "{\"fps\":15,\"maxKbps\":1000}", &camera);
    if (rc != 0 || CRVideo_OpenVideo(me) != 0) {
        printf("camera: %s\n", CRVideo_GetErrorDesc(rc));
        free(rgba);
        return 1;
    }
    printf("sending camera %d\n", camera);
    fflush(stdout);
    while (now_ms() - start < 30000) {
        if (wait_flag(&other_left, 0) == 0) {
            break;
        }
        draw(rgba, now_ms() - start);
        CRVideo_InputCustomVideoDat(camera, rgba, (size_t)WIDTH * HEIGHT * 4, now_ms() - start);
        next += 1000 / FPS;
        if (next > now_ms()) {
            sleep_ms((long)(next - now_ms()));
        }
    }
    free(rgba);
    CRVideo_DestroyCustomVideoDev(camera);
    return 0;
}

static int write_ppm(const char *path, const CRVideo_VideoImg *img) {
    FILE *fp = fopen(path, "wb");
    int i;
    if (fp == NULL) {
        return 1;
    }
    fprintf(fp, "P6\n%d %d\n255\n", img->width, img->height);
    for (i = 0; i < img->width * img->height; i++) {
        fwrite(img->data + (size_t)i * 4, 1, 3, fp); /* R, G, B of RGBA */
    }
    return fclose(fp) != 0;
}

static int watch_video(const char *out_dir) {
    int written = 0;
    long long last = 0;
    while (written < 3) {
        CRVideo_VideoImg *img = NULL;
        char path[512];
        if (wait_flag(&new_picture, 30) != 0) {
            printf("no picture\n");
            return 1;
        }
        /* Takes the newest picture (which re-arms NotifyVideoData); keep one a second. */
        if (CRVideo_GetVideoImg(sender, CRVideo_GetDefaultVideo(sender), CRVIDEOSDK_VFMT_RGBA32,
                                0, 0, &img) != 0) {
            continue;
        }
        if (written == 0 || img->frameTime - last >= 1000) {
            snprintf(path, sizeof path, "%s/frame-%d.ppm", out_dir, written);
            if (write_ppm(path, img) != 0) {
                printf("cannot write %s\n", path);
                CRVideo_FreeVideoImg(img);
                return 1;
            }
            printf("wrote %s: %dx%d, sent at %lld ms\n", path, img->width, img->height,
                   (long long)img->frameTime);
            last = img->frameTime;
            written++;
        }
        CRVideo_FreeVideoImg(img);
    }
    return 0;
}

int main(int argc, char **argv) {
    CRVideo_Callbacks cbs;
    int rc;
    if (argc < 5 || (strcmp(argv[3], "watch") == 0 && argc < 6)) {
        fprintf(stderr, "usage: %s SERVER USER send|watch MEETING_ID [OUT_DIR]\n", argv[0]);
        return 2;
    }
    CRVideo_Init("{}");
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.EnterMeetingRslt = on_enter;
    cbs.UserLeftMeeting = on_user_left;
    cbs.NotifyVideoData = on_video_data;
    CRVideo_SetCallbacks(&cbs, NULL);
    CRVideo_SetServerAddr(argv[1]);
    CRVideo_Login("demo", "demo123", argv[2], argv[2], "", "");
    if (wait_flag(&logged_in, 30) != 0) {
        CRVideo_Uninit();
        return 1;
    }
    CRVideo_EnterMeeting(atoi(argv[4]), "");
    if (wait_flag(&entered, 30) != 0) {
        CRVideo_Uninit();
        return 1;
    }
    rc = strcmp(argv[3], "send") == 0 ? send_video(argv[2]) : watch_video(argv[5]);
    CRVideo_ExitMeeting();
    CRVideo_Uninit();
    printf(rc == 0 ? "done\n" : "failed\n");
    return rc;
}
