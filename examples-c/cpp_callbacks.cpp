/* cpp_callbacks: the C++ layer (include/CRVideoSDK.hpp) in one page.
 *
 * Logs USER into the server's demo tenant (account "demo", password "demo123"), waits for
 * someone to call, accepts the call and exits 0 when the call ends (the caller hangs up).
 *
 *     c++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude examples-c/cpp_callbacks.cpp \
 *         -Ltarget/debug -Wl,-rpath,"$PWD/target/debug" -lcrvideosdk -lpthread \
 *         -o cpp_callbacks
 *     ./cpp_callbacks 127.0.0.1:2727 bob
 *
 * and from another program, e.g. the C demo or a second SDK user, call "bob".
 */
#include "CRVideoSDK.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace {

/* Callbacks run on the SDK's dispatch thread; main() waits on this. */
class Finish {
public:
    void set(int exitCode) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!done_) {
            done_ = true;
            code_ = exitCode;
        }
        cv_.notify_all();
    }
    int wait(std::chrono::seconds timeout) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, timeout, [this] { return done_; }) ? code_ : 1;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    int code_ = 0;
};

/* Printing a std::string_view with printf: it is not NUL-terminated. */
int len(std::string_view s) {
    return static_cast<int>(s.size());
}

/* Override only what you need; every other callback does nothing. The string_views are
 * valid only during the call: copy (std::string(view)) what you keep. Exceptions thrown here
 * are swallowed by the layer, so catch your own if you need to know about them. */
class App : public CRVideo::Callbacks {
public:
    explicit App(Finish& finish) : finish_(finish) {}

    void LoginSuccess(std::string_view usrID, std::string_view /*cookie*/) override {
        std::printf("logged in as %.*s; waiting for a call\n", len(usrID), usrID.data());
    }

    void LoginFail(int sdkErr, std::string_view /*cookie*/) override {
        std::printf("login failed: %d (%s)\n", sdkErr, CRVideo::Mgr::errorDesc(sdkErr));
        finish_.set(1);
    }

    void LineOff(int sdkErr) override {
        std::printf("offline: %d (%s)\n", sdkErr, CRVideo::Mgr::errorDesc(sdkErr));
        finish_.set(1);
    }

    void NotifyCallIn(std::string_view callID, std::string_view meetObjJson,
                      std::string_view callerID, std::string_view usrExtDat) override {
        std::printf("%.*s calls (meeting %.*s, says \"%.*s\"); accepting\n", len(callerID),
                    callerID.data(), len(meetObjJson), meetObjJson.data(), len(usrExtDat),
                    usrExtDat.data());
        // SDK functions may be called from inside a callback. The result comes later, in
        // AcceptCallSuccess / AcceptCallFail; 0 only means the request was accepted.
        int rc = CRVideo::Mgr::instance().acceptCall(callID, "", "hello from C++");
        if (rc != CRVIDEOSDK_NOERR) {
            std::printf("acceptCall: %d (%s)\n", rc, CRVideo::Mgr::errorDesc(rc));
            finish_.set(1);
        }
    }

    void AcceptCallSuccess(std::string_view callID, std::string_view /*cookie*/) override {
        std::printf("in call %.*s\n", len(callID), callID.data());
    }

    void AcceptCallFail(std::string_view /*callID*/, int sdkErr,
                        std::string_view /*cookie*/) override {
        std::printf("accepting failed: %d (%s)\n", sdkErr, CRVideo::Mgr::errorDesc(sdkErr));
        finish_.set(1);
    }

    void NotifyCallHungup(std::string_view callID, std::string_view usrExtDat) override {
        std::printf("call %.*s ended (\"%.*s\")\n", len(callID), callID.data(),
                    len(usrExtDat), usrExtDat.data());
        finish_.set(0);
    }

private:
    Finish& finish_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s HOST:PORT USER\n", argv[0]);
        return 2;
    }
    const std::string server = argv[1];
    const std::string user = argv[2];
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // line by line, also into a pipe

    Finish finish;
    App app(finish);  // must outlive the registration: until uninit() below
    CRVideo::Mgr& sdk = CRVideo::Mgr::instance();

    int rc = sdk.init(R"({"serverAddr":")" + server + R"("})");
    if (rc == CRVIDEOSDK_NOERR) {
        rc = sdk.setCallbacks(&app);
    }
    if (rc == CRVIDEOSDK_NOERR) {
        // tenant account and password, nickname, user ID; the result is a callback.
        rc = sdk.login("demo", "demo123", user, user);
    }
    if (rc != CRVIDEOSDK_NOERR) {
        std::printf("SDK error %d (%s)\n", rc, CRVideo::Mgr::errorDesc(rc));
        sdk.uninit();
        return 1;
    }

    int exitCode = finish.wait(std::chrono::minutes(5));
    sdk.logout();
    sdk.uninit();  // no callback runs after this returns: now `app` may go away
    return exitCode;
}
