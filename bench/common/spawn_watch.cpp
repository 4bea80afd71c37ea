#include "bench/common/spawn_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench/common/run_control.h"
#include "platform/pidfd.h"

namespace bs::bench {

bs::Expected<std::unique_ptr<SpawnWatch>, std::string> SpawnWatch::start(const std::string& fifo_path,
                                                                        std::chrono::milliseconds life_limit) {
  if (::mkfifo(fifo_path.c_str(), 0600) != 0) {
    return bs::unexpected("mkfifo " + fifo_path + ": " + std::strerror(errno));
  }
  // O_RDWR: we are a writer too, so the FIFO never reads as end-of-file between two VMs' lines
  // (which would wake poll() over and over).
  int fd = ::open(fifo_path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return bs::unexpected("open " + fifo_path + ": " + std::strerror(errno));
  int stop = ::eventfd(0, EFD_CLOEXEC);
  if (stop < 0) {
    ::close(fd);
    return bs::unexpected(std::string("eventfd: ") + std::strerror(errno));
  }
  int dir = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (dir < 0) {
    ::close(fd);
    ::close(stop);
    return bs::unexpected(std::string("inotify_init1: ") + std::strerror(errno));
  }
  std::unique_ptr<SpawnWatch> w(new SpawnWatch(fifo_path, fd, stop, dir, life_limit));
  w->thread_ = std::thread([p = w.get()] { p->run(); });
  return w;
}

SpawnWatch::SpawnWatch(std::string path, int fifo_fd, int stop_fd, int dir_fd, std::chrono::milliseconds life_limit)
    : path_(std::move(path)), fifo_fd_(fifo_fd), stop_fd_(stop_fd), dir_fd_(dir_fd), life_limit_(life_limit) {}

SpawnWatch::~SpawnWatch() {
  std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  ::close(fifo_fd_);
  ::close(stop_fd_);
  ::close(dir_fd_);
  ::unlink(path_.c_str());
}

std::optional<VmLife> SpawnWatch::next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !done_.empty(); })) return std::nullopt;
  VmLife l = std::move(done_.front());
  done_.pop_front();
  return l;
}

void SpawnWatch::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  done_.clear();
}

void SpawnWatch::run() {
  raise_clock_priority();
  std::string pending;
  char buf[256];
  for (;;) {
    pollfd p[2] = {{fifo_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents != 0) return;
    ssize_t n = ::read(fifo_fd_, buf, sizeof buf);
    if (n <= 0) continue;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      long long pid = 0, ns = 0;
      if (std::sscanf(line.c_str(), "%lld %lld", &pid, &ns) != 2) continue;
      follow(pid, Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns))));
    }
  }
}

std::optional<std::string> SpawnWatch::watch_agent_pid(const std::string& data_dir) {
  if (::inotify_add_watch(dir_fd_, data_dir.c_str(), IN_MODIFY) < 0) {
    return "cannot watch " + data_dir + ": " + std::strerror(errno);
  }
  return std::nullopt;
}

bool SpawnWatch::agent_pid_written() {
  char buf[4096] __attribute__((aligned(alignof(inotify_event))));
  bool hit = false;
  ssize_t n;
  while ((n = ::read(dir_fd_, buf, sizeof buf)) > 0) {
    for (char* c = buf; c < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(c);
      if (e->len > 0 && std::strcmp(e->name, "agent.pid") == 0) hit = true;
      c += sizeof(inotify_event) + e->len;
    }
  }
  return hit;
}

void SpawnWatch::follow(std::int64_t pid, Clock::time_point spawned) {
  VmLife life{pid, spawned, std::nullopt, std::nullopt, {}};
  auto pidfd = platform::PidFd::open(pid);
  if (!pidfd) {
    life.error = "pid " + std::to_string(pid) + " was gone (reaped) before a pidfd could be opened";
  } else {
    // The data dir's events before this VM's spawn were drained at the end of the last VM's life;
    // smolvm writes agent.pid once per start, after the spawn.
    pollfd p[3] = {{pidfd->fd(), POLLIN, 0}, {stop_fd_, POLLIN, 0}, {dir_fd_, POLLIN, 0}};
    const auto deadline = Clock::now() + life_limit_;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        life.error = "pid " + std::to_string(pid) + " still alive after " + std::to_string(life_limit_.count()) + " ms";
        break;
      }
      int rc = ::poll(p, 3, static_cast<int>(left.count()));
      if (rc <= 0) continue;
      const auto now = Clock::now();
      // Both may be ready in one wake-up: the write came first (the kill follows it).
      if (p[2].revents != 0 && agent_pid_written() && !life.named) life.named = now;
      if (p[0].revents != 0) {
        life.died = now;
        break;
      }
      if (p[1].revents != 0) {
        life.error = "stopped";
        break;
      }
    }
  }
  agent_pid_written();  // what the CLI does after the VM's death (it removes agent.pid) is not the next VM's
  std::lock_guard<std::mutex> lock(mu_);
  done_.push_back(std::move(life));
  cv_.notify_all();
}

}  // namespace bs::bench
