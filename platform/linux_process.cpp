// /proc readers. Linux only.
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "platform/file_text.h"
#include "platform/process.h"

namespace bs::platform {
namespace {

std::string proc_path(std::int64_t pid, const char* file) {
  return "/proc/" + std::to_string(pid) + "/" + file;
}

}  // namespace

std::optional<ProcStat> read_proc_stat(std::int64_t pid) {
  if (pid <= 0) return std::nullopt;
  auto text = read_file_text(proc_path(pid, "stat"));
  if (!text) return std::nullopt;
  return parse_proc_stat(*text);
}

std::optional<std::string> read_cmdline(std::int64_t pid) {
  if (pid <= 0) return std::nullopt;
  return read_file_text(proc_path(pid, "cmdline"));
}

std::vector<std::int64_t> list_pids() {
  std::vector<std::int64_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string_view name = entry->d_name;
    std::int64_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec == std::errc() && end == name.data() + name.size() && pid > 0) pids.push_back(pid);
  }
  ::closedir(dir);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::optional<std::int64_t> process_age_ms(std::uint64_t start_time) {
  // Field 22 counts clock ticks from boot on the boot-time clock (suspend included).
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  timespec now{};
  if (ticks_per_second <= 0 || ::clock_gettime(CLOCK_BOOTTIME, &now) != 0) return std::nullopt;
  const std::int64_t now_ms = static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
  const std::int64_t started_ms = static_cast<std::int64_t>(start_time) * 1000 / ticks_per_second;
  return now_ms - started_ms;
}

bool process_alive(std::int64_t pid) {
  auto st = read_proc_stat(pid);
  return st && st->state != 'Z' && st->state != 'X' && st->state != 'x';
}

std::vector<ProcessInfo> processes_with_cmdline_containing(std::string_view needle) {
  std::vector<ProcessInfo> found;
  if (needle.empty()) return found;
  for (std::int64_t pid : list_pids()) {
    auto cmdline = read_cmdline(pid);
    if (!cmdline) continue;
    while (!cmdline->empty() && cmdline->back() == '\0') cmdline->pop_back();
    std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
    if (cmdline->find(needle) == std::string::npos) continue;
    auto st = read_proc_stat(pid);
    if (!st) continue;  // exited meanwhile
    found.push_back(ProcessInfo{pid, st->start_time, std::move(*cmdline)});
  }
  return found;
}

}  // namespace bs::platform
