#include "tools/smolvm-sim/boot_vm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/env.h"
#include "tools/smolvm-sim/knobs.h"
#include "tools/smolvm-sim/vm_process.h"

extern char** environ;

namespace bs::sim {
namespace {

// The ready pipe's write end in the child. Named by an env var so a stand-in started by hand
// (no pipe) never writes to an fd that happens to be open.
constexpr int kReadyFd = 3;
constexpr const char* kReadyFdEnv = "SMOLVM_SIM_READY_FD";

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Boots for `ms` with SIGALRM (the exit knob's timer) blocked: true if the timer fired meanwhile.
bool boot_interrupted_by_exit_timer(unsigned ms, const sigset_t& alarm_set) {
  timespec left{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000L)};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    int sig = sigtimedwait(&alarm_set, nullptr, &left);
    if (sig == SIGALRM) return true;
    auto rest = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now());
    if (rest.count() <= 0) return false;
    left.tv_sec = static_cast<time_t>(rest.count() / 1000000000LL);
    left.tv_nsec = static_cast<long>(rest.count() % 1000000000LL);
  }
}

// SMOLVM_SIM_SPAWN_LOG=<file>: the forked VM process appends "<pid> <CLOCK_MONOTONIC ns>\n" before
// it execs, so a benchmark can time the VM's life from its spawn (the /proc start time has only
// 10 ms resolution, and a VM killed as soon as it has exec'd may never reach main()). Runs between
// fork and exec: async-signal-safe calls only, no allocation. One write(2) of a short line with
// O_APPEND: lines of concurrent VMs never mix. O_NONBLOCK: a FIFO with no reader is skipped (ENXIO).
void log_spawn(const char* path) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return;
  char line[48];
  char* end = line + sizeof line;
  char* p = end;
  *--p = '\n';
  auto put = [&](unsigned long long v) {
    do {
      *--p = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
  };
  put(static_cast<unsigned long long>(now.tv_sec) * 1000000000ULL + static_cast<unsigned long long>(now.tv_nsec));
  *--p = ' ';
  put(static_cast<unsigned long long>(getpid()));
  (void)!write(fd, p, static_cast<std::size_t>(end - p));
  close(fd);
}

}  // namespace

int boot_vm_main(int argc, char** argv) {
  if (argc < 3) return 2;
  {
    // smolvm's internal_boot: read, parse, then remove the config ("no longer needed").
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) return 1;  // a real _boot-vm cannot boot without its config either
    std::ostringstream text;
    text << in.rdbuf();
    if (nlohmann::json::parse(text.str(), nullptr, false).is_discarded()) return 1;
  }
  unlink(argv[2]);

  // SIGALRM (the exit knob) is only ever taken with sigwait; SIGTERM/SIGINT keep their default
  // action while booting, so a VM killed before it is ready dies by that signal, like a real VMM.
  sigset_t alarm_set;
  sigemptyset(&alarm_set);
  sigaddset(&alarm_set, SIGALRM);
  sigprocmask(SIG_BLOCK, &alarm_set, nullptr);
  const auto env = platform::process_env();
  if (unsigned ms = vm_exit_after_ms(env); ms > 0) {
    itimerval t{};
    t.it_value.tv_sec = ms / 1000;
    t.it_value.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    setitimer(ITIMER_REAL, &t, nullptr);
  }
  if (boot_interrupted_by_exit_timer(agent_ready_ms(env), alarm_set)) return 1;

  sigset_t wait_set = alarm_set;
  sigaddset(&wait_set, SIGTERM);
  sigaddset(&wait_set, SIGINT);
  sigprocmask(SIG_BLOCK, &wait_set, nullptr);

  if (const char* fd = std::getenv(kReadyFdEnv); fd != nullptr && std::strcmp(fd, "3") == 0) {
    unsetenv(kReadyFdEnv);
    ssize_t n;
    do {
      n = write(kReadyFd, "R", 1);
    } while (n < 0 && errno == EINTR);
    close(kReadyFd);
  }

  for (;;) {
    int sig = sigwaitinfo(&wait_set, nullptr);
    if (sig == SIGTERM || sig == SIGINT) return 0;  // the agent's graceful shutdown
    if (sig == SIGALRM) return 1;  // the "VM" died on its own
  }
}

Expected<BootingVm, std::string> spawn_boot_vm(const std::string& boot_config_path) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return unexpected(std::string("create ready pipe: ") + std::strerror(errno));

  // Everything the child needs is built before fork: no allocation happens after it.
  std::vector<std::string> env_store;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "SMOLVM_SIM_READY_FD=", 20) != 0) env_store.emplace_back(*e);
  }
  env_store.emplace_back(std::string(kReadyFdEnv) + "=3");
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", mode = "_boot-vm", cfg = boot_config_path;
  const char* spawn_log = std::getenv("SMOLVM_SIM_SPAWN_LOG");
  if (spawn_log != nullptr && *spawn_log == '\0') spawn_log = nullptr;
  char* argv[] = {exe.data(), mode.data(), cfg.data(), nullptr};

  // Like Rust's Command::spawn (smolvm), return only once the child has exec'd: a CLOEXEC pipe
  // that reaches EOF at the exec (or carries its errno). So agent.pid, written after the spawn,
  // always names a process whose command line is already the VM's.
  int exec_report[2];
  if (pipe2(exec_report, O_CLOEXEC) != 0) {
    int err = errno;
    close(ready[0]);
    close(ready[1]);
    return unexpected(std::string("create exec pipe: ") + std::strerror(err));
  }

  std::fflush(nullptr);  // the child must not inherit (and never flushes) buffered output
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(ready[0]);
    close(ready[1]);
    close(exec_report[0]);
    close(exec_report[1]);
    return unexpected(std::string("spawn boot subprocess: ") + std::strerror(err));
  }
  if (pid == 0) {
    if (spawn_log != nullptr) log_spawn(spawn_log);
    // Out of the way of the fds set up below (0-3), still closed by the exec.
    const int report = fcntl(exec_report[1], F_DUPFD_CLOEXEC, 100);
    setpgid(0, 0);  // own process group, same session: smolvm's process_group(0)
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    if (ready[1] == kReadyFd) {
      fcntl(kReadyFd, F_SETFD, 0);  // dup2 onto itself would keep O_CLOEXEC
    } else if (dup2(ready[1], kReadyFd) < 0) {
      _exit(127);
    }
    // No DB handle or lock file leaks into the VM.
    if (report > kReadyFd + 1) close_range(kReadyFd + 1, static_cast<unsigned>(report - 1), 0);
    close_range(static_cast<unsigned>(std::max(report, kReadyFd) + 1), ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv, envp.data());
    int err = errno;
    if (report >= 0) (void)!write(report, &err, sizeof err);
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we return
  close(ready[1]);
  close(exec_report[1]);
  int exec_err = 0;
  ssize_t n;
  do {
    n = read(exec_report[0], &exec_err, sizeof exec_err);
  } while (n < 0 && errno == EINTR);
  close(exec_report[0]);
  if (n == static_cast<ssize_t>(sizeof exec_err)) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    return unexpected(std::string("spawn boot subprocess: ") + std::strerror(exec_err));
  }
  return BootingVm{pid, ready[0]};
}

std::optional<BootExit> wait_agent_ready(BootingVm& vm, std::chrono::milliseconds timeout) {
  pollfd pfd{vm.ready_fd, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int rc = poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc <= 0) continue;  // EINTR or the deadline: the loop re-checks it
    char c = 0;
    ssize_t n = read(vm.ready_fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1 && c == 'R') {
      close_fd(vm.ready_fd);
      return std::nullopt;
    }
    break;  // EOF: the stand-in died before it was ready
  }
  close_fd(vm.ready_fd);
  // Timed out: smolvm SIGTERMs the VMM it gave up on. The stand-in is our child either way.
  if (timed_out) kill(vm.pid, SIGTERM);
  int status = 0;
  pid_t got;
  do {
    got = waitpid(vm.pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  BootExit exit;
  exit.timed_out = timed_out;
  if (got == vm.pid && WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  if (got == vm.pid && WIFEXITED(status)) exit.exit_code = WEXITSTATUS(status);
  return exit;
}

}  // namespace bs::sim
