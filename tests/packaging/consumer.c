/* consumer.c: the smallest application of the installed CRVideo SDK. tests/packaging.rs
 * builds it against an installed prefix (CMake and pkg-config) and runs it.
 *
 * Checks that the header and the library it links to are the same version, and that the SDK
 * initialises and shuts down. Prints "consumer: CRVideo SDK <version> ok" and exits 0. */
#include <CRVideoSDK.h>

#include <stdio.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)

int main(void) {
    const char *version = CRVideo_GetVersion();
    const char *composed = STR(CRVIDEOSDK_VERSION_MAJOR) "." STR(
        CRVIDEOSDK_VERSION_MINOR) "." STR(CRVIDEOSDK_VERSION_PATCH);
    if (version == NULL || strcmp(version, CRVIDEOSDK_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: library version %s, header version %s\n",
                version ? version : "(null)", CRVIDEOSDK_VERSION_STRING);
        return 1;
    }
    if (strcmp(composed, CRVIDEOSDK_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: version macros say %s, the string says %s\n", composed,
                CRVIDEOSDK_VERSION_STRING);
        return 1;
    }
    int rc = CRVideo_Init("{\"logLevel\":\"off\"}");
    if (rc != 0) {
        fprintf(stderr, "consumer: CRVideo_Init returned %d (%s)\n", rc,
                CRVideo_GetErrorDesc(rc));
        return 1;
    }
    CRVideo_Uninit();
    printf("consumer: CRVideo SDK %s ok\n", version);
    return 0;
}
