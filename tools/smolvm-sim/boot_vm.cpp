#include "tools/smolvm-sim/boot_vm.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

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

}  // namespace

int boot_vm_main(int argc, char** argv) {
  if (argc < 3) return 2;
  int cfg = open(argv[2], O_RDONLY | O_CLOEXEC);
  if (cfg < 0) return 1;  // real _boot-vm cannot boot without its config either
  close(cfg);

  // Block the signals we wait for, so they queue for sigwaitinfo instead of running handlers.
  sigset_t wait_set;
  sigemptyset(&wait_set);
  sigaddset(&wait_set, SIGTERM);
  sigaddset(&wait_set, SIGINT);
  sigaddset(&wait_set, SIGALRM);
  sigprocmask(SIG_BLOCK, &wait_set, nullptr);

  if (unsigned ms = vm_exit_after_ms(platform::process_env()); ms > 0) {
    itimerval t{};
    t.it_value.tv_sec = ms / 1000;
    t.it_value.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
    setitimer(ITIMER_REAL, &t, nullptr);
  }

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
    if (sig == SIGTERM || sig == SIGINT) return 0;
    if (sig == SIGALRM) return 1;  // the "VM" died on its own
  }
}

Expected<pid_t, std::string> spawn_boot_vm(const std::string& boot_config_path,
                                           std::chrono::milliseconds ready_timeout) {
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
  char* argv[] = {exe.data(), mode.data(), cfg.data(), nullptr};

  std::fflush(nullptr);  // the child must not inherit (and never flushes) buffered output
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(ready[0]);
    close(ready[1]);
    return unexpected(std::string("spawn boot subprocess: ") + std::strerror(err));
  }
  if (pid == 0) {
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
    close_range(kReadyFd + 1, ~0U, 0);  // no DB handle or lock file leaks into the VM
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(argv[0], argv, envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we return
  close_fd(ready[1]);

  pollfd pfd{ready[0], POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + ready_timeout;
  std::string failure;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      failure = "agent did not become ready within " + std::to_string(ready_timeout.count() / 1000) + "s";
      break;
    }
    int rc = poll(&pfd, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char c = 0;
    ssize_t n = read(ready[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n == 1 && c == 'R') break;
    failure = "VM process " + std::to_string(pid) + " exited before it became ready";
    break;
  }
  close_fd(ready[0]);
  if (!failure.empty()) {
    stop_vm_process(pid, std::chrono::seconds(2), std::chrono::seconds(3));
    return unexpected(failure);
  }
  return pid;
}

}  // namespace bs::sim
