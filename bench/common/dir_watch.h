// A wake-up when files in a directory are written (inotify, IN_MODIFY): the benchmarks use it
// to ask the daemon for its status right after it wrote something to its state DB, instead of
// polling the control socket in a tight loop (which would load the very daemon being measured).
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "reconcile/expected.h"

namespace bs::bench {

class DirWatch {
 public:
  // Watches `dir` for writes to any of `names` (file names inside it).
  static bs::Expected<std::unique_ptr<DirWatch>, std::string> open(const std::string& dir,
                                                                   std::set<std::string> names);
  ~DirWatch();
  DirWatch(const DirWatch&) = delete;
  DirWatch& operator=(const DirWatch&) = delete;

  // True when one of the files was written before `timeout` ran out (all pending events are
  // consumed), false on timeout.
  bool wait(std::chrono::milliseconds timeout);

 private:
  DirWatch(int fd, std::set<std::string> names) : fd_(fd), names_(std::move(names)) {}
  int fd_;
  std::set<std::string> names_;
};

}  // namespace bs::bench
