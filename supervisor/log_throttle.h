// At most one log line per interval for a message that a peer can trigger at will (a connection
// flood must not write hundreds of thousands of lines): the first occurrence is logged, the rest
// within the interval are counted, and the next line logged says how many were suppressed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace bs::supervisor {

class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogThrottle(std::chrono::milliseconds interval = std::chrono::seconds(1)) : interval_(interval) {}

  // nullopt: suppress this one (it is counted). Otherwise log it, mentioning the returned number
  // of occurrences suppressed since the last line logged (0: none).
  std::optional<std::uint64_t> admit(Clock::time_point now) {
    if (last_ && now - *last_ < interval_) {
      ++suppressed_;
      return std::nullopt;
    }
    last_ = now;
    const std::uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
  }

 private:
  std::chrono::milliseconds interval_;
  std::optional<Clock::time_point> last_;
  std::uint64_t suppressed_ = 0;
};

// "" or " (N more like it in the last interval not logged)", to append to the line logged.
inline std::string suppressed_note(std::uint64_t n) {
  return n == 0 ? std::string() : " (" + std::to_string(n) + " more like it not logged)";
}

}  // namespace bs::supervisor
