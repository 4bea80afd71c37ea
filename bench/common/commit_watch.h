// Notices when smolvm commits a new VM pid into one machine's row, the moment the drift-kill
// benchmark measures from. It watches the DB directory the way the daemon does (inotify on the
// WAL), on its own thread and its own connection, so its clock does not wait for anything the
// benchmark's main thread is doing.
//
// Timestamp: the wake-up for the first WAL write of the commit, taken before reading the row.
// A WAL write becomes visible to readers only once the writer has also updated the WAL index
// (shared memory, which inotify cannot see), so the row is re-read briefly until the new pid
// shows; the time stays that of the write. The machine must have no other commits in flight
// (the benchmark's out-of-band starts commit exactly once, after a first warm-up start).
// Bias: a late wake-up of this thread makes the measured latency shorter by that delay; the
// thread asks for real-time priority (raise_clock_priority) to keep that delay small.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "bench/common/samples.h"
#include "reconcile/expected.h"
#include "smolvm/paths.h"

namespace bs::bench {

struct Commit {
  Clock::time_point at;
  std::int64_t pid = 0;
};

class CommitWatch {
 public:
  static bs::Expected<std::unique_ptr<CommitWatch>, std::string> start(const smolvm::Paths& paths,
                                                                       const std::string& machine);
  ~CommitWatch();
  CommitWatch(const CommitWatch&) = delete;
  CommitWatch& operator=(const CommitWatch&) = delete;

  // Look for the next commit of a pid other than `previous_pid` (nullopt: any pid).
  void arm(std::optional<std::int64_t> previous_pid);
  // The armed commit, once seen; nullopt after `timeout`.
  std::optional<Commit> wait(std::chrono::milliseconds timeout);

 private:
  CommitWatch(smolvm::Paths paths, std::string machine, int inotify_fd, int stop_fd);
  void run();
  // Reads every pending inotify event; true if one was a write to the DB or its WAL.
  bool drain_db_writes(char* buf, std::size_t size);

  smolvm::Paths paths_;
  std::string machine_;
  int inotify_fd_, stop_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  std::optional<std::int64_t> previous_;
  std::optional<Commit> seen_;
  std::thread thread_;
};

}  // namespace bs::bench
