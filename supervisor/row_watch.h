// smolvm's DB rows as the daemon sees them: one long-lived connection to the state DB, the watch
// on its folder, the re-checks after each event, the reopen backoff after a failure, and the ONE
// row snapshot every other part reads. It reports what changed through callbacks; what a change
// means (drift check, guard check, which bottles to plan again) is the Supervisor's business.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "smolvm/paths.h"
#include "smolvm/record.h"
#include "smolvm/vm_table.h"
#include "supervisor/observer.h"
#include "supervisor/time_source.h"
#include "supervisor/uv_handle.h"

namespace bs::supervisor {

class RowWatch {
 public:
  struct Callbacks {
    // Machines whose row appeared, vanished or changed, found by a DB event, a re-check or a
    // reopen (never empty). Reads the caller asks for itself (refresh) return theirs instead.
    std::function<void(const std::set<std::string>& machines)> rows_changed;
    // The rows became readable, or could no longer be read (reported before rows_changed).
    std::function<void()> availability_changed;
  };

  // `paths` is read live (a config reload may change them); `iteration` is the loop iteration
  // now, so that the steps of one loop iteration ask the DB whether it changed only once.
  RowWatch(TimeSource& time, uv_loop_t* loop, const smolvm::Paths& paths, std::function<std::uint64_t()> iteration,
           Callbacks callbacks);
  RowWatch(const RowWatch&) = delete;
  RowWatch& operator=(const RowWatch&) = delete;

  const RowSnapshot& rows() const { return snap_; }
  bool available() const { return snap_.available; }
  const std::string& problem() const { return snap_.problem; }
  // The row of `machine` when the rows can be read and it has one; nullptr otherwise.
  const smolvm::MachineRow* row(const std::string& machine) const;
  bool open() const { return vms_.has_value(); }      // a connection to the DB is open
  bool watching() const { return bool(watch_.db); }  // smolvm's server/ folder is watched

  // Watches smolvm's server/ folder (and its parent, which sees a new server/) from now on.
  void watch();
  // Re-reads the vms rows if another process committed (or `force`); returns the machines whose
  // row appeared, vanished or changed since the last snapshot. Reports nothing itself.
  std::set<std::string> refresh(bool force);
  // A refresh whose findings go to the callbacks (what a DB event does).
  void check();
  // Fresh rows for `machines`: the snapshot may predate our own last command (see row_watch.cpp).
  void freshen(const std::vector<std::string>& machines);
  // The guarded patch through our connection; the snapshot takes the row as re-read. nullopt:
  // no DB is open.
  std::optional<smolvm::PatchResult> patch(const std::string& machine, const smolvm::RecordPatch& patch);
  // Shutdown: no more watches, re-checks or reopens.
  void stop();

 private:
  void arm_watch();
  void rearm_watch_soon();
  // The watched server/ folder is gone or is another folder now (deleted, renamed, recreated).
  bool watch_stale() const;
  void on_event();
  void arm_recheck();
  void arm_reopen();  // retries the DB's open when its backoff ends

  TimeSource& time_;
  uv_loop_t* loop_;
  const smolvm::Paths& paths_;
  std::function<std::uint64_t()> iteration_;
  Callbacks cb_;
  std::optional<smolvm::VmTable> vms_;
  std::uint64_t data_version_ = 0;
  std::optional<std::uint64_t> checked_at_;  // loop iteration the snapshot was last current in
  RowSnapshot snap_;
  Timer rearm_{time_}, recheck_{time_};
  std::chrono::milliseconds recheck_delay_{1};
  // After a failed open of smolvm's DB, the next attempt waits (doubling): opening runs SQLite on
  // the loop, and a broken DB must not be reopened on every event it causes.
  struct Reopen {
    Timer timer;
    std::chrono::milliseconds delay{0};
    TimePoint not_before{};
  } reopen_{Timer(time_)};
  // db: smolvm's server/ folder; root: its parent, which sees a new server/.
  struct FolderWatch {
    UvHandle<uv_fs_event_t> db, root;
    std::uint64_t inode = 0, device = 0;  // the server/ folder `db` watches
  } watch_;
  bool stopped_ = false;
};

}  // namespace bs::supervisor
