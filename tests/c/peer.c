/* peer: one SDK instance driven line by line, so the Rust tests can run several users in
 * several processes. Compiled with -std=c99 -Wall -Wextra -Werror against the generated
 * header by tests/common/peer.rs.
 *
 * stdin, one command per line, fields separated by TABs:
 *   init <json> | login <tenant> <pswd> <nick> <user> <cookie> | logout | uninit
 *   dnd <value> <cookie> | get_status <cookie> | notify_start <cookie> | notify_stop <cookie>
 *   create_meeting <subject> <createPswd> <cookie> | destroy_meeting <id> <cookie>
 *   get_meetings <cookie> | call <callee> <meetObj> <usrExtDat> <cookie>
 *   accept <callID> <meetObj> <usrExtDat> <cookie> | reject <callID> <usrExtDat> <cookie>
 *   hangup <callID> <usrExtDat> <cookie> | invite <called> <meetObj> <cookie>
 *   cancel_invite <inviteID> <cookie>
 *   send_cmd <target> <hex data> <cookie> | send_buffer <target> <hex data> <cookie>
 *   send_pattern <target> <len> <seed> <cookie>   (a SendBuffer of pattern(len, seed))
 *   lend_pattern <target> <len> <seed> <cookie> <loan> [null-data|null-release]
 *       (SendBufferNoCopy of a malloc'd pattern; its release prints "Released<TAB>loan<TAB>
 *       len", scribbles over the buffer and frees it)
 *   send_file <target> <path> <cookie> | cancel_send <taskID>
 *   slow <ms>   (every data callback sleeps that long: a slow app)
 *   queue_init <cookie> | queue_refresh | start_queuing <queID> <usrExtDat> <cookie>
 *   stop_queuing <cookie> | start_service <queID> <prio> <cookie> | stop_service <queID> <cookie>
 *   req_assign <cookie> | accept_assign <queID> <usrID> <cookie> | reject_assign <queID> <usrID> <cookie>
 *   all_queue_info | queue_status <queID> | queuing_info | serving_queues   (print the JSON as RC)
 *   enter <meetID> <pswd> | exit_meeting | stop_meeting | members (JSON as RC)
 *   open_mic <user> | close_mic <user> | open_video <user> | close_video <user>
 *   im <text> <toUserID> <cookie>   (the task ID as RC)
 *   start_share | stop_share | give_ctrl <user> | release_ctrl <user> | page <main> <id>
 *   wall <mode> | main_video <user>
 *   create_board <title> <width> <height> <pageCount>   (the ID as RC, or NULL:<last error>)
 *   close_board <boardID> | element_id (the ID as RC) | add_el <boardID> <page> <json>
 *   mod_el <boardID> <page> <json> | del_el <boardID> <page> <ids> | hot_spot <boardID> <page> <x> <y>
 *   cam <name> <fmt> <w> <h> <extJson>   (prints "VideoID<TAB>id" before RC)
 *   cam_destroy <id> | cam_default <id> | default_video <user> (RC: the ID)
 *   video_info <user> (JSON as RC) | watch <json, or NULL>
 *   feed <id> <fmt> <w> <h> <fps> <seed> [still ms]   (a thread feeds video_pattern at fps,
 *       each picture stamped with the feed clock: ms since the first feed started; with
 *       still ms, always the pattern of that time) | feed_stop <id>
 *   feed_clock   (RC: the feed clock now)
 *   img <user> <id> <fmt> <maxW> <maxH> <seed> <srcW> <srcH> <ppmPath or ->
 *       (GetVideoImg; prints "Img<TAB>w<TAB>h<TAB>frameTime<TAB>PSNR dB against the pattern
 *       of that time (99 when identical; -1 when scaled)" before RC; writes the picture as
 *       a PPM file unless the path is "-" or the format is YUV)
 *   screen_cfg <json> | catch_screen <0|1>   (NotifyCatchScreen is answered with the screen)
 *   screen_text <w> <h> <seed> <push>   (the screen: pseudo text, 12 px glyphs on white)
 *   screen_paint <left> <top> <w> <h> <grey> <push> | screen_push
 *       (the screen is kept here; push 1: CRVideo_SetCustomizeScreenImg, 0: only kept, as
 *       the reference a viewer compares with)
 *   screen_get <ppmPath or ->   (GetShareScreenDecodeImg as RGBA; prints
 *       "Screen<TAB>w<TAB>h<TAB>PSNR dB against the kept screen (-1: other size)")
 *   audio: see peer_audio.h (tone, listen, spectrum, onset, mic_energy, …)
 *   net disk and board backgrounds: see peer_netdisk.h (nd_*, board_bk)
 *   recording: see peer_record.h (rec_*, pattern_ppm, fsize_limit)
 *   shared media playback: see peer_media.h (media_*)
 * Each command prints "RC<TAB><return value>" (for call and invite: the returned ID, or
 * "NULL"). Every callback prints one line (tests/c/recorder.h): its name, then its
 * arguments, TAB-separated; received data as its length and FNV-1a-64. stdout is flushed
 * after every line. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <dirent.h>
#endif

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...) {
    va_list ap;
    pthread_mutex_lock(&out_lock);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static volatile int slow_ms;

static void nap(void) {
    if (slow_ms > 0) {
        struct timespec t;
        t.tv_sec = slow_ms / 1000;
        t.tv_nsec = (long)(slow_ms % 1000) * 1000000L;
        nanosleep(&t, NULL);
    }
}

static unsigned long long fnv1a(const uint8_t *data, size_t len) {
    unsigned long long h = 14695981039346656037ULL;
    size_t i;
    for (i = 0; i < len; i++) {
        h ^= data[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The test pattern: byte i of pattern(len, seed), NULs included. */
static uint8_t pattern_byte(size_t i, unsigned seed) {
    return (uint8_t)((i * 131u + seed + (i >> 11)) & 0xff);
}

/* CRVideo_SendBufferNoCopy's release: says so, then scribbles over the buffer and frees
 * it, so that a read by the SDK after it would send garbage (or trip ASan). */
static void release_loan(void *loan, const uint8_t *data, size_t len) {
    emit("Released\t%lu\t%lu", (unsigned long)(uintptr_t)loan, (unsigned long)len);
    if (data != NULL) {
        memset((void *)(uintptr_t)data, 0xEE, len);
    }
    free((void *)(uintptr_t)data);
}

/* The moving video test pattern at time `ms`: a horizontal gradient scrolling right, a
 * vertical one, and a square crossing the picture. */
static void video_pattern(long long ms, int x, int y, int w, int h, unsigned seed, uint8_t rgb[3]) {
    int cx = (int)((ms / 8 + seed * 37) % (w + 80)) - 40;
    int cy = h / 2 + (int)((seed * 53) % (h / 4 + 1)) - h / 8;
    int in_square = x >= cx - 32 && x < cx + 32 && y >= cy - 32 && y < cy + 32;
    rgb[0] = (uint8_t)((x * 200 / w + ms / 20 + seed) & 0xff);
    rgb[1] = (uint8_t)(y * 220 / h + 16);
    rgb[2] = in_square ? 240 : (uint8_t)(64 + (seed & 63));
}

static double luma(const uint8_t rgb[3]) {
    return 16.0 + (65.481 * rgb[0] + 128.553 * rgb[1] + 24.966 * rgb[2]) / 255.0;
}

/* The pattern as a picture in `fmt` (CRVIDEOSDK_VFMT_*); malloc'ed. */
static uint8_t *video_picture(long long ms, int fmt, int w, int h, unsigned seed, size_t *len) {
    size_t pixels = (size_t)w * (size_t)h;
    uint8_t *out;
    int x, y;
    *len = fmt == CRVIDEOSDK_VFMT_YUV420P ? pixels * 3 / 2 : pixels * 4;
    out = malloc(*len);
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            uint8_t rgb[3];
            uint8_t *p = out + ((size_t)y * (size_t)w + (size_t)x) * 4;
            video_pattern(ms, x, y, w, h, seed, rgb);
            if (fmt == CRVIDEOSDK_VFMT_YUV420P) {
                out[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)(luma(rgb) + 0.5);
                if (x % 2 == 0 && y % 2 == 0) {
                    size_t c = (size_t)(y / 2) * (size_t)(w / 2) + (size_t)(x / 2);
                    double u = 128.0 + (-37.797 * rgb[0] - 74.203 * rgb[1] + 112.0 * rgb[2]) / 255.0;
                    double v = 128.0 + (112.0 * rgb[0] - 93.786 * rgb[1] - 18.214 * rgb[2]) / 255.0;
                    out[pixels + c] = (uint8_t)(u + 0.5);
                    out[pixels + pixels / 4 + c] = (uint8_t)(v + 0.5);
                }
            } else if (fmt == CRVIDEOSDK_VFMT_ARGB32) {
                p[0] = rgb[2], p[1] = rgb[1], p[2] = rgb[0], p[3] = 255;
            } else {
                p[0] = rgb[0], p[1] = rgb[1], p[2] = rgb[2], p[3] = 255;
            }
        }
    }
    return out;
}

/* PSNR (dB) of `img` against the pattern of its frame time: over R, G, B for the RGB
 * formats, over Y for I420. 99 when identical. */
static double video_psnr(const CRVideo_VideoImg *img, unsigned seed) {
    double se = 0;
    size_t count = 0;
    int x, y;
    for (y = 0; y < img->height; y++) {
        for (x = 0; x < img->width; x++) {
            uint8_t rgb[3];
            size_t at = (size_t)y * (size_t)img->width + (size_t)x;
            video_pattern(img->frameTime, x, y, img->width, img->height, seed, rgb);
            if (img->format == CRVIDEOSDK_VFMT_YUV420P) {
                double d = img->data[at] - luma(rgb);
                se += d * d;
                count++;
            } else {
                const uint8_t *p = img->data + at * 4;
                int c;
                for (c = 0; c < 3; c++) {
                    int got = img->format == CRVIDEOSDK_VFMT_ARGB32 ? p[2 - c] : p[c];
                    double d = got - rgb[c];
                    se += d * d;
                    count++;
                }
            }
        }
    }
    if (se == 0) {
        return 99.0;
    }
    return 10.0 * log10(255.0 * 255.0 / (se / (double)count));
}

static void write_ppm(const char *path, const CRVideo_VideoImg *img) {
    FILE *fp = fopen(path, "wb");
    int i;
    if (fp == NULL) {
        return;
    }
    fprintf(fp, "P6\n%d %d\n255\n", img->width, img->height);
    for (i = 0; i < img->width * img->height; i++) {
        const uint8_t *p = img->data + (size_t)i * 4;
        uint8_t rgb[3];
        if (img->format == CRVIDEOSDK_VFMT_ARGB32) {
            rgb[0] = p[2], rgb[1] = p[1], rgb[2] = p[0];
        } else {
            rgb[0] = p[0], rgb[1] = p[1], rgb[2] = p[2];
        }
        fwrite(rgb, 1, 3, fp);
    }
    fclose(fp);
}

static long long monotonic_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The screen image (RGBA) this peer shares, or compares with. */
static uint8_t *screen;
static int screen_w, screen_h;
static pthread_mutex_t screen_lock = PTHREAD_MUTEX_INITIALIZER;

static int push_screen(void) {
    int rc;
    pthread_mutex_lock(&screen_lock);
    rc = screen == NULL ? -1
                        : CRVideo_SetCustomizeScreenImg(CRVIDEOSDK_VFMT_RGBA32, screen_w, screen_h,
                                                        screen, (size_t)screen_w * screen_h * 4);
    pthread_mutex_unlock(&screen_lock);
    return rc;
}

/* Pseudo text: lines of 12 px glyphs made of 1 px strokes, dark on white. */
static void screen_text(int w, int h, unsigned seed) {
    int x, y;
    pthread_mutex_lock(&screen_lock);
    free(screen);
    screen = malloc((size_t)w * h * 4);
    screen_w = w, screen_h = h;
    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            int cx = x / 8, row = y / 16, gx = x % 8, gy = y % 16;
            unsigned glyph = (unsigned)(cx * 2654435761u) ^ (unsigned)(row * 40503u) ^ seed;
            int ink = 0;
            glyph ^= glyph >> 13;
            glyph *= 0x5bd1e995u;
            glyph ^= glyph >> 15;
            if (gy >= 2 && gy < 14 && gx >= 1 && gx < 7 && (cx % 9) != 8) {
                ink = ((glyph & 1) && gx == 1) || ((glyph & 2) && gx == 6) ||
                      ((glyph & 4) && gy == 2) || ((glyph & 8) && gy == 7) ||
                      ((glyph & 16) && gy == 13) || ((glyph & 32) && gx == 3 + (gy & 1));
            }
            {
                uint8_t *p = screen + ((size_t)y * w + x) * 4;
                p[0] = p[1] = p[2] = ink ? 24 : 250;
                p[3] = 255;
            }
        }
    }
    pthread_mutex_unlock(&screen_lock);
}

static void screen_paint(int left, int top, int w, int h, int grey) {
    int x, y;
    pthread_mutex_lock(&screen_lock);
    for (y = top; y < top + h && y < screen_h; y++) {
        for (x = left; x < left + w && x < screen_w; x++) {
            uint8_t *p = screen + ((size_t)y * screen_w + x) * 4;
            p[0] = p[1] = p[2] = (uint8_t)grey;
        }
    }
    pthread_mutex_unlock(&screen_lock);
}

/* PSNR of an RGBA picture against the kept screen (-1 when the sizes differ). */
static double screen_psnr(const CRVideo_VideoImg *img) {
    double se = 0;
    size_t i, n;
    if (screen == NULL || img->width != screen_w || img->height != screen_h) {
        return -1;
    }
    n = (size_t)screen_w * screen_h * 4;
    for (i = 0; i < n; i++) {
        if (i % 4 != 3) {
            double d = (double)img->data[i] - screen[i];
            se += d * d;
        }
    }
    return se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / (se / ((double)n * 3 / 4)));
}

/* Feeders: one thread per camera being fed. */
static long long feed_epoch = -1;
static pthread_mutex_t feed_lock = PTHREAD_MUTEX_INITIALIZER;

static long long feed_clock(void) {
    long long now;
    pthread_mutex_lock(&feed_lock);
    if (feed_epoch < 0) {
        feed_epoch = monotonic_ms() - 1;
    }
    now = monotonic_ms() - feed_epoch;
    pthread_mutex_unlock(&feed_lock);
    return now;
}

struct feeder {
    int id, fmt, w, h, fps;
    unsigned seed;
    long long still; /* >= 0: always the pattern of this time */
    volatile int running;
    pthread_t thread;
};
static struct feeder feeders[8];

static void *feed_loop(void *arg) {
    struct feeder *fd = arg;
    long long next = feed_clock();
    while (fd->running) {
        long long ms = feed_clock();
        size_t len;
        uint8_t *pic;
        if (ms < next) {
            struct timespec t;
            t.tv_sec = 0;
            t.tv_nsec = (long)(next - ms) * 1000000L;
            nanosleep(&t, NULL);
            continue;
        }
        pic = video_picture(fd->still >= 0 ? fd->still : ms, fd->fmt, fd->w, fd->h, fd->seed, &len);
        CRVideo_InputCustomVideoDat(fd->id, pic, len, ms);
        free(pic);
        next += 1000 / fd->fps;
    }
    return NULL;
}

static uint8_t *from_hex(const char *hex, size_t *len) {
    size_t n = strlen(hex) / 2, i;
    uint8_t *out = malloc(n + 1);
    for (i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    *len = n;
    return out;
}

/* Runs before each recorded callback: the data callbacks take `slow_ms` (a slow app). */
static void before_callback(const char *name) {
    if (strcmp(name, "NotifyCmdData") == 0 || strcmp(name, "NotifyBufferData") == 0 ||
        strcmp(name, "NotifyFileData") == 0 || strcmp(name, "NotifyVideoData") == 0) {
        nap();
    }
    if (strcmp(name, "NotifyCatchScreen") == 0) {
        push_screen();
    }
}

/* rec_<member> for every callback, and recorder_register(); generated from
 * CRVideo_Callbacks by build.rs. */
#include "recorder.h"

static void on_audio_pcm(void *ud, int aSide, const uint8_t *pcm, size_t len);

static void register_callbacks(void) {
    CRVideo_Callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    recorder_register(&cbs);
    /* Kept for measuring, not printed (100 a second). */
    cbs.NotifyAudioPCMDat = on_audio_pcm;
    CRVideo_SetCallbacks(&cbs, NULL);
}

/* Splits `line` at TABs in place; returns the number of fields. */
static int split(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL) {
            break;
        }
        *p++ = '\0';
    }
    return n;
}

/* The i-th argument, or "" when absent. */
#define ARG(i) (n > (i) ? f[i] : "")

#include "peer_audio.h"
#include "peer_netdisk.h"
#include "peer_record.h"
#include "peer_media.h"

/* The commands of the side headers: each returns 0 (not its command), 1 (done: print its
   return value) or 2 (done, it printed its own RC). */
typedef int (*side_command)(char **f, int n, int *rc);
static const side_command side_commands[] = {audio_command, record_command, netdisk_command,
                                             media_command};

/* Prints the string an ID- or JSON-returning call gave (as the command's result), and frees
 * it. */
static void emit_id(char *id) {
    if (id == NULL) {
        emit("RC\tNULL");
    } else {
        emit("RC\t%s", id);
        CRVideo_FreeString(id);
    }
}

/* Prints "RC\t" and the names of this process's SDK threads (`crvideo-*`), comma-separated,
   or "none" (Linux: /proc/self/task; elsewhere always "none"). */
static void emit_sdk_threads(void) {
    char names[4096] = "";
#ifdef __linux__
    DIR *dir = opendir("/proc/self/task");
    struct dirent *entry;
    while (dir != NULL && (entry = readdir(dir)) != NULL) {
        char path[300];
        char comm[64] = "";
        FILE *fp;
        if (entry->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        fp = fopen(path, "r");
        if (fp == NULL) {
            continue; /* the thread ended meanwhile */
        }
        if (fgets(comm, sizeof comm, fp) != NULL) {
            comm[strcspn(comm, "\n")] = '\0';
            if (strncmp(comm, "crvideo-", 8) == 0 &&
                strlen(names) + strlen(comm) + 2 < sizeof names) {
                if (names[0] != '\0') {
                    strcat(names, ",");
                }
                strcat(names, comm);
            }
        }
        fclose(fp);
    }
    if (dir != NULL) {
        closedir(dir);
    }
#endif
    emit("RC\t%s", names[0] != '\0' ? names : "none");
}

int main(void) {
    static char line[1 << 18];
    char *f[16];
    while (fgets(line, sizeof line, stdin) != NULL) {
        int n, rc, handled;
        size_t h;
        line[strcspn(line, "\r\n")] = '\0';
        n = split(line, f, 16);
        handled = 0;
        for (h = 0; h < sizeof side_commands / sizeof side_commands[0] && !handled; h++) {
            handled = side_commands[h](f, n, &rc);
        }
        if (handled == 1) {
            emit("RC\t%d", rc);
        }
        if (handled != 0) {
            continue; /* 2: it printed its own RC */
        }
        if (strcmp(f[0], "init") == 0) {
            rc = CRVideo_Init(ARG(1));
            if (rc == 0) {
                register_callbacks();
            }
        } else if (strcmp(f[0], "login") == 0) {
            rc = CRVideo_Login(ARG(1), ARG(2), ARG(3), ARG(4), "", ARG(5));
        } else if (strcmp(f[0], "logout") == 0) {
            rc = CRVideo_Logout();
        } else if (strcmp(f[0], "uninit") == 0) {
            CRVideo_Uninit();
            rc = 0;
        } else if (strcmp(f[0], "sdk_threads") == 0) {
            emit_sdk_threads();
            continue;
        } else if (strcmp(f[0], "dnd") == 0) {
            rc = CRVideo_SetDNDStatus(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "get_status") == 0) {
            rc = CRVideo_GetUserStatus(ARG(1));
        } else if (strcmp(f[0], "notify_start") == 0) {
            rc = CRVideo_StartUserStatusNotify(ARG(1));
        } else if (strcmp(f[0], "notify_stop") == 0) {
            rc = CRVideo_StopUserStatusNotify(ARG(1));
        } else if (strcmp(f[0], "create_meeting") == 0) {
            rc = CRVideo_CreateMeeting(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "destroy_meeting") == 0) {
            rc = CRVideo_DestroyMeeting(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "get_meetings") == 0) {
            rc = CRVideo_GetMeetings(ARG(1));
        } else if (strcmp(f[0], "call") == 0) {
            emit_id(CRVideo_Call(ARG(1), ARG(2), ARG(3), ARG(4)));
            continue;
        } else if (strcmp(f[0], "accept") == 0) {
            rc = CRVideo_AcceptCall(ARG(1), ARG(2), ARG(3), ARG(4));
        } else if (strcmp(f[0], "reject") == 0) {
            rc = CRVideo_RejectCall(ARG(1), ARG(2), ARG(3));
        } else if (strcmp(f[0], "hangup") == 0) {
            rc = CRVideo_HungupCall(ARG(1), ARG(2), ARG(3));
        } else if (strcmp(f[0], "invite") == 0) {
            emit_id(CRVideo_ClientInvite(ARG(1), ARG(2), ARG(3)));
            continue;
        } else if (strcmp(f[0], "cancel_invite") == 0) {
            rc = CRVideo_ClientCancelInvite(ARG(1), ARG(2));
        } else if (strcmp(f[0], "send_cmd") == 0 || strcmp(f[0], "send_buffer") == 0) {
            size_t len;
            uint8_t *data = from_hex(ARG(2), &len);
            if (strcmp(f[0], "send_cmd") == 0) {
                emit_id(CRVideo_SendCmd(ARG(1), data, len, ARG(3)));
            } else {
                emit_id(CRVideo_SendBuffer(ARG(1), data, len, ARG(3)));
            }
            free(data); /* the SDK copied what it needs */
            continue;
        } else if (strcmp(f[0], "send_pattern") == 0) {
            size_t len = (size_t)strtoull(ARG(2), NULL, 10), i;
            unsigned seed = (unsigned)atoi(ARG(3));
            uint8_t *data = malloc(len + 1);
            for (i = 0; i < len; i++) {
                data[i] = pattern_byte(i, seed);
            }
            emit_id(CRVideo_SendBuffer(ARG(1), data, len, ARG(4)));
            free(data);
            continue;
        } else if (strcmp(f[0], "lend_pattern") == 0) {
            size_t len = (size_t)strtoull(ARG(2), NULL, 10), i;
            unsigned seed = (unsigned)atoi(ARG(3));
            void *loan = (void *)(uintptr_t)strtoul(ARG(5), NULL, 10);
            const char *how = n > 6 ? f[6] : "";
            uint8_t *data = malloc(len + 1);
            for (i = 0; i < len; i++) {
                data[i] = pattern_byte(i, seed);
            }
            if (strcmp(how, "null-data") == 0) {
                free(data);
                data = NULL;
            }
            if (strcmp(how, "null-release") == 0) {
                emit_id(CRVideo_SendBufferNoCopy(ARG(1), data, len, NULL, loan, ARG(4)));
                free(data); /* never lent */
            } else {
                emit_id(CRVideo_SendBufferNoCopy(ARG(1), data, len, release_loan, loan, ARG(4)));
            }
            continue;
        } else if (strcmp(f[0], "send_file") == 0) {
            emit_id(CRVideo_SendFile(ARG(1), ARG(2), ARG(3)));
            continue;
        } else if (strcmp(f[0], "cancel_send") == 0) {
            rc = CRVideo_CancelSend(ARG(1));
        } else if (strcmp(f[0], "queue_init") == 0) {
            rc = CRVideo_InitQueueDat(ARG(1));
        } else if (strcmp(f[0], "queue_refresh") == 0) {
            rc = CRVideo_RefreshAllQueueStatus();
        } else if (strcmp(f[0], "start_queuing") == 0) {
            rc = CRVideo_StartQueuing(atoi(ARG(1)), ARG(2), ARG(3));
        } else if (strcmp(f[0], "stop_queuing") == 0) {
            rc = CRVideo_StopQueuing(ARG(1));
        } else if (strcmp(f[0], "start_service") == 0) {
            rc = CRVideo_StartService(atoi(ARG(1)), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "stop_service") == 0) {
            rc = CRVideo_StopService(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "req_assign") == 0) {
            rc = CRVideo_ReqAssignUser(ARG(1));
        } else if (strcmp(f[0], "accept_assign") == 0) {
            rc = CRVideo_AcceptAssignUser(atoi(ARG(1)), ARG(2), ARG(3));
        } else if (strcmp(f[0], "reject_assign") == 0) {
            rc = CRVideo_RejectAssignUser(atoi(ARG(1)), ARG(2), ARG(3));
        } else if (strcmp(f[0], "all_queue_info") == 0) {
            emit_id(CRVideo_GetAllQueueInfo());
            continue;
        } else if (strcmp(f[0], "queue_status") == 0) {
            emit_id(CRVideo_GetQueueStatus(atoi(ARG(1))));
            continue;
        } else if (strcmp(f[0], "queuing_info") == 0) {
            emit_id(CRVideo_GetQueuingInfo());
            continue;
        } else if (strcmp(f[0], "serving_queues") == 0) {
            emit_id(CRVideo_GetServingQueues());
            continue;
        } else if (strcmp(f[0], "enter") == 0) {
            rc = CRVideo_EnterMeeting(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "exit_meeting") == 0) {
            rc = CRVideo_ExitMeeting();
        } else if (strcmp(f[0], "stop_meeting") == 0) {
            rc = CRVideo_StopMeeting();
        } else if (strcmp(f[0], "members") == 0) {
            emit_id(CRVideo_GetAllMembers());
            continue;
        } else if (strcmp(f[0], "open_mic") == 0) {
            rc = CRVideo_OpenMic(ARG(1));
        } else if (strcmp(f[0], "close_mic") == 0) {
            rc = CRVideo_CloseMic(ARG(1));
        } else if (strcmp(f[0], "open_video") == 0) {
            rc = CRVideo_OpenVideo(ARG(1));
        } else if (strcmp(f[0], "close_video") == 0) {
            rc = CRVideo_CloseVideo(ARG(1));
        } else if (strcmp(f[0], "im") == 0) {
            emit_id(CRVideo_SendIMmsg(ARG(1), ARG(2), ARG(3)));
            continue;
        } else if (strcmp(f[0], "start_share") == 0) {
            rc = CRVideo_StartScreenShare();
        } else if (strcmp(f[0], "stop_share") == 0) {
            rc = CRVideo_StopScreenShare();
        } else if (strcmp(f[0], "give_ctrl") == 0) {
            rc = CRVideo_GiveCtrlRight(ARG(1));
        } else if (strcmp(f[0], "release_ctrl") == 0) {
            rc = CRVideo_ReleaseCtrlRight(ARG(1));
        } else if (strcmp(f[0], "page") == 0) {
            rc = CRVideo_SwitchToPage(atoi(ARG(1)), ARG(2));
        } else if (strcmp(f[0], "wall") == 0) {
            rc = CRVideo_SetVideoWallMode(atoi(ARG(1)));
        } else if (strcmp(f[0], "main_video") == 0) {
            rc = CRVideo_SetMainVideo(ARG(1));
        } else if (strcmp(f[0], "create_board") == 0) {
            char *id = CRVideo_CreateBoard(ARG(1), atoi(ARG(2)), atoi(ARG(3)), atoi(ARG(4)));
            if (id == NULL) {
                emit("RC\tNULL:%d", CRVideo_GetLastError());
            } else {
                emit_id(id);
            }
            continue;
        } else if (strcmp(f[0], "close_board") == 0) {
            rc = CRVideo_CloseBoard(ARG(1));
        } else if (strcmp(f[0], "element_id") == 0) {
            emit_id(CRVideo_CreateElementID());
            continue;
        } else if (strcmp(f[0], "add_el") == 0) {
            rc = CRVideo_AddBoardElement(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "mod_el") == 0) {
            rc = CRVideo_ModifyBoardElement(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "del_el") == 0) {
            rc = CRVideo_DelBoardElement(ARG(1), atoi(ARG(2)), ARG(3));
        } else if (strcmp(f[0], "hot_spot") == 0) {
            rc = CRVideo_SetMouseHotSpot(ARG(1), atoi(ARG(2)), atoi(ARG(3)), atoi(ARG(4)));
        } else if (strcmp(f[0], "cam") == 0) {
            int id = 0;
            rc = CRVideo_CreateCustomVideoDev(ARG(1), atoi(ARG(2)), atoi(ARG(3)), atoi(ARG(4)),
                                              ARG(5), &id);
            emit("VideoID\t%d", id);
        } else if (strcmp(f[0], "cam_destroy") == 0) {
            rc = CRVideo_DestroyCustomVideoDev(atoi(ARG(1)));
        } else if (strcmp(f[0], "cam_default") == 0) {
            rc = CRVideo_SetDefaultVideo(atoi(ARG(1)));
        } else if (strcmp(f[0], "default_video") == 0) {
            rc = CRVideo_GetDefaultVideo(ARG(1));
        } else if (strcmp(f[0], "video_info") == 0) {
            emit_id(CRVideo_GetAllVideoInfo(ARG(1)));
            continue;
        } else if (strcmp(f[0], "watch") == 0) {
            rc = CRVideo_SetWatchVideos(strcmp(ARG(1), "NULL") == 0 ? NULL : ARG(1));
        } else if (strcmp(f[0], "feed") == 0) {
            struct feeder *fd = &feeders[atoi(ARG(1)) & 7];
            fd->id = atoi(ARG(1));
            fd->fmt = atoi(ARG(2));
            fd->w = atoi(ARG(3));
            fd->h = atoi(ARG(4));
            fd->fps = atoi(ARG(5)) > 0 ? atoi(ARG(5)) : 15;
            fd->seed = (unsigned)atoi(ARG(6));
            fd->still = n > 7 ? atoll(ARG(7)) : -1;
            fd->running = 1;
            rc = pthread_create(&fd->thread, NULL, feed_loop, fd);
        } else if (strcmp(f[0], "feed_stop") == 0) {
            struct feeder *fd = &feeders[atoi(ARG(1)) & 7];
            fd->running = 0;
            rc = pthread_join(fd->thread, NULL);
        } else if (strcmp(f[0], "feed_clock") == 0) {
            rc = (int)feed_clock();
        } else if (strcmp(f[0], "img") == 0) {
            CRVideo_VideoImg *img = NULL;
            rc = CRVideo_GetVideoImg(ARG(1), atoi(ARG(2)), atoi(ARG(3)), atoi(ARG(4)),
                                     atoi(ARG(5)), &img);
            if (rc == 0) {
                int same = img->width == atoi(ARG(7)) && img->height == atoi(ARG(8));
                emit("Img\t%d\t%d\t%lld\t%.2f", img->width, img->height,
                     (long long)img->frameTime, same ? video_psnr(img, (unsigned)atoi(ARG(6))) : -1.0);
                if (strcmp(ARG(9), "-") != 0 && ARG(9)[0] != '\0' &&
                    img->format != CRVIDEOSDK_VFMT_YUV420P) {
                    write_ppm(ARG(9), img);
                }
                CRVideo_FreeVideoImg(img);
            }
        } else if (strcmp(f[0], "screen_cfg") == 0) {
            rc = CRVideo_SetScreenShareCfg(ARG(1));
        } else if (strcmp(f[0], "catch_screen") == 0) {
            rc = CRVideo_SetCustomizeCatchScreen(atoi(ARG(1)));
        } else if (strcmp(f[0], "screen_text") == 0) {
            screen_text(atoi(ARG(1)), atoi(ARG(2)), (unsigned)atoi(ARG(3)));
            rc = atoi(ARG(4)) ? push_screen() : 0;
        } else if (strcmp(f[0], "screen_paint") == 0) {
            screen_paint(atoi(ARG(1)), atoi(ARG(2)), atoi(ARG(3)), atoi(ARG(4)), atoi(ARG(5)));
            rc = atoi(ARG(6)) ? push_screen() : 0;
        } else if (strcmp(f[0], "screen_push") == 0) {
            rc = push_screen();
        } else if (strcmp(f[0], "screen_get") == 0) {
            CRVideo_VideoImg *img = NULL;
            rc = CRVideo_GetShareScreenDecodeImg(CRVIDEOSDK_VFMT_RGBA32, 0, 0, &img);
            if (rc == 0) {
                pthread_mutex_lock(&screen_lock);
                emit("Screen\t%d\t%d\t%.2f", img->width, img->height, screen_psnr(img));
                pthread_mutex_unlock(&screen_lock);
                if (strcmp(ARG(1), "-") != 0 && ARG(1)[0] != '\0') {
                    write_ppm(ARG(1), img);
                }
                CRVideo_FreeVideoImg(img);
            }
        } else if (strcmp(f[0], "slow") == 0) {
            slow_ms = atoi(ARG(1));
            rc = 0;
        } else {
            rc = -1;
        }
        emit("RC\t%d", rc);
    }
    tone_stop();
    pull_stop();
    CRVideo_Uninit();
    return 0;
}
