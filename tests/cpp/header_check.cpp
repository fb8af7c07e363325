/* header_check: CRVideoSDK.hpp alone, compiled (not linked) by tests/cpp_layer.rs under
 * many warning flags; the static_asserts pin the shape of the API. */
#include "CRVideoSDK.hpp"

#include <string>
#include <type_traits>
#include <vector>

namespace {

using CRVideo::Callbacks;
using CRVideo::Mgr;

static_assert(std::has_virtual_destructor_v<Callbacks>, "Callbacks is a polymorphic base");
static_assert(std::is_default_constructible_v<Callbacks>, "an app derives from Callbacks");
static_assert(!std::is_copy_constructible_v<Mgr> && !std::is_copy_assignable_v<Mgr> &&
                  !std::is_move_constructible_v<Mgr> && !std::is_default_constructible_v<Mgr>,
              "Mgr is a singleton");
static_assert(std::is_same_v<decltype(Mgr::instance()), Mgr&>, "Mgr::instance()");
static_assert(std::is_same_v<decltype(Mgr::instance().call("bob")), std::string>,
              "IDs are std::string");
static_assert(std::is_same_v<decltype(Mgr::instance().clientInvite("bob")), std::string>,
              "IDs are std::string");
static_assert(std::is_same_v<decltype(Mgr::instance().sendCmd("bob", std::vector<uint8_t>())),
                             std::string>,
              "IDs are std::string");
static_assert(std::is_same_v<decltype(Mgr::instance().sendBuffer("bob", nullptr, 0)),
                             std::string>,
              "IDs are std::string");
static_assert(std::is_same_v<decltype(Mgr::instance().sendFile("bob", "/f")), std::string>,
              "IDs are std::string");
static_assert(std::is_same_v<decltype(Mgr::version()), const char*>, "static version()");
static_assert(std::is_same_v<decltype(Mgr::errorDesc(0)), const char*>, "static errorDesc()");
static_assert(noexcept(Mgr::instance().uninit()) && noexcept(Mgr::instance().logout()) &&
                  noexcept(Mgr::instance().setCallbacks(nullptr)),
              "calls without strings cannot throw");

/* Overriding a handful, as an app does. */
class Some final : public Callbacks {
public:
    void LoginSuccess(std::string_view usrID, std::string_view cookie) override {
        last_ = std::string(usrID) + std::string(cookie);
    }
    void NotifyBufferData(std::string_view source, const uint8_t* data, size_t len) override {
        last_ = std::string(source) + std::string(reinterpret_cast<const char*>(data), len);
    }
    const std::string& last() const { return last_; }

private:
    std::string last_;
};

}  // namespace

int header_check_use();
int header_check_use() {
    Some some;
    return static_cast<int>(some.last().size());
}
