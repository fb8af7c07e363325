/* Compiled as C99 and as C++17 by tests/header.rs with -Wall -Wextra -Werror -pedantic:
 * the generated header must be clean in both languages. Exercises what a program touches
 * first: the callback table, the macros and the lifecycle functions. */
#include "CRVideoSDK.h"

#include <string.h>

#if !defined(CRVIDEOSDK_VERSION_MAJOR) || !defined(CRVIDEOSDK_VERSION_STRING)
#error "version macros missing"
#endif

static void on_login_success(void *userData, const char *usrID, const char *cookie) {
    (void)userData;
    (void)usrID;
    (void)cookie;
}

int header_check(void);

int header_check(void) {
    CRVideo_Callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.size = sizeof cbs;
    cbs.LoginSuccess = on_login_success;
    if (CRVideo_SetCallbacks(&cbs, NULL) != CRVIDEOSDK_NOT_INIT) {
        return 1;
    }
    return strcmp(CRVideo_GetVersion(), CRVIDEOSDK_VERSION_STRING) == 0 ? 0 : 2;
}
