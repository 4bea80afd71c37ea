#include "unit/sim/process_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace bs::test {
namespace {

std::vector<std::string> build_env(const SpawnOptions& opts) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    bool drop = opts.env_set.count(key) > 0;
    for (const auto& p : opts.env_unset_prefixes) drop = drop || key.rfind(p, 0) == 0;
    if (!drop) env.push_back(kv);
  }
  for (const auto& [k, v] : opts.env_set) env.push_back(k + "=" + v);
  return env;
}

void drain(int& fd, std::string& into) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) {
    into.append(buf, static_cast<std::size_t>(n));
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close(fd);
    fd = -1;
  }
}

}  // namespace

RunningProcess::RunningProcess(const std::vector<std::string>& argv, const SpawnOptions& opts)
    : deadline_(std::chrono::steady_clock::now() + opts.timeout) {
  int out[2], err[2], in[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (opts.stdin_data) {
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);

  std::vector<std::string> env = build_env(opts);
  std::vector<char*> envp, args;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  close(in[0]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    close(in[1]);
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }
  if (opts.stdin_data) {
    // Small inputs only: they fit in the pipe buffer, so this never blocks.
    ssize_t n = write(in[1], opts.stdin_data->data(), opts.stdin_data->size());
    (void)n;
  }
  close(in[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

RunningProcess::~RunningProcess() {
  if (!waited_ && pid_ > 0) {
    kill(pid_, SIGKILL);  // our own child: never left running after a failed test
    wait();
  }
}

ProcResult RunningProcess::wait() {
  ProcResult r;
  waited_ = true;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      if (r.timed_out) {  // killed and still no EOF: someone else holds the pipes; stop reading
        if (out_fd_ >= 0) close(out_fd_);
        if (err_fd_ >= 0) close(err_fd_);
        out_fd_ = err_fd_ = -1;
        break;
      }
      r.timed_out = true;
      kill(pid_, SIGKILL);
      deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    pollfd fds[2];
    int n = 0;
    if (out_fd_ >= 0) fds[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0) fds[n++] = {err_fd_, POLLIN, 0};
    int rc = poll(fds, static_cast<nfds_t>(n), 100);
    if (rc <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      if (fds[i].fd == out_fd_) drain(out_fd_, r.out);
      else if (fds[i].fd == err_fd_) drain(err_fd_, r.err);
    }
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

ProcResult run_process(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  RunningProcess p(argv, opts);
  return p.wait();
}

}  // namespace bs::test
