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
 * Each command prints "RC<TAB><return value>" (for call and invite: the returned ID, or
 * "NULL"). Every callback prints one line (tests/c/recorder.h): its name, then its
 * arguments, TAB-separated; received data as its length and FNV-1a-64. stdout is flushed
 * after every line. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

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
        strcmp(name, "NotifyFileData") == 0) {
        nap();
    }
}

/* rec_<member> for every callback, and recorder_register(); generated from
 * CRVideo_Callbacks by build.rs. */
#include "recorder.h"

static void register_callbacks(void) {
    CRVideo_Callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    recorder_register(&cbs);
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
        int n, rc;
        line[strcspn(line, "\r\n")] = '\0';
        n = split(line, f, 16);
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
        } else if (strcmp(f[0], "slow") == 0) {
            slow_ms = atoi(ARG(1));
            rc = 0;
        } else {
            rc = -1;
        }
        emit("RC\t%d", rc);
    }
    CRVideo_Uninit();
    return 0;
}
