#include "bench/common/commit_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bench/common/run_control.h"
#include "smolvm/vm_table.h"

namespace bs::bench {
namespace {

// How long a WAL write may stay invisible (the writer has not published the WAL index yet)
// before we stop re-reading and wait for the next write instead.
constexpr auto kPublishWindow = std::chrono::milliseconds(50);
// Only how soon we confirm, not the timestamp: slow enough not to compete with the writer.
constexpr auto kRereadEvery = std::chrono::microseconds(500);

}  // namespace

bs::Expected<std::unique_ptr<CommitWatch>, std::string> CommitWatch::start(const smolvm::Paths& paths,
                                                                           const std::string& machine) {
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0) return bs::unexpected(std::string("inotify_init1: ") + std::strerror(errno));
  if (inotify_add_watch(in, paths.server_dir.c_str(), IN_MODIFY) < 0) {
    std::string err = "cannot watch " + paths.server_dir + ": " + std::strerror(errno);
    ::close(in);
    return bs::unexpected(err);
  }
  int stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop < 0) {
    ::close(in);
    return bs::unexpected(std::string("eventfd: ") + std::strerror(errno));
  }
  std::unique_ptr<CommitWatch> w(new CommitWatch(paths, machine, in, stop));
  w->thread_ = std::thread([p = w.get()] {
    raise_clock_priority();
    p->run();
  });
  return w;
}

CommitWatch::CommitWatch(smolvm::Paths paths, std::string machine, int inotify_fd, int stop_fd)
    : paths_(std::move(paths)), machine_(std::move(machine)), inotify_fd_(inotify_fd), stop_fd_(stop_fd) {}

CommitWatch::~CommitWatch() {
  std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  ::close(inotify_fd_);
  ::close(stop_fd_);
}

void CommitWatch::arm(std::optional<std::int64_t> previous_pid) {
  std::lock_guard<std::mutex> lock(mu_);
  armed_ = true;
  previous_ = previous_pid;
  seen_.reset();
}

std::optional<Commit> CommitWatch::wait(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return seen_.has_value(); });
  auto out = seen_;
  armed_ = false;
  return out;
}

bool CommitWatch::drain_db_writes(char* buf, std::size_t size) {
  bool db_write = false;
  ssize_t n;
  while ((n = ::read(inotify_fd_, buf, size)) > 0) {
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      std::string name = e->len > 0 ? e->name : "";
      if (name == "smolvm.db-wal" || name == "smolvm.db") db_write = true;
      p += sizeof(inotify_event) + e->len;
    }
  }
  return db_write;
}

void CommitWatch::run() {
  std::optional<smolvm::VmTable> table;
  auto read_pid = [&]() -> std::optional<std::int64_t> {
    if (!table) {
      auto t = smolvm::VmTable::open(paths_.db);
      if (!t) return std::nullopt;
      table = std::move(*t);
    }
    auto row = table->read_one(machine_);
    if (!row || !*row) return std::nullopt;
    return (*row)->record.pid;
  };
  char buf[4096] __attribute__((aligned(alignof(inotify_event))));
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    const Clock::time_point woke = Clock::now();
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[1].revents & POLLIN) != 0) return;
    if (!drain_db_writes(buf, sizeof(buf))) continue;
    std::optional<std::int64_t> previous;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!armed_ || seen_) continue;
      previous = previous_;
    }
    // The commit's first write is the time: later writes of the same commit (one per page)
    // are noticed only as late as this thread happens to run, so they would move it late.
    const auto give_up = woke + kPublishWindow;
    while (true) {
      auto pid = read_pid();
      if (pid && *pid > 0 && (!previous || *pid != *previous)) {
        std::lock_guard<std::mutex> lock(mu_);
        seen_ = Commit{woke, *pid};
        cv_.notify_all();
        break;
      }
      if (Clock::now() >= give_up) break;  // not that commit: wait for the next write
      std::this_thread::sleep_for(kRereadEvery);
    }
    drain_db_writes(buf, sizeof(buf));
  }
}

}  // namespace bs::bench
