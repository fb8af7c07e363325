/* audio_meeting.c: audio between two members of a meeting. Run it twice, once per member:
 *
 * Build: cc -std=c99 audio_meeting.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./audio_meeting 127.0.0.1:2727 bob listen MEETING_ID OUT.wav &
 *        ./audio_meeting 127.0.0.1:2727 alice play MEETING_ID IN.wav
 *        (MEETING_ID of a meeting without password, e.g. from call_and_meeting's CreateMeeting;
 *        IN.wav a RIFF/WAVE file of 16-bit PCM, mono, 16000 Hz)
 *
 * The player opens its microphone, waits until another member is in the meeting, plays
 * half a second of silence, IN.wav and a second of silence into it at real time, closes its
 * microphone and waits (at most 10 s) for the listener to leave. The listener writes what
 * it hears to OUT.wav; once the player's level rose and fell back to 0 (at most 60 s), it
 * finishes the file and leaves. Both print the speaking levels as they change (a member's
 * own too, while its mic is open).
 *
 * Shows: the custom microphone (the SDK captures nothing itself: the app pushes 16 kHz
 * PCM, 20 ms every 20 ms, at real time), the speaker side (the mix of the other members)
 * written by the SDK as a WAV file, and MicEnergyUpdate to follow who speaks. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE 16000
#define BLOCK_MS 20
#define BLOCK_BYTES (RATE / 1000 * BLOCK_MS * 2) /* 640: 20 ms of 16-bit mono */
#define LEAD_MS 500 /* silence before the file */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, entered, failure, other_entered, other_left, mic_open;
static int other_spoke, other_quiet; /* the listener's view of the others' levels */
static const char *me; /* this user's ID */

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

static void on_user_entered(void *ud, const char *userID) {
    (void)ud, (void)userID;
    set(&other_entered);
}

static void on_user_left(void *ud, const char *userID) {
    (void)ud, (void)userID;
    set(&other_left);
}

/* The SDK sends pushed PCM only once its copy of the meeting shows this user's mic open,
 * which is when the server's AudioStatusChanged for it arrives (OpenMic has no result). */
static void on_audio_status(void *ud, const char *userID, int oldStatus, int newStatus) {
    (void)ud, (void)oldStatus;
    if (strcmp(userID, me) == 0 && newStatus == CRVIDEOSDK_AOPEN) {
        set(&mic_open);
    }
}

/* Runs on the SDK's callback thread: print it and note what the main thread waits for. */
static void on_mic_energy(void *ud, const char *userID, int oldLevel, int newLevel) {
    (void)ud;
    printf("level of %s: %d -> %d\n", userID, oldLevel, newLevel);
    fflush(stdout);
    if (strcmp(userID, me) == 0) {
        return;
    }
    pthread_mutex_lock(&lock);
    if (newLevel > 0) {
        other_spoke = 1;
    } else if (other_spoke) {
        other_quiet = 1;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void sleep_ms(long ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&t, NULL);
}

static unsigned long le32(const unsigned char *p) {
    return (unsigned long)p[0] | (unsigned long)p[1] << 8 | (unsigned long)p[2] << 16 |
           (unsigned long)p[3] << 24;
}

static unsigned le16(const unsigned char *p) {
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Reads the samples of a RIFF/WAVE file of 16-bit PCM, mono, 16000 Hz: walks its chunks to
 * "fmt " and "data" (other chunks are skipped). 0 and a malloc'ed `*pcm` of `*len` bytes
 * (little-endian, as the SDK takes them), else 1 with a message printed. */
static int read_wav(const char *path, uint8_t **pcm, size_t *len) {
    unsigned char head[12], chunk[8], fmt[16];
    int have_fmt = 0;
    FILE *fp = fopen(path, "rb");
    *pcm = NULL;
    *len = 0;
    if (fp == NULL) {
        printf("cannot open %s\n", path);
        return 1;
    }
    if (fread(head, 1, sizeof head, fp) != sizeof head || memcmp(head, "RIFF", 4) != 0 ||
        memcmp(head + 8, "WAVE", 4) != 0) {
        printf("%s: not a RIFF/WAVE file\n", path);
        fclose(fp);
        return 1;
    }
    while (fread(chunk, 1, sizeof chunk, fp) == sizeof chunk) {
        unsigned long size = le32(chunk + 4);
        if (memcmp(chunk, "fmt ", 4) == 0) {
            if (size < sizeof fmt || fread(fmt, 1, sizeof fmt, fp) != sizeof fmt) {
                break;
            }
            /* format 1 (PCM), channels, sample rate, ..., bits per sample */
            if (le16(fmt) != 1 || le16(fmt + 2) != 1 || le32(fmt + 4) != RATE ||
                le16(fmt + 14) != 16) {
                printf("%s: format %u, %u channels, %lu Hz, %u bits; "
                       "need PCM (1), 1 channel, 16000 Hz, 16 bits\n",
                       path, le16(fmt), le16(fmt + 2), le32(fmt + 4), le16(fmt + 14));
                fclose(fp);
                return 1;
            }
            have_fmt = 1;
            size -= sizeof fmt;
        } else if (memcmp(chunk, "data", 4) == 0) {
            size_t cap = 0;
            int bad = 0;
            if (!have_fmt) {
                break;
            }
            /* A writer that did not know the length may leave a size too large (e.g.
             * 0xFFFFFFFF): the samples then go to the end of the file. */
            if (size > 0x7fffffffUL) {
                size = 0x7fffffffUL;
            }
            while (*len < size) {
                size_t want, got;
                if (*len == cap) {
                    uint8_t *bigger;
                    cap = cap == 0 ? 65536 : cap * 2;
                    bigger = realloc(*pcm, cap);
                    if (bigger == NULL) {
                        printf("%s: out of memory\n", path);
                        bad = 1;
                        break;
                    }
                    *pcm = bigger;
                }
                want = size - *len < cap - *len ? (size_t)(size - *len) : cap - *len;
                got = fread(*pcm + *len, 1, want, fp);
                *len += got;
                if (got < want) {
                    if (ferror(fp)) {
                        printf("%s: read error\n", path);
                        bad = 1;
                    }
                    break;
                }
            }
            fclose(fp);
            *len -= *len % 2; /* whole samples */
            if (!bad && *len == 0) {
                printf("%s: no samples\n", path);
                bad = 1;
            }
            if (bad) {
                free(*pcm);
                *pcm = NULL;
                *len = 0;
            }
            return bad;
        }
        /* Skip the (rest of the) chunk; chunks are padded to an even size. */
        if (fseek(fp, (long)(size + (le32(chunk + 4) & 1)), SEEK_CUR) != 0) {
            break;
        }
    }
    printf("%s: %s\n", path, have_fmt ? "no data chunk" : "no usable fmt chunk before the data");
    fclose(fp);
    return 1;
}

/* How many members the meeting has: its member list counted by "userID" keys. */
static int count_members(void) {
    char *json = CRVideo_GetAllMembers();
    const char *at = json;
    int n = 0;
    while (at != NULL && (at = strstr(at, "\"userID\"")) != NULL) {
        n++;
        at++;
    }
    CRVideo_FreeString(json);
    return n;
}

static void add_ms(struct timespec *t, long ms) {
    t->tv_nsec += ms * 1000000L;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static int play_wav(const uint8_t *pcm, size_t len, const char *path) {
    /* Half a second of silence, the file's blocks (the last one padded with zeros), then a
     * second of silence. The lead-in takes a slow start (the SDK makes its Opus encoder at
     * the first push, and the listener's jitter buffer fills) so the file plays smoothly. */
    size_t lead = LEAD_MS / BLOCK_MS, file_blocks = (len + BLOCK_BYTES - 1) / BLOCK_BYTES;
    size_t blocks = lead + file_blocks + 1000 / BLOCK_MS, i;
    uint8_t block[BLOCK_BYTES];
    struct timespec next;
    int rc = CRVideo_SetCustomAudioCapture(1, NULL);
    if (rc == 0) {
        rc = CRVideo_OpenMic(me);
    }
    if (rc != 0) {
        printf("microphone: %s\n", CRVideo_GetErrorDesc(rc));
        return 1;
    }
    if (wait_flag(&mic_open, 30) != 0) {
        printf("the microphone did not open\n");
        return 1;
    }
    /* Someone to play to: a member who entered before this one is in the member list, one
     * entering later comes as UserEnterMeeting. */
    if (count_members() < 2 && wait_flag(&other_entered, 30) != 0) {
        printf("nobody came to listen\n");
        return 1;
    }
    printf("playing %lu ms of %s\n", (unsigned long)(len / (RATE / 1000 * 2)), path);
    fflush(stdout);
    /* 20 ms every 20 ms at absolute times: the pace stays right however long a push took. */
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (i = 0; i < blocks; i++) {
        memset(block, 0, sizeof block);
        if (i >= lead && i < lead + file_blocks) {
            size_t at = (i - lead) * BLOCK_BYTES;
            memcpy(block, pcm + at, len - at < BLOCK_BYTES ? len - at : BLOCK_BYTES);
        }
        rc = CRVideo_PushCustomAudioDat(block, sizeof block);
        if (rc != 0) {
            printf("push: %s\n", CRVideo_GetErrorDesc(rc));
            return 1;
        }
        add_ms(&next, BLOCK_MS);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
    }
    rc = CRVideo_CloseMic(me);
    if (rc != 0) {
        printf("close microphone: %s\n", CRVideo_GetErrorDesc(rc));
        return 1;
    }
    printf("played\n");
    fflush(stdout);
    if (wait_flag(&other_left, 10) != 0) {
        printf("the listener is still there; leaving anyway\n");
    }
    return 0;
}

static int listen_wav(const char *path) {
    char json[1024];
    int n, rc, heard;
    /* The path goes into a JSON string as it is: no quotes or backslashes to escape. */
    if (strchr(path, '"') != NULL || strchr(path, '\\') != NULL) {
        printf("%s: a path with '\"' or '\\' is not supported here\n", path);
        return 1;
    }
    n = snprintf(json, sizeof json, "{\"FileName\":\"%s\"}", path);
    if (n < 0 || (size_t)n >= sizeof json) {
        printf("%s: path too long\n", path);
        return 1;
    }
    rc = CRVideo_StartGetAudioPCM(1, 1, json);
    if (rc != 0) {
        printf("%s: %s\n", path, CRVideo_GetErrorDesc(rc));
        return 1;
    }
    printf("listening into %s\n", path);
    fflush(stdout);
    /* Until another member's level rose above 0 and fell back to 0. */
    heard = wait_flag(&other_quiet, 60) == 0;
    if (heard) {
        /* The level comes with the packets as they arrive; their sound leaves the jitter
         * buffer (about 40 ms) later: let the end of it reach the file. */
        sleep_ms(200);
    } else {
        printf("nobody spoke and fell silent within 60 s\n");
    }
    rc = CRVideo_StopGetAudioPCM(1); /* finishes the file: its header gets the sizes */
    if (rc != 0) {
        printf("%s: %s\n", path, CRVideo_GetErrorDesc(rc));
        return 1;
    }
    if (!heard) {
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static int finish(int rc) {
    CRVideo_Uninit();
    printf(rc == 0 ? "done\n" : "failed\n");
    return rc;
}

int main(int argc, char **argv) {
    CRVideo_Callbacks cbs;
    uint8_t *pcm = NULL;
    size_t len = 0;
    int rc, playing;
    if (argc < 6 || (strcmp(argv[3], "play") != 0 && strcmp(argv[3], "listen") != 0)) {
        fprintf(stderr, "usage: %s SERVER USER play|listen MEETING_ID IN.wav|OUT.wav\n",
                argv[0]);
        return 2;
    }
    me = argv[2];
    playing = strcmp(argv[3], "play") == 0;
    /* A file that cannot be played fails before connecting. */
    if (playing && read_wav(argv[5], &pcm, &len) != 0) {
        printf("failed\n");
        return 1;
    }
    rc = CRVideo_Init("{}");
    if (rc != 0) {
        printf("init: %s\nfailed\n", CRVideo_GetErrorDesc(rc));
        free(pcm);
        return 1;
    }
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.EnterMeetingRslt = on_enter;
    cbs.UserEnterMeeting = on_user_entered;
    cbs.UserLeftMeeting = on_user_left;
    cbs.AudioStatusChanged = on_audio_status;
    cbs.MicEnergyUpdate = on_mic_energy;
    CRVideo_SetCallbacks(&cbs, NULL);
    rc = CRVideo_SetServerAddr(argv[1]);
    if (rc == 0) {
        rc = CRVideo_Login("demo", "demo123", me, me, "", "");
    }
    if (rc != 0) {
        printf("login: %s\n", CRVideo_GetErrorDesc(rc));
    }
    if (rc != 0 || wait_flag(&logged_in, 30) != 0) {
        free(pcm);
        return finish(1);
    }
    rc = CRVideo_EnterMeeting(atoi(argv[4]), "");
    if (rc != 0) {
        printf("enter: %s\n", CRVideo_GetErrorDesc(rc));
    }
    if (rc != 0 || wait_flag(&entered, 30) != 0) {
        free(pcm);
        return finish(1);
    }
    rc = playing ? play_wav(pcm, len, argv[5]) : listen_wav(argv[5]);
    free(pcm);
    CRVideo_ExitMeeting();
    return finish(rc);
}
