// The VMs of the machines the supervisor looks after, seen as processes and as data dirs: what
// /proc says about each VM process (VmProcesses), the watches on the machines' data dirs
// (VmDirWatch), an alarm for the VMs that just booted, the strays found among them, and a pidfd
// exit watch on each bottle's verified VM. It only watches: what a change means (the drift check,
// a stray's kill, queueing a bottle) is the Supervisor's, told through the callbacks.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "platform/pidfd.h"
#include "reconcile/world.h"
#include "smolvm/paths.h"
#include "platform/reaper.h"
#include "supervisor/time_source.h"
#include "supervisor/uv_handle.h"
#include "supervisor/vm_dir_watch.h"
#include "supervisor/vm_processes.h"

namespace bs::supervisor {

// 50 ms past the pending window: the /proc start time the window is measured by has 10 ms
// resolution, and a VM looked at a little early would be skipped as pending, then forgotten.
inline constexpr std::chrono::milliseconds kBootedScanDelay{kBootPendingWindowMs + 50};

class VmWatch {
 public:
  struct Callbacks {
    // Machine M's data dir changed (agent.pid, agent.config.json, or a VM just read its boot
    // config): what runs for M may have changed, judge it now.
    std::function<void(const std::string& machine)> changed;
    // VMs booted for these machines are past their pending window: one that neither the row nor
    // agent.pid names by now is a stray (look_for_strays).
    std::function<void(const std::set<std::string>& machines)> boot_windows_ended;
    // The VM watched for `bottle` exited (its readings are forgotten and, if it is our child, it
    // is reaped: `how` says how it ended; nullopt when it was not ours to reap).
    std::function<void(const std::string& bottle, std::int64_t pid, std::optional<platform::ChildExit> how)> exited;
    // The pid smolvm's row names for machine, if any: that VM is not a stray.
    std::function<std::optional<std::int64_t>(const std::string& machine)> row_pid;
  };

  // Without `watch_dirs` (a one-shot run) no data dir is watched.
  VmWatch(uv_loop_t* loop, TimeSource& time, const smolvm::Paths& paths, bool watch_dirs, Callbacks callbacks);
  VmWatch(const VmWatch&) = delete;
  VmWatch& operator=(const VmWatch&) = delete;

  // What /proc says about the VM processes looked at (observe_machine reads through it).
  VmProcesses& processes() { return processes_; }
  // A new loop iteration: see VmProcesses::new_tick.
  void new_tick() { processes_.new_tick(); }
  // pid was killed or seen to exit: it is no stray of anybody's any more, and later looks read
  // /proc again.
  void forget(std::int64_t pid);

  // Watch exactly the data dirs of `machines()`. `version` names that set: a call with the
  // version of the last one does nothing (this runs after every bottle step), so `machines` is
  // asked only when the set may have changed.
  void sync_dirs(std::uint64_t version, const std::function<std::set<std::string>()>& machines);
  std::size_t watched_dirs() const { return dirs_.watched(); }

  // The VMs of `machines`' data dirs that neither the row nor agent.pid names (CONTRACT §6.8),
  // as the whole list (the resync): processes that exited are forgotten first.
  void rescan_strays(const std::set<std::string>& machines);
  // The same for a few machines, added to the list. Returns the machines strays were found for.
  std::set<std::string> look_for_strays(const std::set<std::string>& machines);
  const std::map<std::string, std::vector<StrayVm>>& strays() const { return strays_; }
  // Whether a boot window is still to end (its alarm is armed).
  bool boot_scan_due() const { return booted_scan_.active(); }

  // Watch `bottle`'s VM pid for its exit, instead of the one watched for it so far. No pidfds (or
  // the process is gone already): no watch, and the resync notices the exit.
  void watch_exit(const std::string& bottle, std::int64_t pid);
  void unwatch_exit(const std::string& bottle);
  void unwatch_exit(const std::string& bottle, std::int64_t pid);  // only while it watches that pid
  void unwatch_exits();
  bool watching_exit(const std::string& bottle) const { return exits_.count(bottle) != 0; }

  // Shutdown: no data-dir change or boot window is reported any more (exit watches stay until
  // unwatch_exits, while the last commands finish).
  void stop();

 private:
  struct ExitWatch {
    VmWatch* owner = nullptr;
    std::string bottle;
    std::int64_t pid = 0;
    std::optional<platform::PidFd> pidfd;
    UvHandle<uv_poll_t> poll;
  };
  void on_dir_change(const std::string& machine, VmDirWatch::Change change);
  void arm_booted_scan();
  void on_booted_scan();
  void on_exit(std::string bottle, std::int64_t pid);
  std::map<std::string, std::vector<StrayVm>> scan_strays(const std::set<std::string>& machines);

  uv_loop_t* loop_;
  TimeSource& time_;
  const smolvm::Paths& paths_;
  bool watch_dirs_;
  Callbacks callbacks_;
  VmProcesses processes_;
  VmDirWatch dirs_;
  std::optional<std::uint64_t> dirs_version_;  // the version of the last sync_dirs
  // Machines a VM just booted for -> when that VM is past its pending window (a scan due then).
  std::map<std::string, TimePoint> booted_scan_due_;
  Timer booted_scan_;
  std::map<std::string, std::vector<StrayVm>> strays_;      // by machine
  std::map<std::string, std::unique_ptr<ExitWatch>> exits_;  // by bottle
  bool stopped_ = false;
};

}  // namespace bs::supervisor
