/* queue_demo.c: a call-center queue, as an agent or as a customer.
 *
 * Build: cc -std=c99 queue_demo.c -I../include -L../target/debug -lcrvideosdk -lpthread
 * Run:   ./queue_demo 127.0.0.1:2727 agent1 agent 1 2     (serve queue 1, take 2 customers)
 *        ./queue_demo 127.0.0.1:2727 carol customer 1     (wait in queue 1 for an agent)
 * scripts/queue-demo.sh runs one agent and two customers against a server whose config has
 * a queue 1 (queues are configured per tenant on the server: [[tenants.queues]]).
 *
 * The agent serves the queue; the server assigns it customers (AutoAssignUser) in order of
 * arrival; the agent accepts each, calls them with CRVideo_Call, and hangs up. A customer
 * queues, watches its place (QueuingInfoChanged), and accepts the agent's call. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *me;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int logged_in, ready, failure;
static char assigned_user[65]; /* agent: the customer the server assigned */
static int assigned_queue;
static char call_id[128];      /* the call in progress */
static int call_state;         /* 1 ringing/accepted, 2 ended */

static void signal_change(void) {
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("[%s] logged in as %s\n", me, usrID);
    pthread_mutex_lock(&lock);
    logged_in = 1;
    signal_change();
}

static void on_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    printf("[%s] %s failed: %s\n", me, cookie, CRVideo_GetErrorDesc(sdkErr));
    pthread_mutex_lock(&lock);
    failure = sdkErr;
    signal_change();
}

static void on_queuing_rslt(void *ud, int sdkErr, const char *cookie) {
    if (sdkErr != 0) {
        on_fail(ud, sdkErr, cookie);
        return;
    }
    pthread_mutex_lock(&lock);
    ready = 1;
    signal_change();
}

static void on_response(void *ud, int sdkErr, const char *cookie) {
    if (sdkErr != 0) { /* e.g. the assignment timed out before we answered */
        on_fail(ud, sdkErr, cookie);
    }
}

static void on_service_rslt(void *ud, int queID, int sdkErr, const char *cookie) {
    (void)queID;
    on_queuing_rslt(ud, sdkErr, cookie);
}

static void on_queuing_info(void *ud, const char *json) {
    (void)ud;
    printf("[%s] my place: %s\n", me, json);
}

static void on_queue_status(void *ud, const char *json) {
    (void)ud;
    printf("[%s] queue: %s\n", me, json);
}

/* Agent: a customer was assigned. Parse the QueueUser (a JSON library would do; its field
 * order is fixed) and answer in the main thread. */
static void on_auto_assign(void *ud, const char *json) {
    const char *q = strstr(json, "\"queID\":"), *u = strstr(json, "\"usrID\":\"");
    (void)ud;
    printf("[%s] assigned: %s\n", me, json);
    pthread_mutex_lock(&lock);
    if (q != NULL && u != NULL) {
        assigned_queue = atoi(q + 8);
        snprintf(assigned_user, sizeof assigned_user, "%.*s", (int)strcspn(u + 9, "\""), u + 9);
    }
    signal_change();
}

static void on_cancel_assign(void *ud, int queID, const char *usrID) {
    (void)ud;
    printf("[%s] assignment of %s (queue %d) withdrawn\n", me, usrID, queID);
    pthread_mutex_lock(&lock);
    assigned_user[0] = '\0';
    signal_change();
}

/* Customer: the agent calls. */
static void on_call_in(void *ud, const char *callID, const char *meetObj, const char *callerID, const char *ext) {
    (void)ud;
    (void)meetObj;
    printf("[%s] %s calls: %s\n", me, callerID, ext);
    pthread_mutex_lock(&lock);
    snprintf(call_id, sizeof call_id, "%s", callID);
    call_state = 1;
    signal_change();
}

static void on_call_accepted(void *ud, const char *callID, const char *meetObj, const char *ext) {
    (void)ud;
    (void)callID;
    (void)meetObj;
    printf("[%s] the customer answered: %s\n", me, ext);
    pthread_mutex_lock(&lock);
    call_state = 1;
    signal_change();
}

static void on_call_ended(void *ud, const char *callID, const char *ext) {
    (void)ud;
    (void)callID;
    printf("[%s] call ended (%s)\n", me, ext);
    pthread_mutex_lock(&lock);
    call_state = 2;
    signal_change();
}

static void on_hangup_done(void *ud, const char *callID, const char *cookie) {
    on_call_ended(ud, callID, cookie);
}

/* Waits until *flag is set (string: non-empty) or a failure; 0 when set. */
static int wait_until(const int *flag, const char *text) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&lock);
    while (!failure && rc == 0 && (flag ? !*flag : text[0] == '\0')) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = failure || rc != 0 ? 1 : 0;
    pthread_mutex_unlock(&lock);
    return rc;
}

static int wait_call_state(int state) {
    struct timespec deadline;
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 30;
    pthread_mutex_lock(&lock);
    while (call_state != state && !failure && rc == 0) {
        rc = pthread_cond_timedwait(&changed, &lock, &deadline);
    }
    rc = call_state == state ? 0 : 1;
    pthread_mutex_unlock(&lock);
    return rc;
}

static int run_agent(int queue, int customers) {
    int served;
    if (CRVideo_StartService(queue, 1, "StartService") != 0 || wait_until(&ready, NULL) != 0) {
        return 1;
    }
    for (served = 0; served < customers; served++) {
        char user[65];
        char *id;
        if (wait_until(NULL, assigned_user) != 0) {
            return 1;
        }
        pthread_mutex_lock(&lock);
        snprintf(user, sizeof user, "%s", assigned_user);
        assigned_user[0] = '\0';
        call_state = 0;
        pthread_mutex_unlock(&lock);
        /* Take the customer (they leave the queue), then call them. */
        CRVideo_AcceptAssignUser(assigned_queue, user, "AcceptAssignUser");
        id = CRVideo_Call(user, "", "hello from your agent", "Call");
        snprintf(call_id, sizeof call_id, "%s", id != NULL ? id : "");
        CRVideo_FreeString(id);
        if (wait_call_state(1) != 0) {
            return 1;
        }
        CRVideo_HungupCall(call_id, "thanks, goodbye", "HungupCall");
        if (wait_call_state(2) != 0) {
            return 1;
        }
        printf("[%s] served %s\n", me, user);
    }
    return 0;
}

static int run_customer(int queue) {
    char note[80];
    snprintf(note, sizeof note, "%s needs help", me);
    if (CRVideo_StartQueuing(queue, note, "StartQueuing") != 0 || wait_until(&ready, NULL) != 0 ||
        wait_call_state(1) != 0) {
        return 1;
    }
    CRVideo_AcceptCall(call_id, "", "hi!", "AcceptCall");
    return wait_call_state(2);
}

int main(int argc, char **argv) {
    char params[256];
    CRVideo_Callbacks cbs;
    int agent, rc;

    if (argc < 5 || (strcmp(argv[3], "agent") != 0 && strcmp(argv[3], "customer") != 0)) {
        fprintf(stderr, "usage: %s HOST:PORT USER agent QUEUE COUNT | customer QUEUE\n", argv[0]);
        return 2;
    }
    me = argv[2];
    agent = strcmp(argv[3], "agent") == 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\"}", argv[1]);
    if (CRVideo_Init(params) != 0) {
        return 1;
    }
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_fail;
    cbs.StartQueuingRslt = on_queuing_rslt;
    cbs.StartServiceRslt = on_service_rslt;
    cbs.QueuingInfoChanged = on_queuing_info;
    cbs.QueueStatusChanged = on_queue_status;
    cbs.AutoAssignUser = on_auto_assign;
    cbs.CancelAssignUser = on_cancel_assign;
    cbs.ResponseAssignUserRslt = on_response;
    cbs.NotifyCallIn = on_call_in;
    cbs.NotifyCallAccepted = on_call_accepted;
    cbs.NotifyCallHungup = on_call_ended;
    cbs.HangupCallSuccess = on_hangup_done;
    CRVideo_SetCallbacks(&cbs, NULL);

    rc = CRVideo_Login("demo", "demo123", me, me, "", "Login") != 0 || wait_until(&logged_in, NULL) != 0;
    if (rc == 0) {
        rc = agent ? run_agent(atoi(argv[4]), argc > 5 ? atoi(argv[5]) : 1) : run_customer(atoi(argv[4]));
    }
    CRVideo_Logout();
    CRVideo_Uninit();
    printf("[%s] %s\n", me, rc == 0 ? "done" : "failed");
    return rc;
}
