#include <charconv>

#include "platform/process.h"

namespace bs::platform {
namespace {

template <class Int>
std::optional<Int> parse_int(std::string_view s) {
  Int value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view line) {
  // "<pid> (<comm>) <state> <ppid> ... <starttime> ...": comm is whatever the process named
  // itself, so only the first '(' and the last ')' can be trusted as delimiters.
  const auto open = line.find(" (");
  const auto close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open + 2) {
    return std::nullopt;
  }
  ProcStat st;
  auto pid = parse_int<std::int64_t>(line.substr(0, open));
  if (!pid || *pid <= 0) return std::nullopt;
  st.pid = *pid;
  st.comm = std::string(line.substr(open + 2, close - open - 2));

  // Fields after the comm: index 0 is field 3 (state), index 19 is field 22 (starttime).
  std::string_view rest = line.substr(close + 1);
  std::size_t index = 0;
  std::size_t pos = 0;
  bool have_start = false;
  while (pos < rest.size() && !have_start) {
    while (pos < rest.size() && is_space(rest[pos])) ++pos;
    if (pos == rest.size()) break;
    std::size_t end = pos;
    while (end < rest.size() && !is_space(rest[end])) ++end;
    const std::string_view field = rest.substr(pos, end - pos);
    if (index == 0) {
      if (field.size() != 1) return std::nullopt;
      st.state = field[0];
    } else if (index == 19) {
      auto start = parse_int<std::uint64_t>(field);
      if (!start) return std::nullopt;
      st.start_time = *start;
      have_start = true;
    }
    ++index;
    pos = end;
  }
  if (!have_start) return std::nullopt;
  return st;
}

}  // namespace bs::platform
