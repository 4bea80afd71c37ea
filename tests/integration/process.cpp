#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "platform/process.h"
#include "platform/reaper.h"

namespace bs::integ {
namespace {

using Clock = std::chrono::steady_clock;

// Children a ChildProcess reaps itself: the orphan reaper must not take their exit status.
std::set<std::int64_t>& awaited_children() {
  static std::set<std::int64_t> pids;
  return pids;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// posix_spawn's attributes and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    // Children start with default dispositions and an empty mask, whatever Catch2 or we set.
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

pid_t spawn(const std::vector<std::string>& argv, const Env& env, SpawnSetup& setup) {
  become_subreaper();
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &setup.actions, &setup.attr, args.data(), envp.data());
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv.at(0) + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

std::string RunResult::describe() const {
  std::ostringstream s;
  s << "exit " << exit_code << (timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
    << out << "\n--- stderr ---\n" << err;
  return s.str();
}

RunResult run(const std::vector<std::string>& argv, const Env& env, const std::string& stdin_text, Ms timeout) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  Fd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err_w.get(), 2);
  const pid_t pid = spawn(argv, env, setup);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  fcntl(in_w.get(), F_SETFL, O_NONBLOCK);

  RunResult r;
  const auto deadline = Clock::now() + timeout;
  std::size_t written = 0;
  if (stdin_text.empty()) in_w.reset();
  std::optional<Clock::time_point> exited_at;
  std::optional<int> status;
  // Read both streams to EOF; a grandchild that keeps them open is given 1 s after the exit.
  while (out_r.get() >= 0 || err_r.get() >= 0) {
    if (!status) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        status = st;
        exited_at = Clock::now();
      }
    }
    const auto now = Clock::now();
    if (now >= deadline || (exited_at && now - *exited_at > Ms(1000))) break;
    pollfd fds[3] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}, {in_w.get(), POLLOUT, 0}};
    if (::poll(fds, 3, 10) < 0 && errno != EINTR) break;
    char buf[8192];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        (i == 0 ? out_r : err_r).reset();
      }
    }
    if (in_w.get() >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      ssize_t n = ::write(in_w.get(), stdin_text.data() + written, stdin_text.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) in_w.reset();
      if (written == stdin_text.size()) in_w.reset();
    }
  }
  if (!status) {
    int st = 0;
    while (Clock::now() < deadline) {
      if (waitpid(pid, &st, WNOHANG) == pid) {
        status = st;
        break;
      }
      std::this_thread::sleep_for(Ms(5));
    }
    if (!status) {
      ::kill(pid, SIGKILL);  // our own child, which overran its time
      waitpid(pid, &st, 0);
      r.timed_out = true;
      status = st;
    }
  }
  r.exit_code = decode_status(*status);
  return r;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const Env& env, const std::string& log_path) {
  SpawnSetup setup;
  const std::string target = log_path.empty() ? "/dev/null" : log_path;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&setup.actions, 1, target.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
  pid_ = spawn(argv, env, setup);
  awaited_children().insert(pid_);
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

std::optional<int> ChildProcess::poll_exit() {
  if (exit_code_ || pid_ <= 0) return exit_code_;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_status(st);
    awaited_children().erase(pid_);
  } else if (r < 0 && errno == ECHILD) {
    exit_code_ = -1;  // someone else reaped it; it is gone
    awaited_children().erase(pid_);
  }
  return exit_code_;
}

std::optional<int> ChildProcess::wait_exit(Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!poll_exit()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Ms(5));
  }
  return exit_code_;
}

void ChildProcess::signal(int signum) {
  if (!poll_exit()) ::kill(pid_, signum);  // not reaped yet, so the pid is still ours
}

void ChildProcess::kill_and_reap() {
  if (pid_ <= 0 || poll_exit()) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  if (waitpid(pid_, &st, 0) == pid_) exit_code_ = decode_status(st);
  awaited_children().erase(pid_);
}

void become_subreaper() {
  static const bool done = [] {
    ::signal(SIGPIPE, SIG_IGN);  // a child closing its stdin early must not kill the test
    return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
  }();
  (void)done;
}

void reap_orphans() { platform::reap_zombie_children(awaited_children()); }

bool pid_alive(std::int64_t pid) { return platform::process_alive(pid); }

std::optional<std::uint64_t> pid_start_time(std::int64_t pid) {
  auto st = platform::read_proc_stat(pid);
  if (!st || st->state == 'Z' || st->state == 'X') return std::nullopt;
  return st->start_time;
}

bool wait_pid_gone(std::int64_t pid, Ms timeout) {
  return poll_until([&] {
    if (awaited_children().count(pid) == 0) platform::reap_child(pid);
    return !pid_alive(pid);
  }, timeout);
}

std::vector<std::int64_t> children_of(std::int64_t parent) {
  std::vector<std::int64_t> out;
  for (std::int64_t pid : platform::list_pids()) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 > stat.size()) continue;
    std::istringstream fields(stat.substr(close + 2));
    char state = '?';
    std::int64_t ppid = 0;
    if (fields >> state >> ppid && ppid == parent && state != 'Z' && state != 'X') out.push_back(pid);
  }
  return out;
}

void kill_verified_and_reap(std::int64_t pid, std::uint64_t start_time) {
  if (pid <= 1 || pid_start_time(pid) != start_time) return;
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  wait_pid_gone(pid, Ms(5000));
  platform::reap_child(pid);
}

bool poll_until(const std::function<bool()>& pred, Ms timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    reap_orphans();
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Ms(10));
  }
}

void observe_for(Ms duration) {
  const auto until = Clock::now() + duration;
  while (Clock::now() < until) {
    reap_orphans();
    std::this_thread::sleep_for(Ms(10));
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string tail_lines(const std::string& text, std::size_t lines) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (std::size_t n = 0; n < lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos == 0 ? 0 : pos + 1);
}

}  // namespace bs::integ
