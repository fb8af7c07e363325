/* meeting_room.c: two members in a meeting room: they chat, one shares its screen and hands
 * the other the control right, both draw on a whiteboard, then both leave. Run it twice, once per member:
 *
 * Build: cc -std=c99 meeting_room.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./meeting_room 127.0.0.1:2727 alice host MEETING_ID bob &
 *        ./meeting_room 127.0.0.1:2727 bob guest MEETING_ID alice
 *        (MEETING_ID of a meeting without password, e.g. from call_and_meeting's CreateMeeting)
 *
 * The host waits for the guest, says hello, starts sharing, opens a whiteboard and draws a
 * line on it, gives the guest the control right, waits for the guest's goodbye, closes the
 * board, stops sharing and leaves. The guest waits for the control right, writes on the
 * board, says goodbye, waits for the share to stop and leaves. Either may enter
 * first: a member entering late gets the room's state (share, control right, page) as
 * notifications right after EnterMeetingRslt.
 *
 * Shows: callbacks that only record what happened (the main thread waits for it), the SDK's
 * copy of the room (CRVideo_GetAllMembers), result callbacks vs. functions that return
 * their error at once, whiteboard elements as the app's own JSON objects whose every change
 * comes back to all members (the drawer too) in one order. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static const char *me, *other;
static int logged_in, entered, other_in, shared, got_ctrl, got_goodbye, share_stopped, failure;
static char board[64]; /* the whiteboard's ID, once known */

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

/* Waits up to 30 s for `flag`; 0 when it was set. */
static int wait_flag(const int *flag) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&lock);
    while (!*flag && !failure && rc == 0) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = *flag ? 0 : 1;
    pthread_mutex_unlock(&lock);
    return rc;
}

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud;
    (void)usrID;
    (void)cookie;
    set(&logged_in);
}

static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    fail("login failed", sdkErr);
}

/* Is `user` among the members of the SDK's copy of the room? */
static int is_member(const char *user) {
    char quoted[160];
    char *members = CRVideo_GetAllMembers();
    int found;
    snprintf(quoted, sizeof quoted, "\"userID\":\"%s\"", user);
    found = members != NULL && strstr(members, quoted) != NULL;
    CRVideo_FreeString(members);
    return found;
}

static void on_entered(void *ud, int sdkErr) {
    (void)ud;
    if (sdkErr != CRVIDEOSDK_NOERR) {
        fail("could not enter", sdkErr);
        return;
    }
    printf("%s entered the meeting\n", me);
    if (is_member(other)) {
        set(&other_in);
    }
    set(&entered);
}

static void on_user_entered(void *ud, const char *userID) {
    (void)ud;
    printf("%s sees %s enter\n", me, userID);
    if (strcmp(userID, other) == 0) {
        set(&other_in);
    }
}

static void on_user_left(void *ud, const char *userID) {
    (void)ud;
    printf("%s sees %s leave\n", me, userID);
}

static void on_im(void *ud, const char *fromUserID, const char *text, int64_t sendTime) {
    (void)ud;
    (void)sendTime;
    printf("%s got a message from %s: %s\n", me, fromUserID, text);
    if (strcmp(text, "thanks, bye") == 0) {
        set(&got_goodbye);
    }
}

static void on_im_sent(void *ud, const char *taskID, int sdkErr, const char *cookie) {
    (void)ud;
    (void)taskID;
    (void)cookie;
    if (sdkErr != CRVIDEOSDK_NOERR) {
        fail("message not sent", sdkErr);
    }
}

static void on_share_result(void *ud, int sdkErr) {
    (void)ud;
    if (sdkErr != CRVIDEOSDK_NOERR) {
        fail("could not share", sdkErr); /* CRVIDEOSDK_ERR_BUSY: someone else shares */
        return;
    }
    set(&shared);
}

static void on_share_started(void *ud) {
    (void)ud;
    printf("%s sees a screen share start\n", me);
}

static void on_share_stopped(void *ud) {
    (void)ud;
    printf("%s sees the screen share stop\n", me);
    set(&share_stopped);
}

static void on_unshare_result(void *ud, int sdkErr) {
    (void)ud;
    if (sdkErr != CRVIDEOSDK_NOERR) {
        fail("could not stop sharing", sdkErr);
        return;
    }
    set(&share_stopped);
}

static void on_give_ctrl(void *ud, const char *operId, const char *targetId) {
    (void)ud;
    printf("%s sees %s give the control right to %s\n", me, operId, targetId);
    if (strcmp(targetId, me) == 0) {
        set(&got_ctrl);
    }
}

static void on_page(void *ud, int mainPage, const char *pageID) {
    (void)ud;
    (void)pageID;
    printf("%s follows to page %s\n", me, mainPage == CRVIDEOSDK_MAINPAGE_SHARE ? "share" : "other");
}

/* Remembers the board's ID from a BoardObj ({"boardID":"...",...}). */
static void on_board_created(void *ud, const char *boardJson, const char *operatorID) {
    const char *id = strstr(boardJson, "\"boardID\":\"");
    (void)ud;
    printf("%s sees %s open a whiteboard\n", me, operatorID);
    if (id != NULL) {
        pthread_mutex_lock(&lock);
        sscanf(id + strlen("\"boardID\":\""), "%63[^\"]", board);
        pthread_mutex_unlock(&lock);
    }
}

/* Every member gets each element, the one who drew it too: that is the confirmation. */
static void on_element_added(void *ud, const char *boardID, int pageNo, const char *elementJson,
                             const char *operatorID) {
    (void)ud;
    (void)boardID;
    printf("%s sees %s draw on page %d: %s\n", me, operatorID, pageNo, elementJson);
}

static void on_board_closed(void *ud, const char *boardID, const char *operatorID) {
    (void)ud;
    (void)boardID;
    printf("%s sees %s close the whiteboard\n", me, operatorID);
}

/* Adds an element with a fresh ID to page 0 of the board; `rest` are its other fields. */
static int draw(const char *board_id, const char *rest) {
    char element[256];
    char *id = CRVideo_CreateElementID();
    int rc;
    snprintf(element, sizeof element, "{\"elementID\":\"%s\",%s}", id, rest);
    CRVideo_FreeString(id);
    rc = CRVideo_AddBoardElement(board_id, 0, element);
    if (rc != CRVIDEOSDK_NOERR) {
        printf("could not draw: %s\n", CRVideo_GetErrorDesc(rc));
    }
    return rc == CRVIDEOSDK_NOERR;
}

/* The host's part: wait for the guest, greet, share, hand over control, wait for goodbye. */
static int host(void) {
    char *task, *board_id;
    int closed;
    if (wait_flag(&other_in) != 0) {
        return 0;
    }
    task = CRVideo_SendIMmsg("hello, I will share my screen", "", NULL);
    CRVideo_FreeString(task);
    if (CRVideo_StartScreenShare() != CRVIDEOSDK_NOERR || wait_flag(&shared) != 0) {
        return 0;
    }
    /* The board is usable as soon as its ID is returned; everyone (this member too) gets
     * NotifyCreateBoard. */
    board_id = CRVideo_CreateBoard("plan", 1024, 768, 1);
    if (board_id == NULL) {
        printf("could not open a whiteboard: %s\n", CRVideo_GetErrorDesc(CRVideo_GetLastError()));
        return 0;
    }
    if (!draw(board_id, "\"type\":\"line\",\"points\":[10,10,200,120]")) {
        CRVideo_FreeString(board_id);
        return 0;
    }
    /* No result callback: checked at once against the SDK's copy of the room. */
    if (CRVideo_GiveCtrlRight(other) != CRVIDEOSDK_NOERR ||
        CRVideo_SwitchToPage(CRVIDEOSDK_MAINPAGE_SHARE, "") != CRVIDEOSDK_NOERR) {
        CRVideo_FreeString(board_id);
        return 0;
    }
    if (wait_flag(&got_goodbye) != 0) {
        CRVideo_FreeString(board_id);
        return 0;
    }
    closed = CRVideo_CloseBoard(board_id) == CRVIDEOSDK_NOERR;
    CRVideo_FreeString(board_id);
    return closed && CRVideo_StopScreenShare() == CRVIDEOSDK_NOERR &&
           wait_flag(&share_stopped) == 0;
}

/* The guest's part: wait for the control right, say goodbye, wait for the share to end. */
static int guest(void) {
    char *task, board_id[64];
    if (wait_flag(&got_ctrl) != 0) {
        return 0;
    }
    /* The host opened the board before giving the control right, so its NotifyCreateBoard
     * came first (members get the room's changes in one order). */
    pthread_mutex_lock(&lock);
    memcpy(board_id, board, sizeof board_id);
    pthread_mutex_unlock(&lock);
    if (!draw(board_id, "\"type\":\"text\",\"text\":\"ok\"")) {
        return 0;
    }
    task = CRVideo_SendIMmsg("thanks, bye", other, NULL);
    CRVideo_FreeString(task);
    return wait_flag(&share_stopped) == 0;
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    int ok, is_host;

    if (argc != 6 || (strcmp(argv[3], "host") != 0 && strcmp(argv[3], "guest") != 0)) {
        fprintf(stderr, "usage: %s HOST:PORT USER host|guest MEETING_ID OTHER_USER\n", argv[0]);
        return 2;
    }
    me = argv[2];
    is_host = strcmp(argv[3], "host") == 0;
    other = argv[5];
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\"}", argv[1]);
    if (CRVideo_Init(params) != CRVIDEOSDK_NOERR) {
        return 1;
    }
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    cbs.EnterMeetingRslt = on_entered;
    cbs.UserEnterMeeting = on_user_entered;
    cbs.UserLeftMeeting = on_user_left;
    cbs.NotifyIMmsg = on_im;
    cbs.SendIMmsgRlst = on_im_sent;
    cbs.StartScreenShareRslt = on_share_result;
    cbs.StopScreenShareRslt = on_unshare_result;
    cbs.NotifyScreenShareStarted = on_share_started;
    cbs.NotifyScreenShareStopped = on_share_stopped;
    cbs.NotifyGiveCtrlRight = on_give_ctrl;
    cbs.NotifySwitchToPage = on_page;
    cbs.NotifyCreateBoard = on_board_created;
    cbs.NotifyAddBoardElement = on_element_added;
    cbs.NotifyCloseBoard = on_board_closed;
    CRVideo_SetCallbacks(&cbs, NULL);

    ok = CRVideo_Login("demo", "demo123", me, me, "", NULL) == 0 && wait_flag(&logged_in) == 0 &&
         CRVideo_EnterMeeting(atoi(argv[4]), "") == 0 && wait_flag(&entered) == 0;
    ok = ok && (is_host ? host() : guest());
    if (CRVideo_ExitMeeting() == CRVIDEOSDK_NOERR) {
        printf("%s left the meeting\n", me);
    }
    CRVideo_Logout();
    CRVideo_Uninit();
    printf("%s\n", ok ? "done" : "failed");
    return ok ? 0 : 1;
}
