#include "support/proc.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>

#include "support/files.h"

namespace bs::test {

std::optional<ProcStat> proc_stat(std::int64_t pid) {
  const std::string line = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  ProcStat st;
  std::uint64_t utime = 0, stime = 0;
  std::string skip;
  if (!(fields >> st.state >> st.ppid)) return std::nullopt;
  for (int field = 5; field < 14; ++field) {
    if (!(fields >> skip)) return std::nullopt;
  }
  if (!(fields >> utime >> stime)) return std::nullopt;
  st.cpu_ticks = utime + stime;
  for (int field = 16; field < 22; ++field) {
    if (!(fields >> skip)) return std::nullopt;
  }
  if (!(fields >> st.start_time)) return std::nullopt;
  return st;
}

bool pid_alive(std::int64_t pid) {
  auto st = proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X';
}

std::optional<std::uint64_t> pid_start_time(std::int64_t pid) {
  auto st = proc_stat(pid);
  if (!st || st->state == 'Z' || st->state == 'X') return std::nullopt;
  return st->start_time;
}

std::vector<std::int64_t> children_of(std::int64_t parent) {
  std::vector<std::int64_t> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::int64_t pid = std::stoll(name);
    auto st = proc_stat(pid);
    if (st && st->ppid == parent && st->state != 'Z' && st->state != 'X') out.push_back(pid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string proc_cmdline(std::int64_t pid) {
  std::string raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  return raw;
}

std::optional<std::uint64_t> proc_field(const std::string& path, const std::string& name) {
  std::istringstream in(read_file(path));
  const std::string key = name + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream rest(line.substr(key.size()));
    std::uint64_t v = 0;
    if (rest >> v) return v;
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> private_kb(std::int64_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/smaps_rollup";
  auto clean = proc_field(path, "Private_Clean");
  auto dirty = proc_field(path, "Private_Dirty");
  if (!clean || !dirty) return std::nullopt;
  return *clean + *dirty + proc_field(path, "Private_Hugetlb").value_or(0);
}

std::string unique_marker(const std::string& what) {
  return "bs-test-" + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace bs::test
