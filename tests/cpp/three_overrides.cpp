/* three_overrides HOST:PORT USER: the issue's acceptance, "a C++ app overriding three
 * virtual methods logs in and receives a call". It overrides LoginSuccess, NotifyCallIn and
 * NotifyCallHungup only, logs USER into the demo tenant, accepts the first call (usrExtDat
 * "hello-back") and exits 0 once that call was received, accepted and hung up by the caller
 * (1 after 60 s without). Every callback prints one TAB-separated line; tests/cpp_layer.rs
 * plays the caller. */
#include "CRVideoSDK.hpp"
#include "event_log.hpp"

#include <string>
#include <string_view>

namespace {

testutil::EventLog out;

class App final : public CRVideo::Callbacks {
public:
    void LoginSuccess(std::string_view usrID, std::string_view cookie) override {
        out.add(testutil::line({"LoginSuccess", usrID, cookie}));
    }

    void NotifyCallIn(std::string_view callID, std::string_view meetObjJson,
                      std::string_view callerID, std::string_view usrExtDat) override {
        out.add(testutil::line({"NotifyCallIn", callID, meetObjJson, callerID, usrExtDat}));
        // Calling back into the SDK from inside a callback is allowed.
        int rc = CRVideo::Mgr::instance().acceptCall(callID, "", "hello-back", "acc");
        out.add(testutil::line({"AcceptCall", std::to_string(rc)}));
    }

    void NotifyCallHungup(std::string_view callID, std::string_view usrExtDat) override {
        out.add(testutil::line({"NotifyCallHungup", callID, usrExtDat}));
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s HOST:PORT USER\n", argv[0]);
        return 2;
    }
    const std::string addr = argv[1];
    const std::string user = argv[2];

    App app;
    CRVideo::Mgr& mgr = CRVideo::Mgr::instance();
    if (mgr.init(R"({"serverAddr":")" + addr + R"(","timeoutMs":10000})") != 0 ||
        mgr.setCallbacks(&app) != 0 || mgr.login("demo", "demo123", user, user, "", "ck") != 0) {
        std::fprintf(stderr, "three_overrides: init or login refused\n");
        return 1;
    }

    bool ok = out.wait(testutil::line({"LoginSuccess", user, "ck"}), 20);
    std::string call_in;
    if (ok) {
        call_in = out.wait_prefix("NotifyCallIn\t", 60);
        ok = !call_in.empty() && out.wait("AcceptCall\t0", 5);
    }
    if (ok) {
        const std::string id = call_in.substr(13, call_in.find('\t', 13) - 13);
        ok = !out.wait_prefix("NotifyCallHungup\t" + id + "\t", 60).empty();
    }
    mgr.uninit();  // before `app` goes away
    out.add(ok ? "three_overrides: call received, accepted and hung up"
               : "three_overrides: FAILED");
    return ok ? 0 : 1;
}
