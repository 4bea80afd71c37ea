// The VM data dirs are the earliest signal of what a VM booted with: smolvm writes
// agent.config.json and agent.pid right after the spawn, seconds before the row learns the pid, so
// an unconfined start is reported (and judged) in the loop iteration that sees them change.
#include "supervisor/vm_watch.h"

#include <algorithm>

#include "platform/reaper.h"
#include "smolvm/running_vm.h"
#include "supervisor/observer.h"

namespace bs::supervisor {

VmWatch::VmWatch(uv_loop_t* loop, TimeSource& time, const smolvm::Paths& paths, bool watch_dirs,
                 Callbacks callbacks)
    : loop_(loop),
      time_(time),
      paths_(paths),
      watch_dirs_(watch_dirs),
      callbacks_(std::move(callbacks)),
      dirs_(loop, [this](const std::string& machine, VmDirWatch::Change change) { on_dir_change(machine, change); }),
      booted_scan_(time) {}

void VmWatch::forget(std::int64_t pid) {
  processes_.forget(pid);
  // Strays are listed by the last full resync (and boot windows) only: one that is dead, or no
  // longer that process, must leave the list, or every round plans its kill again and its bottle
  // is "not converging" until the next resync.
  for (auto it = strays_.begin(); it != strays_.end();) {
    std::erase_if(it->second, [&](const StrayVm& v) { return v.pid == pid; });
    it = it->second.empty() ? strays_.erase(it) : std::next(it);
  }
}

void VmWatch::sync_dirs(std::uint64_t version, const std::function<std::set<std::string>()>& machines) {
  if (!watch_dirs_ || stopped_ || dirs_version_ == version) return;
  dirs_version_ = version;
  std::map<std::string, std::string> dirs;
  for (const std::string& m : machines()) dirs.emplace(m, paths_.vm_data_dir(m));
  dirs_.sync(paths_.vms_dir, dirs);
}

void VmWatch::on_dir_change(const std::string& machine, VmDirWatch::Change change) {
  if (stopped_) return;
  // What the VM booted with may have been rewritten (or belongs to a new VM): read it again.
  processes_.forget_booted_in(paths_.vm_data_dir(machine));
  if (change == VmDirWatch::Change::Booted) {
    // A VM of this machine just read its boot-config.json. If neither agent.pid nor the row ever
    // names it, it is a stray: look once its pending window has passed.
    // Each VM gets its own due time: a second boot while a scan is already due must not be
    // looked at before its own window has passed (it would be skipped as pending, then forgotten).
    booted_scan_due_[machine] = time_.now() + kBootedScanDelay;
    if (!booted_scan_.active()) arm_booted_scan();
  }
  callbacks_.changed(machine);
}

void VmWatch::arm_booted_scan() {
  if (booted_scan_due_.empty()) return;
  auto first = booted_scan_due_.begin()->second;
  for (const auto& [_, due] : booted_scan_due_) first = std::min(first, due);
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(first - time_.now());
  booted_scan_.start(std::max(wait, std::chrono::milliseconds(0)), [this] { on_booted_scan(); });
}

void VmWatch::on_booted_scan() {
  if (stopped_) return;
  const auto now = time_.now();
  std::set<std::string> machines;
  for (auto it = booted_scan_due_.begin(); it != booted_scan_due_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    machines.insert(it->first);
    it = booted_scan_due_.erase(it);
  }
  arm_booted_scan();
  if (!machines.empty()) callbacks_.boot_windows_ended(machines);
}

void VmWatch::rescan_strays(const std::set<std::string>& machines) {
  processes_.forget_exited();
  strays_ = scan_strays(machines);
}

std::set<std::string> VmWatch::look_for_strays(const std::set<std::string>& machines) {
  std::set<std::string> found_for;
  for (auto& [m, found] : scan_strays(machines)) {
    auto& list = strays_[m];
    for (const StrayVm& v : found) {
      if (std::none_of(list.begin(), list.end(), [&](const StrayVm& o) { return o.pid == v.pid; })) list.push_back(v);
    }
    found_for.insert(m);
  }
  return found_for;
}

std::map<std::string, std::vector<StrayVm>> VmWatch::scan_strays(const std::set<std::string>& machines) {
  std::map<std::string, std::string> hashes;  // -> its data dir's hash
  std::map<std::string, std::set<std::int64_t>> referenced;  // the pids the row and agent.pid name
  for (const std::string& m : machines) {
    hashes.emplace(m, smolvm::vm_dir_hash(m));
    if (auto pid = callbacks_.row_pid(m)) referenced[m].insert(*pid);
    if (auto agent = smolvm::read_agent_pid(paths_.vm_data_dir(m)); agent && *agent) {
      referenced[m].insert((*agent)->pid);
    }
  }
  return find_strays(hashes, paths_, referenced, processes_);
}

void VmWatch::watch_exit(const std::string& bottle, std::int64_t pid) {
  if (auto it = exits_.find(bottle); it != exits_.end()) {
    if (it->second->pid == pid) return;
    exits_.erase(it);
  }
  auto fd = platform::PidFd::open(pid);
  if (!fd) return;  // no pidfds: the resync notices exits
  auto w = std::make_unique<ExitWatch>();
  w->owner = this;
  w->bottle = bottle;
  w->pid = pid;
  w->pidfd = std::move(*fd);
  auto* poll = new uv_poll_t;
  if (uv_poll_init(loop_, poll, w->pidfd->fd()) != 0) {
    delete poll;
    return;
  }
  w->poll = UvHandle<uv_poll_t>(poll);
  poll->data = w.get();  // cleared by UvHandle::reset before the watch dies
  uv_poll_start(poll, UV_READABLE, [](uv_poll_t* p, int, int) {
    auto* watch = static_cast<ExitWatch*>(p->data);
    if (watch == nullptr) return;
    uv_poll_stop(p);
    watch->owner->on_exit(watch->bottle, watch->pid);  // copies: the watch is destroyed inside
  });
  exits_[bottle] = std::move(w);
}

void VmWatch::on_exit(std::string bottle, std::int64_t pid) {
  exits_.erase(bottle);
  processes_.forget(pid);
  const std::optional<platform::ChildExit> how = platform::reap_child(pid);
  callbacks_.exited(bottle, pid, how);
}

void VmWatch::unwatch_exit(const std::string& bottle) { exits_.erase(bottle); }

void VmWatch::unwatch_exit(const std::string& bottle, std::int64_t pid) {
  if (auto it = exits_.find(bottle); it != exits_.end() && it->second->pid == pid) exits_.erase(it);
}

void VmWatch::unwatch_exits() { exits_.clear(); }

void VmWatch::stop() {
  stopped_ = true;
  booted_scan_.stop();
  dirs_.stop();
}

}  // namespace bs::supervisor
