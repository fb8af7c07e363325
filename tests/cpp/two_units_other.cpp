/* The second translation unit of two_units (see two_units_main.cpp): a class overriding
 * every callback of CRVideo::Callbacks, `final` and `override`, so the build fails if one of
 * them no longer matches the header. Only LoginSuccess does something. */
#include "CRVideoSDK.hpp"

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

namespace {

std::atomic<int> seen{0};
std::thread::id where;

class EveryOverride final : public CRVideo::Callbacks {
public:
    void LoginSuccess(std::string_view usrID, std::string_view cookie) override {
        where = std::this_thread::get_id();
        std::printf("LoginSuccess\t%s\t%s\n", std::string(usrID).c_str(),
                    std::string(cookie).c_str());
        std::fflush(stdout);
        seen++;
    }
    void LoginFail(int, std::string_view) override { seen++; }
    void LineOff(int) override { seen++; }
    void SetDNDStatusSuccess(std::string_view) override {}
    void SetDNDStatusFail(int, std::string_view) override {}
    void GetUserStatusSuccess(std::string_view, std::string_view) override {}
    void GetUserStatusFail(int, std::string_view) override {}
    void StartUserStatusNotifyRslt(int, std::string_view) override {}
    void NotifyUserStatus(std::string_view, std::string_view) override {}
    void StopUserStatusNotifyRslt(int, std::string_view) override {}
    void CreateMeetingSuccess(std::string_view, std::string_view) override {}
    void CreateMeetingFail(int, std::string_view) override {}
    void DestroyMeetingRslt(int, std::string_view) override {}
    void GetMeetingsSuccess(std::string_view, std::string_view) override {}
    void GetMeetingsFail(int, std::string_view) override {}
    void CallSuccess(std::string_view, std::string_view) override {}
    void CallFail(std::string_view, int, std::string_view) override {}
    void AcceptCallSuccess(std::string_view, std::string_view) override {}
    void AcceptCallFail(std::string_view, int, std::string_view) override {}
    void RejectCallSuccess(std::string_view, std::string_view) override {}
    void RejectCallFail(std::string_view, int, std::string_view) override {}
    void HangupCallSuccess(std::string_view, std::string_view) override {}
    void HangupCallFail(std::string_view, int, std::string_view) override {}
    void ClientInviteRslt(std::string_view, int, std::string_view) override {}
    void ClientCancelInviteRslt(std::string_view, int, std::string_view) override {}
    void SendCmdRlst(std::string_view, int, std::string_view) override {}
    void SendBufferRlst(std::string_view, int, std::string_view) override {}
    void SendFileRlst(std::string_view, std::string_view, int, std::string_view) override {}
    void SendProgress(std::string_view, int64_t, int64_t, std::string_view) override {}
    void CancelSendRlst(std::string_view, int, std::string_view) override {}
    void NotifyCallIn(std::string_view, std::string_view, std::string_view,
                      std::string_view) override {}
    void NotifyCallAccepted(std::string_view, std::string_view, std::string_view) override {}
    void NotifyCallRejected(std::string_view, int, std::string_view) override {}
    void NotifyCallHungup(std::string_view, std::string_view) override {}
    void NotifyInviteStatus(std::string_view, int) override {}
    void NotifyCmdData(std::string_view, const uint8_t*, size_t) override {}
    void NotifyBufferData(std::string_view, const uint8_t*, size_t) override {}
    void NotifyFileData(std::string_view, std::string_view, std::string_view) override {}
    void NotifyCancelSend(std::string_view) override {}
};

EveryOverride app;

}  // namespace

CRVideo::Mgr* mgr_of_other_unit() {
    return &CRVideo::Mgr::instance();
}

CRVideo::Callbacks* every_override() {
    return &app;
}

std::thread::id login_thread() {
    return where;
}

int events_seen() {
    return seen.load();
}
