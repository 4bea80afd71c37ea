// The baseline the drift-kill benchmark compares against: a watchdog that polls every second,
// the way one would write it without an event loop. Each tick it reads every vms row, and for
// each running VM of a machine it knows (identity checked by start time) reads the policy the VM
// booted with from boot-config.json and SIGKILLs it when that is not the desired allowlist.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "reconcile/cidr.h"
#include "smolvm/paths.h"

namespace bs::bench {

class ReferencePoller {
 public:
  // desired: machine -> the allowlist its VM must have booted with.
  ReferencePoller(smolvm::Paths paths, std::map<std::string, Allowlist> desired, std::chrono::milliseconds period);
  ~ReferencePoller();  // stops
  ReferencePoller(const ReferencePoller&) = delete;
  ReferencePoller& operator=(const ReferencePoller&) = delete;

  void start();
  void stop();

  std::uint64_t kills() const;
  std::vector<double> check_ms() const;  // how long each tick's check took

 private:
  void run();
  void check_once();

  smolvm::Paths paths_;
  std::map<std::string, Allowlist> desired_;
  std::chrono::milliseconds period_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::uint64_t kills_ = 0;
  std::vector<double> check_ms_;
  std::thread thread_;
};

}  // namespace bs::bench
