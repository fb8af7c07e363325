// consumer.cpp: the installed headers from C++17. CRVideoSDK.h must be usable from C++ as it
// is (extern "C"), and CRVideoSDK.hpp, when installed, must compile on its own.
#if defined(__has_include)
#if __has_include(<CRVideoSDK.hpp>)
#include <CRVideoSDK.hpp>
#endif
#endif
#include <CRVideoSDK.h>

#include <cstdio>
#include <cstring>

int main() {
    const char *version = CRVideo_GetVersion();
    if (version == nullptr || std::strcmp(version, CRVIDEOSDK_VERSION_STRING) != 0) {
        std::fprintf(stderr, "consumer_cpp: library %s, header %s\n", version ? version : "(null)",
                     CRVIDEOSDK_VERSION_STRING);
        return 1;
    }
    std::printf("consumer_cpp: CRVideo SDK %s ok\n", version);
    return 0;
}
