// Times a VM's life from its spawn to its death, for VMs started with smolvm-sim's
// SMOLVM_SIM_SPAWN_LOG pointing at our FIFO. The forked VM process writes "<pid> <CLOCK_MONOTONIC
// ns>" before it execs (the /proc start time has only 10 ms resolution); this
// thread, blocked in read() on the FIFO, opens a pidfd for that pid at once and blocks in poll()
// on it: the kernel wakes it as the process dies (before anyone reaps it). Both timestamps are
// CLOCK_MONOTONIC, the steady clock of every other benchmark time.
//
// One VM at a time: the thread follows a VM to its death (or `life_limit`) before it reads the
// next line. Bias: a late wake-up of this thread makes the measured life longer (never shorter);
// it runs at real-time priority when allowed (raise_clock_priority) to keep that small.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "bench/common/samples.h"
#include "reconcile/expected.h"

namespace bs::bench {

struct VmLife {
  std::int64_t pid = 0;
  Clock::time_point spawned;                 // the VM process's own timestamp after its fork
  std::optional<Clock::time_point> named;    // agent.pid written for it (when a data dir is watched)
  std::optional<Clock::time_point> died;     // nullopt: see `error`
  std::string error;                         // why `died` is unknown
};

class SpawnWatch {
 public:
  // Makes the FIFO `fifo_path` (must not exist) and starts the thread.
  static bs::Expected<std::unique_ptr<SpawnWatch>, std::string> start(const std::string& fifo_path,
                                                                      std::chrono::milliseconds life_limit);
  // From now on also times the write of <data_dir>/agent.pid during each VM's life (inotify
  // IN_MODIFY): the moment smolvm names the VM, the earliest the supervisor can know it. The
  // dir must exist (smolvm makes it at a machine's first start). nullopt or the error.
  std::optional<std::string> watch_agent_pid(const std::string& data_dir);
  ~SpawnWatch();
  SpawnWatch(const SpawnWatch&) = delete;
  SpawnWatch& operator=(const SpawnWatch&) = delete;

  const std::string& path() const { return path_; }
  // The next VM whose life has ended (or could not be followed), oldest first; nullopt after `timeout`.
  std::optional<VmLife> next(std::chrono::milliseconds timeout);
  // Forgets every finished VM not yet taken (between phases of a benchmark).
  void clear();

 private:
  SpawnWatch(std::string path, int fifo_fd, int stop_fd, int dir_fd, std::chrono::milliseconds life_limit);
  bool agent_pid_written();  // drains the data dir's events: was one a write of agent.pid?
  void run();
  void follow(std::int64_t pid, Clock::time_point spawned);

  std::string path_;
  int fifo_fd_, stop_fd_, dir_fd_;  // dir_fd_: inotify, on the data dir once watched
  std::chrono::milliseconds life_limit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<VmLife> done_;
  std::thread thread_;
};

}  // namespace bs::bench
