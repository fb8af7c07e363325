/* ids_and_exceptions HOST:PORT USER PEER FILE: the Mgr methods that return IDs return
 * non-empty, distinct IDs (and "" before init), the binary overloads carry bytes as given,
 * and exceptions thrown by overrides never reach the SDK: every override below throws
 * (std::exception or not) after printing its line, and the SDK keeps delivering the next
 * callbacks. PEER (a tests/c/peer.c process) is logged in to the demo tenant; FILE is a file
 * to send it. At the end the program waits for a command from PEER (bytes 00 ff 00 10).
 * Exits 0 when every check passed. */
#include "CRVideoSDK.hpp"
#include "event_log.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

testutil::EventLog out;
std::atomic<int> thrown{0};

/** Throws something different each time: std::runtime_error, an int, a std::string. */
[[noreturn]] void throw_something() {
    int n = thrown.fetch_add(1);
    switch (n % 3) {
        case 0:
            throw std::runtime_error("thrown by an override");
        case 1:
            throw 42;
        default:
            throw std::string("not an exception class");
    }
}

std::string num(long long v) {
    return std::to_string(v);
}

class Thrower final : public CRVideo::Callbacks {
public:
    void LoginSuccess(std::string_view usrID, std::string_view cookie) override {
        out.add(testutil::line({"LoginSuccess", usrID, cookie}));
        throw_something();
    }
    void LoginFail(int sdkErr, std::string_view cookie) override {
        out.add(testutil::line({"LoginFail", num(sdkErr), cookie}));
        throw_something();
    }
    void GetUserStatusSuccess(std::string_view json, std::string_view cookie) override {
        out.add(testutil::line({"GetUserStatusSuccess", json, cookie}));
        throw_something();
    }
    void CallSuccess(std::string_view callID, std::string_view cookie) override {
        out.add(testutil::line({"CallSuccess", callID, cookie}));
        throw_something();
    }
    void CallFail(std::string_view callID, int sdkErr, std::string_view cookie) override {
        out.add(testutil::line({"CallFail", callID, num(sdkErr), cookie}));
        throw_something();
    }
    void HangupCallSuccess(std::string_view callID, std::string_view cookie) override {
        out.add(testutil::line({"HangupCallSuccess", callID, cookie}));
        throw_something();
    }
    void ClientInviteRslt(std::string_view id, int sdkErr, std::string_view cookie) override {
        out.add(testutil::line({"ClientInviteRslt", id, num(sdkErr), cookie}));
        throw_something();
    }
    void ClientCancelInviteRslt(std::string_view id, int sdkErr,
                                std::string_view cookie) override {
        out.add(testutil::line({"ClientCancelInviteRslt", id, num(sdkErr), cookie}));
        throw_something();
    }
    void NotifyInviteStatus(std::string_view id, int status) override {
        out.add(testutil::line({"NotifyInviteStatus", id, num(status)}));
        throw_something();
    }
    void SendCmdRlst(std::string_view id, int sdkErr, std::string_view cookie) override {
        out.add(testutil::line({"SendCmdRlst", id, num(sdkErr), cookie}));
        throw_something();
    }
    void SendBufferRlst(std::string_view id, int sdkErr, std::string_view cookie) override {
        out.add(testutil::line({"SendBufferRlst", id, num(sdkErr), cookie}));
        throw_something();
    }
    void SendFileRlst(std::string_view id, std::string_view fileName, int sdkErr,
                      std::string_view cookie) override {
        out.add(testutil::line({"SendFileRlst", id, fileName, num(sdkErr), cookie}));
        throw_something();
    }
    void SendProgress(std::string_view id, int64_t sent, int64_t total,
                      std::string_view cookie) override {
        out.add(testutil::line({"SendProgress", id, num(sent), num(total), cookie}));
        throw_something();
    }
    void CancelSendRlst(std::string_view id, int sdkErr, std::string_view cookie) override {
        out.add(testutil::line({"CancelSendRlst", id, num(sdkErr), cookie}));
        throw_something();
    }
    void NotifyCmdData(std::string_view source, const uint8_t* data, size_t len) override {
        out.add(testutil::line({"NotifyCmdData", source, testutil::hex(data, len)}));
        throw_something();
    }
};

CRVideo::Mgr& mgr = CRVideo::Mgr::instance();
int failures = 0;

void check(bool cond, const std::string& what) {
    out.add((cond ? "ok\t" : "FAIL\t") + what);
    if (!cond) {
        failures++;
    }
}

/** Waits for exactly `line`; a failed check when it does not come. */
void expect(const std::string& line) {
    check(out.wait(line), "got " + line);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s HOST:PORT USER PEER FILE\n", argv[0]);
        return 2;
    }
    const std::string addr = argv[1];
    const std::string user = argv[2];
    const std::string peer = argv[3];
    const std::string file = argv[4];
    const std::vector<uint8_t> bytes = {0x00, 0x01, 0xfe, 0xff};
    const char with_nul[] = {'h', 'i', '\0', 't', 'h', 'e', 'r', 'e'};

    // Before init: IDs are empty (the C functions return NULL), the rest NOT_INIT.
    check(mgr.call(peer).empty(), "call before init gives an empty ID");
    check(mgr.clientInvite(peer).empty(), "clientInvite before init gives an empty ID");
    check(mgr.sendCmd(peer, bytes).empty(), "sendCmd before init gives an empty ID");
    check(mgr.sendBuffer(peer, bytes).empty(), "sendBuffer before init gives an empty ID");
    check(mgr.sendFile(peer, file).empty(), "sendFile before init gives an empty ID");
    check(mgr.login("demo", "demo123", user, user) == CRVIDEOSDK_NOT_INIT,
          "login before init: NOT_INIT");
    check(mgr.setCallbacks(nullptr) == CRVIDEOSDK_NOT_INIT, "setCallbacks before init: NOT_INIT");
    check(mgr.pollEvents(0) == -CRVIDEOSDK_NOT_INIT, "pollEvents before init: -NOT_INIT");
    check(std::string(CRVideo::Mgr::version()) == CRVIDEOSDK_VERSION_STRING,
          "version() is the header's");
    check(std::string(CRVideo::Mgr::errorDesc(CRVIDEOSDK_PARAM_ERR)) != "unknown error code" &&
              std::string(CRVideo::Mgr::errorDesc(-12345)) == "unknown error code",
          "errorDesc()");

    Thrower app;
    check(mgr.init(R"({"serverAddr":")" + addr + R"(","timeoutMs":10000})") == 0, "init");
    check(mgr.setCallbacks(&app) == 0, "setCallbacks");
    check(mgr.pollEvents(0) == -CRVIDEOSDK_PARAM_ERR, "pollEvents in thread mode: -PARAM_ERR");
    check(mgr.login("demo", "demo123", user, user, "", "login") == 0, "login");
    expect(testutil::line({"LoginSuccess", user, "login"}));

    std::set<std::string> ids;
    auto id_ok = [&](const std::string& id, const std::string& what) {
        check(!id.empty() && ids.insert(id).second, what + " returns a new ID: " + id);
    };

    // A call, rung and hung up.
    const std::string call = mgr.call(peer, "", "from c++", "c1");
    id_ok(call, "call");
    expect(testutil::line({"CallSuccess", call, "c1"}));
    check(mgr.hungupCall(call, "bye", "h") == 0, "hungupCall");
    expect(testutil::line({"HangupCallSuccess", call, "h"}));

    // An invitation, rung and withdrawn.
    const std::string invite = mgr.clientInvite(peer, R"({"ID":1,"pswd":""})", "i1");
    id_ok(invite, "clientInvite");
    expect(testutil::line({"ClientInviteRslt", invite, "0", "i1"}));
    expect(testutil::line({"NotifyInviteStatus", invite, "0"}));
    check(mgr.clientCancelInvite(invite, "ci") == 0, "clientCancelInvite");
    expect(testutil::line({"ClientCancelInviteRslt", invite, "0", "ci"}));

    // Commands: the vector overload and the pointer overload (with a NUL inside).
    const std::string cmd1 = mgr.sendCmd(peer, bytes, "cmd1");
    id_ok(cmd1, "sendCmd(vector)");
    expect(testutil::line({"SendCmdRlst", cmd1, "0", "cmd1"}));
    const std::string cmd2 = mgr.sendCmd(peer, with_nul, sizeof with_nul, "cmd2");
    id_ok(cmd2, "sendCmd(pointer, length)");
    expect(testutil::line({"SendCmdRlst", cmd2, "0", "cmd2"}));

    // Buffers, both overloads.
    std::vector<uint8_t> big(100000);
    for (size_t i = 0; i < big.size(); i++) {
        big[i] = static_cast<uint8_t>(i * 7);
    }
    const std::string buf1 = mgr.sendBuffer(peer, big, "buf1");
    id_ok(buf1, "sendBuffer(vector)");
    expect(testutil::line({"SendProgress", buf1, "100000", "100000", "buf1"}));
    expect(testutil::line({"SendBufferRlst", buf1, "0", "buf1"}));
    const std::string buf2 = mgr.sendBuffer(peer, with_nul, sizeof with_nul, "buf2");
    id_ok(buf2, "sendBuffer(pointer, length)");
    expect(testutil::line({"SendBufferRlst", buf2, "0", "buf2"}));
    // Without a copy: the vector is moved in and destroyed by the SDK (ASan/valgrind in CI
    // would see it leak or freed twice).
    std::vector<uint8_t> lent(big);
    const std::string buf3 = mgr.sendBufferNoCopy(peer, std::move(lent), "buf3");
    id_ok(buf3, "sendBufferNoCopy(vector&&)");
    expect(testutil::line({"SendBufferRlst", buf3, "0", "buf3"}));

    // Files: one that exists, one that does not (the ID still comes, and its failure).
    const std::string file1 = mgr.sendFile(peer, file, "file1");
    id_ok(file1, "sendFile");
    expect(testutil::line({"SendFileRlst", file1, file, "0", "file1"}));
    const std::string missing = file + ".missing";
    const std::string file2 = mgr.sendFile(peer, missing, "file2");
    id_ok(file2, "sendFile of a missing file");
    expect(testutil::line({"SendFileRlst", file2, missing,
                           std::to_string(CRVIDEOSDK_SENDFILE_FILEINERROR), "file2"}));

    // An ID-less request on a string_view that is not NUL-terminated where it ends.
    const std::string padded = "no-such-taskXXXX";
    check(mgr.cancelSend(std::string_view(padded).substr(0, 12)) == 0, "cancelSend");
    expect(testutil::line({"CancelSendRlst", "no-such-task",
                           std::to_string(CRVIDEOSDK_TRANSID_INVALID), ""}));

    // Still delivering after all those exceptions: a fresh request, then data from the peer.
    check(mgr.getUserStatus("gs") == 0, "getUserStatus");
    check(!out.wait_prefix("GetUserStatusSuccess\t").empty(), "got GetUserStatusSuccess");
    out.add("READY-FOR-CMD");
    expect(testutil::line({"NotifyCmdData", peer, "00ff0010"}));

    mgr.uninit();  // joins the dispatch thread: every override has returned (or thrown)
    int count = thrown.load();
    check(count >= 18, "the overrides threw " + std::to_string(count) + " times");
    out.add(failures == 0 ? "ids_and_exceptions: all checks passed"
                          : "ids_and_exceptions: " + std::to_string(failures) + " FAILED");
    return failures == 0 ? 0 : 1;
}
