// Process identity on macOS, where there is no /proc: libproc for state and start time, the
// KERN_PROCARGS2 sysctl for the command line. Compiled only on Apple hosts (see CMakeLists.txt);
// never built by this project's CI.
#include <sys/time.h>
#include <libproc.h>
#include <sys/proc.h>
#include <sys/proc_info.h>
#include <sys/sysctl.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "platform/process.h"

namespace bs::platform {
namespace {

bool valid_pid(std::int64_t pid) { return pid > 0 && pid <= INT_MAX; }

// The same letters as Linux's /proc/<pid>/stat, so identity.cpp's rule reads them unchanged.
char state_letter(std::uint32_t status) {
  switch (status) {
    case SRUN: return 'R';
    case SSLEEP: return 'S';
    case SSTOP: return 'T';
    case SZOMB: return 'Z';
    case SIDL: return 'I';  // being created
    default: return '?';
  }
}

// proc_listpids for `type`/`arg`, as a vector; it reports bytes, and the set can grow between
// the size query and the read, hence the headroom and the retry.
std::vector<std::int64_t> listed_pids(std::uint32_t type, std::uint32_t arg) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    const int estimate = proc_listpids(type, arg, nullptr, 0);
    if (estimate <= 0) return {};
    std::vector<pid_t> buf(static_cast<std::size_t>(estimate) / sizeof(pid_t) + 64);
    const int bytes = proc_listpids(type, arg, buf.data(), static_cast<int>(buf.size() * sizeof(pid_t)));
    if (bytes <= 0) return {};
    const auto count = static_cast<std::size_t>(bytes) / sizeof(pid_t);
    if (count >= buf.size()) continue;  // filled up: more processes appeared, ask again
    std::vector<std::int64_t> pids;
    for (std::size_t i = 0; i < count; ++i) {
      if (buf[i] > 0) pids.push_back(buf[i]);
    }
    std::sort(pids.begin(), pids.end());
    pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
    return pids;
  }
  return {};
}

}  // namespace

std::optional<ProcStat> read_proc_stat(std::int64_t pid) {
  if (!valid_pid(pid)) return std::nullopt;
  proc_bsdinfo info{};
  const int n = proc_pidinfo(static_cast<int>(pid), PROC_PIDTBSDINFO, 0, &info, sizeof info);
  if (n != static_cast<int>(sizeof info)) return std::nullopt;  // gone, or not ours to see
  ProcStat st;
  st.pid = pid;
  st.state = state_letter(info.pbi_status);
  // smolvm stores pid_start_time on macOS as MICROseconds since the epoch
  // (pbi_start_tvsec * 1e6 + pbi_start_tvusec); compare like with like.
  st.start_time = static_cast<std::uint64_t>(info.pbi_start_tvsec) * 1000000ULL +
                  static_cast<std::uint64_t>(info.pbi_start_tvusec);
  st.comm = info.pbi_name[0] != '\0' ? std::string(info.pbi_name, strnlen(info.pbi_name, sizeof info.pbi_name))
                                     : std::string(info.pbi_comm, strnlen(info.pbi_comm, sizeof info.pbi_comm));
  return st;
}

std::optional<std::string> read_cmdline(std::int64_t pid) {
  if (!valid_pid(pid)) return std::nullopt;
  int argmax = 0;
  std::size_t size = sizeof argmax;
  int mib_argmax[] = {CTL_KERN, KERN_ARGMAX};
  if (sysctl(mib_argmax, 2, &argmax, &size, nullptr, 0) != 0 || argmax <= 0) return std::nullopt;

  std::string buf(static_cast<std::size_t>(argmax), '\0');
  size = buf.size();
  int mib[] = {CTL_KERN, KERN_PROCARGS2, static_cast<int>(pid)};
  if (sysctl(mib, 3, buf.data(), &size, nullptr, 0) != 0) {
    // A zombie has no arguments left (EINVAL), like Linux's empty /proc/<pid>/cmdline.
    if (read_proc_stat(pid)) return std::string();
    return std::nullopt;
  }
  buf.resize(size);

  // Layout: int argc; the executable path; NUL padding; argv[0..argc-1], each NUL-terminated;
  // then the environment, which is none of our business.
  int argc = 0;
  if (buf.size() < sizeof argc) return std::string();
  std::memcpy(&argc, buf.data(), sizeof argc);
  std::size_t pos = sizeof argc;
  pos = buf.find('\0', pos);                    // end of the executable path
  if (pos == std::string::npos) return std::string();
  pos = buf.find_first_not_of('\0', pos);       // skip the padding
  if (pos == std::string::npos) return std::string();

  std::string out;  // as /proc/<pid>/cmdline: every argument followed by a NUL
  for (int i = 0; i < argc && pos < buf.size(); ++i) {
    std::size_t end = buf.find('\0', pos);
    if (end == std::string::npos) end = buf.size();
    out.append(buf, pos, end - pos);
    out.push_back('\0');
    pos = end + 1;
  }
  return out;
}

std::vector<std::int64_t> list_pids() { return listed_pids(PROC_ALL_PIDS, 0); }

std::optional<std::int64_t> process_age_ms(std::uint64_t start_time) {
  timeval now{};
  if (::gettimeofday(&now, nullptr) != 0) return std::nullopt;
  const std::int64_t now_us = static_cast<std::int64_t>(now.tv_sec) * 1000000 + now.tv_usec;
  return (now_us - static_cast<std::int64_t>(start_time)) / 1000;
}

bool process_alive(std::int64_t pid) {
  auto st = read_proc_stat(pid);
  return st && st->state != 'Z';
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
