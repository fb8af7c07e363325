/* dlopen_demo.c: use the SDK without linking to it, loading it at run time.
 *
 * Build: cc -std=c99 dlopen_demo.c -I../include -ldl -lpthread        (no -lcrvideosdk)
 * Run:   ./dlopen_demo ../target/debug/libcrvideosdk.so 127.0.0.1:2727 alice
 *
 * The header still provides the types (CRVideo_Callbacks) and the CRVIDEOSDK_* codes; every
 * function is looked up with dlsym. Useful for optional features and plugin hosts. */
#define _POSIX_C_SOURCE 200809L
#include "CRVideoSDK.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Pointer types matching the header's declarations. */
typedef int (*init_fn)(const char *);
typedef void (*uninit_fn)(void);
typedef int (*set_callbacks_fn)(const CRVideo_Callbacks *, void *);
typedef int (*login_fn)(const char *, const char *, const char *, const char *, const char *, const char *);
typedef int (*logout_fn)(void);
typedef const char *(*version_fn)(void);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int outcome = -1; /* 0 logged in, > 0 an sdkErr */

static void on_login_success(void *ud, const char *usrID, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("LoginSuccess %s\n", usrID);
    pthread_mutex_lock(&lock);
    outcome = 0;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

static void on_login_fail(void *ud, int sdkErr, const char *cookie) {
    (void)ud;
    (void)cookie;
    printf("LoginFail %d\n", sdkErr);
    pthread_mutex_lock(&lock);
    outcome = sdkErr;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* dlsym returns void*; converting it to a function pointer is what POSIX specifies, but ISO C
 * does not allow the cast directly: copy the bits instead (the pedantic-clean way). */
static void *lookup(void *lib, const char *name, void *fn_out, size_t size) {
    void *symbol = dlsym(lib, name);
    if (symbol == NULL) {
        fprintf(stderr, "missing symbol %s\n", name);
    } else {
        memcpy(fn_out, &symbol, size);
    }
    return symbol;
}

int main(int argc, char **argv) {
    void *lib;
    init_fn init;
    uninit_fn uninit;
    set_callbacks_fn set_callbacks;
    login_fn login;
    logout_fn logout;
    version_fn version;
    CRVideo_Callbacks cbs;
    char params[256];
    struct timespec deadline;

    if (argc != 4) {
        fprintf(stderr, "usage: %s LIBRARY HOST:PORT USER\n", argv[0]);
        return 2;
    }
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    if (!lookup(lib, "CRVideo_Init", &init, sizeof init) || !lookup(lib, "CRVideo_Uninit", &uninit, sizeof uninit) ||
        !lookup(lib, "CRVideo_SetCallbacks", &set_callbacks, sizeof set_callbacks) ||
        !lookup(lib, "CRVideo_Login", &login, sizeof login) || !lookup(lib, "CRVideo_Logout", &logout, sizeof logout) ||
        !lookup(lib, "CRVideo_GetVersion", &version, sizeof version)) {
        dlclose(lib);
        return 1;
    }
    printf("loaded %s, SDK %s (header %s)\n", argv[1], version(), CRVIDEOSDK_VERSION_STRING);

    snprintf(params, sizeof params, "{\"serverAddr\":\"%s\"}", argv[2]);
    init(params);
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    cbs.LoginFail = on_login_fail;
    set_callbacks(&cbs, NULL);
    login("demo", "demo123", argv[3], argv[3], "", NULL);

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 20;
    pthread_mutex_lock(&lock);
    while (outcome < 0 && pthread_cond_timedwait(&changed, &lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&lock);

    logout();
    uninit(); /* joins the SDK's threads, so unloading the code below is safe */
    dlclose(lib);
    return outcome == 0 ? 0 : 1;
}
