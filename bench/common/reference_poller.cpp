#include "bench/common/reference_poller.h"

#include <optional>

#include "bench/common/run_control.h"
#include "bench/common/samples.h"
#include "platform/identity.h"
#include "platform/process.h"
#include "smolvm/running_vm.h"
#include "smolvm/vm_table.h"

namespace bs::bench {

ReferencePoller::ReferencePoller(smolvm::Paths paths, std::map<std::string, Allowlist> desired,
                                 std::chrono::milliseconds period)
    : paths_(std::move(paths)), desired_(std::move(desired)), period_(period) {}

ReferencePoller::~ReferencePoller() { stop(); }

void ReferencePoller::start() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void ReferencePoller::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t ReferencePoller::kills() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kills_;
}

std::vector<double> ReferencePoller::check_ms() const {
  std::lock_guard<std::mutex> lock(mu_);
  return check_ms_;
}

void ReferencePoller::run() {
  normal_priority();  // the baseline gets no favours from the measuring threads' priority
  auto next = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    check_once();
    lock.lock();
    next += period_;  // a fixed cadence: a slow check does not push the next tick back
    cv_.wait_until(lock, next, [&] { return stopping_; });
  }
}

void ReferencePoller::check_once() {
  const auto began = Clock::now();
  std::uint64_t killed = 0;
  // A fresh connection per tick, as a cron-style script would have.
  if (auto table = smolvm::VmTable::open(paths_.db)) {
    if (auto rows = table->read_all()) {
      for (const auto& row : *rows) {
        auto want = desired_.find(row.name);
        if (want == desired_.end() || !row.record.pid || *row.record.pid <= 0) continue;
        const std::int64_t pid = *row.record.pid;
        const platform::ArgvRule rule = paths_.vm_command_line(row.name);
        if (platform::check_identity(pid, row.record.pid_start_time, rule) != platform::Identity::Match) {
          continue;  // not running (or not that VM any more): nothing to kill
        }
        bool drifted = true;
        auto booted = smolvm::read_running_policy(paths_.vm_data_dir(row.name));
        if (booted && booted->kind == smolvm::AllowedCidrs::Kind::List) {
          auto list = parse_allowlist(booted->cidrs);
          drifted = !list || *list != want->second;
        }
        if (!drifted) continue;
        auto r = platform::kill_verified(pid, row.record.pid_start_time, rule);
        if (r.outcome == platform::KillOutcome::Killed) ++killed;
      }
    }
  }
  const double took = ms_between(began, Clock::now());
  std::lock_guard<std::mutex> lock(mu_);
  kills_ += killed;
  check_ms_.push_back(took);
}

}  // namespace bs::bench
