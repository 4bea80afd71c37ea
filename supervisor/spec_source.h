// The spec folder as a source of whole-set updates (as kubelet's file source): it owns the
// folder's watch (with its debounce and re-arm backoff), the read cache and parse memo, and
// whether the folder can be read and trusted. Each rescan hands the whole set of spec files to
// `on_scan`, or says the folder cannot be trusted (`on_held`) or can be again (`on_trusted`).
// What the set means for each bottle (its desired state, presence, removal grace) is the
// Supervisor's.
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/spec_set.h"
#include "supervisor/spec_folder.h"
#include "supervisor/time_source.h"
#include "supervisor/uv_handle.h"

namespace bs::supervisor {

// One rescan's files. `unchanged`: the very files of the previous rescan, all unchanged since
// read, under the pool they were last resolved with (a no-op resync's usual case).
struct SpecScan {
  bool unchanged = false;
  std::vector<SpecFile> files;
};

class SpecSource {
 public:
  struct Callbacks {
    std::function<void(SpecScan)> on_scan;
    std::function<void(const std::string& problem)> on_held;  // the folder cannot be read or trusted
    std::function<void()> on_trusted;                         // it can again (before the next on_scan)
  };

  // `watch_folder`: the daemon, which watches; `reconcile --once` only scans.
  SpecSource(uv_loop_t* loop, TimeSource& time, std::string dir, bool watch_folder, const Ipv4Pool& pool,
             std::chrono::milliseconds debounce, Callbacks callbacks);
  SpecSource(const SpecSource&) = delete;
  SpecSource& operator=(const SpecSource&) = delete;

  // Watches the folder (re-armed with backoff while it is missing); scans after each burst of
  // events settles for `debounce`.
  void watch();
  void rescan();
  // Resolves a scan's files (names, parse, conflicts) under the pool, through the parse memo.
  std::vector<SpecEntry> resolve(std::vector<SpecFile> files);
  void set_debounce(std::chrono::milliseconds debounce) { debounce_ = debounce; }
  void set_pool(const Ipv4Pool& pool) { pool_ = pool; }
  void stop();

  // Why the folder cannot be read or trusted; every bottle is held meanwhile.
  const std::optional<std::string>& problem() const { return problem_; }

 private:
  void arm_watch();
  void on_event();
  void retry_watch_later();

  uv_loop_t* loop_;
  std::string dir_;
  bool watch_folder_;
  Callbacks callbacks_;
  Ipv4Pool pool_;                          // the pool specs are resolved under now
  std::chrono::milliseconds debounce_;
  std::optional<Ipv4Pool> resolved_pool_;  // the pool of the last full resolve
  std::optional<std::string> problem_;
  SpecReadCache reads_;   // spec files as last read
  SpecParseMemo parses_;  // and as last parsed
  UvHandle<uv_fs_event_t> watch_;
  std::uint64_t dir_inode_ = 0, dir_device_ = 0;  // the folder watch_ watches
  Timer debounce_timer_, rearm_;
  std::chrono::milliseconds rearm_delay_{1000};
};

}  // namespace bs::supervisor
