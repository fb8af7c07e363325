/* two_units HOST:PORT USER: CRVideoSDK.hpp included by two translation units of one
 * program (this one and two_units_other.cpp) links without duplicate symbols and shares
 * one Mgr; two_units_other.cpp also overrides every callback (with `override`, so a
 * signature drifting from CRVideo::Callbacks fails to compile). The run checks "poll"
 * dispatch: LoginSuccess runs on this thread, inside Mgr::pollEvents(). Exits 0 on success. */
#include "CRVideoSDK.hpp"
#include "CRVideoSDK.h"    // again, and in the other order: include guards
#include "CRVideoSDK.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

// Defined in two_units_other.cpp.
CRVideo::Mgr* mgr_of_other_unit();
CRVideo::Callbacks* every_override();
std::thread::id login_thread();
int events_seen();

namespace {

int failures = 0;

void check(bool cond, const char* what) {
    std::printf("%s\t%s\n", cond ? "ok" : "FAIL", what);
    std::fflush(stdout);
    if (!cond) {
        failures++;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s HOST:PORT USER\n", argv[0]);
        return 2;
    }
    const std::string addr = argv[1];
    const std::string user = argv[2];
    CRVideo::Mgr& mgr = CRVideo::Mgr::instance();
    check(&mgr == mgr_of_other_unit(), "one Mgr for both translation units");

    // "poll" dispatch: no SDK thread runs callbacks, this one does.
    check(mgr.init(R"({"serverAddr":")" + addr + R"(","timeoutMs":10000,"dispatch":"poll"})") ==
              0,
          "init in poll mode");
    check(mgr.setCallbacks(every_override()) == 0, "setCallbacks");
    check(mgr.login("demo", "demo123", "Two Units", user, "", "tu") == 0, "login");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (events_seen() == 0 && std::chrono::steady_clock::now() < deadline) {
        int ran = mgr.pollEvents(100);
        if (ran < 0) {
            check(false, "pollEvents failed");
            break;
        }
    }
    check(events_seen() == 1, "one callback ran inside pollEvents");
    check(login_thread() == std::this_thread::get_id(), "LoginSuccess ran on the main thread");
    check(mgr.logout() == 0, "logout");
    mgr.uninit();
    mgr.uninit();  // safe twice
    check(mgr.pollEvents(0) == -CRVIDEOSDK_NOT_INIT, "pollEvents after uninit: -NOT_INIT");
    std::printf("two_units: %s\n", failures == 0 ? "all checks passed" : "FAILED");
    return failures == 0 ? 0 : 1;
}
