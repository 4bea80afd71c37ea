#include "reconcile/duration.h"

#include <algorithm>
#include <cstdint>

#include "reconcile/quote.h"

namespace bs {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};
// "ms" before "m" and "s", so the longest suffix is tried first.
constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
constexpr std::int64_t kMaxMs = 1'000'000LL * 3'600'000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view s, std::string_view example) {
  const std::string bad =
      bs::quoted(s) + " is not a duration (use ms, s, m, h, e.g. " + bs::quoted(example) + ")";
  const auto digits_end = std::find_if_not(s.begin(), s.end(), is_digit);
  const std::string_view number = s.substr(0, static_cast<std::size_t>(digits_end - s.begin()));
  const std::string_view suffix = s.substr(number.size());
  if (number.empty()) return unexpected(bad);
  if (!suffix.empty() && suffix.front() == '.') {
    return unexpected(bs::quoted(s) + " is not a duration (use a whole number of ms, s, m or h, e.g. \"1500ms\" "
                                  "rather than \"1.5s\")");
  }
  for (const Unit& u : kUnits) {
    if (suffix != u.suffix) continue;
    std::int64_t n = 0;
    for (char c : number) {
      n = n * 10 + (c - '0');
      if (n > kMaxMs / u.ms) return unexpected(bs::quoted(s) + " is too long (at most 1000000h)");
    }
    return std::chrono::milliseconds(n * u.ms);
  }
  return unexpected(bad);
}

std::string format_duration(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  for (auto it = std::rbegin(kUnits); it != std::rend(kUnits); ++it) {
    if (ms % it->ms == 0) return std::to_string(ms / it->ms) + std::string(it->suffix);
  }
  return std::to_string(ms) + "ms";
}

}  // namespace bs
