/* event_log.hpp: what the C++ test programs share. Each callback becomes one line, printed
 * on stdout (flushed, for the Rust test reading it) and kept, so that main() can wait for
 * it. Fields are TAB-separated, as in tests/c/peer.c. */
#ifndef CRVIDEO_TEST_EVENT_LOG_HPP
#define CRVIDEO_TEST_EVENT_LOG_HPP

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace testutil {

/** Every line of output; shared by the dispatch thread and main(). */
class EventLog {
public:
    void add(const std::string& line) {
        std::lock_guard<std::mutex> lock(mutex_);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
        lines_.push_back(line);
        changed_.notify_all();
    }

    /** Waits up to `seconds` for a line that is exactly `line`. */
    bool wait(const std::string& line, int seconds = 20) {
        return !wait_prefix(line, seconds, true).empty();
    }

    /** Waits up to `seconds` for a line starting with `prefix`; returns it ("" on timeout). */
    std::string wait_prefix(const std::string& prefix, int seconds = 20, bool exact = false) {
        std::unique_lock<std::mutex> lock(mutex_);
        std::string found;
        auto matches = [&] {
            for (const std::string& l : lines_) {
                if (exact ? l == prefix : l.compare(0, prefix.size(), prefix) == 0) {
                    found = l;
                    return true;
                }
            }
            return false;
        };
        changed_.wait_for(lock, std::chrono::seconds(seconds), matches);
        return found;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> lines_;
};

/** Joins fields with TABs. */
inline std::string line(std::initializer_list<std::string_view> fields) {
    std::string out;
    bool first = true;
    for (std::string_view f : fields) {
        if (!first) {
            out += '\t';
        }
        first = false;
        out += f;
    }
    return out;
}

inline std::string hex(const uint8_t* data, size_t len) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < len; i++) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

}  // namespace testutil

#endif
