#include "supervisor/supervisor.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "platform/reaper.h"
#include "smolvm/running_vm.h"
#include "supervisor/logging.h"

namespace bs::supervisor {

std::string one_line(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "; ";
    } else {
      out += c;
    }
  }
  return out;
}

Supervisor::Supervisor(uv_loop_t* loop, Settings settings, RunMode mode, store::StateStore store, DaemonStats& stats,
                       Hooks hooks)
    : time_(loop),
      settings_(std::move(settings)),
      mode_(mode),
      stats_(stats),
      hooks_(std::move(hooks)),
      records_(time_, std::move(store)),
      queue_(time_, [this](const std::string& name) { process(name); }) {
  queue_.set_backoff(settings_.config.backoff_initial, settings_.config.backoff_max);
}

Supervisor::~Supervisor() = default;

std::optional<std::string> Supervisor::load() {
  // The store's mirrors.
  if (auto err = records_.load()) return err;
  for (const auto& [bottle_name, _] : records_.leases()) bottles_.get(bottle_name);
  for (const auto& [_, m] : records_.managed()) bottles_.get(m.bottle);
  if (auto saved = records_.saved_specs()) {
    for (const auto& s : *saved) {
      auto spec = parse_bottle_spec(s.path, s.text, settings_.config.pool);
      if (!spec) continue;  // e.g. the pool changed: no usable last valid state
      Bottle& b = bottles_.get(s.bottle);
      b.spec = std::move(*spec);
      b.spec_path = s.path;
    }
  }

  // A first start makes the folder. Once bottles exist, a missing folder is "cannot tell" (an
  // unmounted filesystem, a rename): making it empty would say "every spec removed".
  if (bottles_.empty()) {
    if (auto err = ensure_spec_folder(settings_.specs_dir); !err.empty()) spdlog::warn("{}", err);
  }
  return std::nullopt;
}

void Supervisor::begin() {
  stats_.started = time_.now();
  stats_.last_resync_ms = time_.wall_ms();
  specs_.rescan();
  rows_.refresh(true);
  // The first pass's kills happen before READY: nothing unconfined survives our start.
  std::set<std::string> all;
  for (const auto& [m, _] : records_.managed()) all.insert(m);
  for (const auto& [_, b] : bottles_) {
    if (b.spec) all.insert(b.spec->machine);
  }
  fast_drift_check(all);
  guard_check(outside_rows());
  for (const auto& [name, _] : bottles_) queue_.add(name);

  if (mode_ == RunMode::Daemon) {
    specs_.watch();
    rows_.watch();
    sync_vm_dirs();
  }
}

// ---- smolvm's DB (its rows: row_watch.cpp) --------------------------------------------------

// Readable rows or none changes what every bottle can verify: each is planned again.
void Supervisor::on_rows_availability_changed() {
  for (const auto& [name, _] : bottles_) queue_.add(name);
}

void Supervisor::on_rows_changed(const std::set<std::string>& machines) {
  if (machines.empty()) return;
  fast_drift_check(machines);
  guard_check(machines);
  for (const std::string& m : machines) {
    if (auto owner = bottle_of_machine(m)) queue_.add(*owner);
  }
}

void Supervisor::fast_drift_check(const std::set<std::string>& machines) {
  for (const std::string& m : machines) {
    // Only machines we manage; one a spec merely names is adopted by its bottle's step first.
    auto mm = records_.managed().find(m);
    if (mm == records_.managed().end()) continue;
    Bottle& b = bottles_.get(mm->second.bottle);
    if (b.spec && b.spec->machine != m) continue;  // an old machine on its way out: removal stops it
    std::optional<Verified> v;
    if (auto it = records_.verified().find(m); it != records_.verified().end()) v = Verified{it->second.pid, it->second.start_time, {}};
    MachineObservation obs = observe_machine(m, rows_.rows(), settings_.smolvm, v, vm_watch_.processes());
    if (auto k = drift_kill(m, obs, desired_of(b))) {
      if (auto err = executor_.kill(b, *k)) spdlog::error("bottle {}: {}", b.name, *err);
    }
  }
}

void Supervisor::resync() {
  if (stopping()) return;
  stats_.last_resync_ms = time_.wall_ms();
  const auto began = time_.now();
  specs_.rescan();
  rows_.refresh(true);
  std::set<std::string> machines;
  for (const auto& [m, mm] : records_.managed()) {
    // A machine with a smolvm command in flight may have a VM the row does not name yet.
    if (!executor_.slots().in_flight(m)) machines.insert(m);
  }
  vm_watch_.rescan_strays(machines);
  sync_vm_dirs();
  platform::reap_zombie_children(executor_.child_pids());  // libuv waits for those: not ours to reap
  std::set<std::string> all;
  for (const auto& [m, _] : records_.managed()) all.insert(m);
  fast_drift_check(all);
  guard_check(outside_rows());
  for (const auto& [name, _] : bottles_) queue_.add(name);
  hooks_.status_changed();
  // The observation half of the pass; the per-bottle steps it queued are timed by stats_.pass_started.
  stats_.last_resync_observe = time_.now() - began;
  stats_.pass_started = began;
}

// ---- events ----------------------------------------------------------------------------------

std::int64_t Supervisor::event(const std::string& bottle_name, const std::string& machine, const std::string& kind,
                               const std::string& detail) {
  store::Event e;
  e.ts_ms = time_.wall_ms();
  e.bottle = bottle_name;
  e.machine = machine;
  e.kind = kind;
  e.detail = detail;
  records_.record_event(e);  // now, or queued and retried while the store cannot take it
  if (Bottle* b = bottles_.find(bottle_name)) {
    b->last_event = kind;
    b->last_event_ms = e.ts_ms;
  }
  log_event(JournalEvent{bottle_name, machine, kind, detail});  // kills at warning; under journald with BOTTLE=, MACHINE=, EVENT=, MESSAGE_ID=
  return e.ts_ms;
}

// ---- for the Service: reload, shutdown, status ------------------------------------------------

void Supervisor::apply_settings(Settings fresh) {
  bool pool_changed = !(fresh.config.pool.network == settings_.config.pool.network &&
                        fresh.config.pool.prefix == settings_.config.pool.prefix);
  settings_ = std::move(fresh);
  set_log_level(settings_.config.log_level);
  queue_.set_backoff(settings_.config.backoff_initial, settings_.config.backoff_max);
  specs_.set_pool(settings_.config.pool);
  specs_.set_debounce(settings_.config.debounce);
  spdlog::info("config reloaded from {}{}", settings_.config_path,
               pool_changed ? " (the new pool applies to new leases)" : "");
  removal_.set_grace(settings_.config.removal_grace);  // also for the graces already running
}

void Supervisor::stop() {
  if (stopping()) return;
  rounds_.stop();
  specs_.stop();
  rows_.stop();
  vm_watch_.stop();
  guard_.recheck.stop();
  executor_.stop();
}

void Supervisor::close() {
  vm_watch_.unwatch_exits();
  removal_.stop();
}

bool Supervisor::pass_complete() {
  if (!queue_.idle() || !executor_.slots().idle()) return false;
  if (stats_.pass_started) {
    stats_.last_pass_duration = time_.now() - *stats_.pass_started;
    stats_.pass_started.reset();
  }
  return true;
}

bool Supervisor::all_converged() const {
  bool all = !specs_.problem();  // a folder we cannot read: nothing is known
  for (const auto& [_, b] : bottles_) all = converged(b) && all;
  return all;
}

std::string Supervisor::status_line() const {
  std::size_t total = bottles_.size(), ok = 0, errors = 0;
  for (const auto& [_, b] : bottles_) {
    if (converged(b)) ++ok;
    if (b.spec_error || b.exec_error || b.plan_error) ++errors;
  }
  return (specs_.problem() ? "spec folder cannot be read or trusted, every bottle held; " : "") +
         std::to_string(total) + " bottles: " + std::to_string(ok) + " converged, " + std::to_string(errors) +
         " with errors; drift kills " + std::to_string(stats_.counters.drift_kills);
}

}  // namespace bs::supervisor
