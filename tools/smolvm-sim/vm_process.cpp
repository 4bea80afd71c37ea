#include "tools/smolvm-sim/vm_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace bs::sim {
namespace {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Fields after the last ')' of /proc/<pid>/stat: [0] = state (field 3), [19] = starttime (22).
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
  auto stat = read_small_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat->substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

bool parse_u64(const std::string& s, std::uint64_t& out) {
  if (s.empty()) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// Reaps the pid if it happens to be our child; otherwise a no-op.
void try_reap(pid_t pid) {
  int status = 0;
  (void)waitpid(pid, &status, WNOHANG);
}

bool poll_gone(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int polls = 0;
  for (;;) {
    try_reap(pid);
    if (!is_alive(pid)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // smolvm's poll_for_exit: 10 ms ten times, then 100 ms.
    std::this_thread::sleep_for(std::chrono::milliseconds(polls++ < 10 ? 10 : 100));
  }
}

}  // namespace

bool is_alive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  auto fields = stat_fields(pid);
  // Gone between kill() and the read, or a zombie: either way no VM runs there any more.
  return fields && !fields->empty() && (*fields)[0] != "Z" && (*fields)[0] != "X";
}

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  auto fields = stat_fields(pid);
  if (!fields || fields->size() < 20) return std::nullopt;
  std::uint64_t v = 0;
  if (!parse_u64((*fields)[19], v)) return std::nullopt;
  return v;
}

bool is_our_process(pid_t pid, std::optional<std::uint64_t> start_time) {
  if (!is_alive(pid)) return false;
  if (!start_time) return true;
  auto actual = process_start_time(pid);
  return actual && *actual == *start_time;
}

bool is_our_process_strict(pid_t pid, std::optional<std::uint64_t> start_time) {
  if (!start_time) return false;
  return is_our_process(pid, start_time);
}

bool cmdline_contains(pid_t pid, const std::string& needle) {
  if (needle.empty() || !is_alive(pid)) return false;
  auto raw = read_small_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!raw || raw->empty()) return false;
  for (char& c : *raw) {
    if (c == '\0') c = ' ';
  }
  return raw->find(needle) != std::string::npos;
}

bool stop_vm_process(pid_t pid, std::chrono::milliseconds term_timeout,
                     std::chrono::milliseconds kill_timeout) {
  if (!is_alive(pid)) return true;
  if (kill(pid, SIGTERM) != 0) return !is_alive(pid);
  if (poll_gone(pid, term_timeout)) return true;
  kill(pid, SIGKILL);
  return poll_gone(pid, kill_timeout);
}

std::optional<PidFile> read_pid_file(const std::string& path) {
  auto content = read_small_file(path);
  if (!content) return std::nullopt;
  std::istringstream in(*content);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
    return s;
  };
  std::uint64_t pid = 0;
  if (!parse_u64(trim(first), pid) || pid == 0 || pid > 0x7fffffff) return std::nullopt;
  PidFile pf{static_cast<pid_t>(pid), std::nullopt};
  std::uint64_t st = 0;
  if (parse_u64(trim(second), st)) pf.start_time = st;
  return pf;
}

}  // namespace bs::sim
