#include "supervisor/supervisor.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "platform/reaper.h"
#include "smolvm/running_vm.h"
#include "supervisor/control_server.h"
#include "supervisor/logging.h"
#include "supervisor/notify.h"

namespace bs::supervisor {
namespace {

std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
  static std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0.9, 1.1);  // ±10 %: no aligned resyncs
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * dist(rng)));
}

}  // namespace

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

Supervisor::Supervisor(uv_loop_t* loop, Settings settings, CommonFlags flags, RunMode mode,
                       store::StateStore store)
    : loop_(loop),
      settings_(std::move(settings)),
      flags_(std::move(flags)),
      mode_(mode),
      records_(loop, std::move(store)),
      queue_(time_, [this](const std::string& name) { process(name); }),
      // A bottle whose turn for a command slot came is planned again: the plan that queued it may
      // be minutes old. One gone meanwhile leaves the slot to the next.
      slots_(std::make_unique<SmolvmProcesses>(loop),
             [this](const std::string& name) {
               if (auto it = bottles_.find(name); it != bottles_.end()) rounds_.replan(it->second, false);
             }),
      resync_(loop),
      watchdog_(loop) {
  queue_.set_backoff(settings_.config.backoff_initial, settings_.config.backoff_max);
}

Supervisor::~Supervisor() = default;

std::optional<std::string> Supervisor::start() {
  platform::become_child_subreaper();
  stats_.started = time_.now();
  count_wakeups();

  // The store's mirrors.
  if (auto err = records_.load()) return err;
  for (const auto& [bottle_name, _] : records_.leases()) bottle(bottle_name);
  for (const auto& [_, m] : records_.managed()) bottle(m.bottle);
  if (auto saved = records_.saved_specs()) {
    for (const auto& s : *saved) {
      auto spec = parse_bottle_spec(s.path, s.text, settings_.config.pool);
      if (!spec) continue;  // e.g. the pool changed: no usable last valid state
      Bottle& b = bottle(s.bottle);
      b.spec = std::move(*spec);
      b.spec_path = s.path;
    }
  }

  // A first start makes the folder. Once bottles exist, a missing folder is "cannot tell" (an
  // unmounted filesystem, a rename): making it empty would say "every spec removed".
  if (bottles_.empty()) {
    if (auto err = ensure_spec_folder(settings_.specs_dir); !err.empty()) spdlog::warn("{}", err);
  }

  if (mode_ == RunMode::Daemon) {
    for (int signum : {SIGTERM, SIGINT, SIGHUP}) {
      auto* h = new uv_signal_t;
      uv_signal_init(loop_, h);
      h->data = this;
      uv_signal_start(h, [](uv_signal_t* s, int n) {
        if (s->data != nullptr) static_cast<Supervisor*>(s->data)->on_signal(n);
      }, signum);
      signals_.emplace_back(h);
    }
    auto server = ControlServer::listen(
        loop_, settings_.socket_path,
        [this](const ControlRequest& req, std::function<void(const nlohmann::json&)> reply) {
          on_control_request(req, std::move(reply));
        });
    if (!server) return server.error();
    control_ = std::move(*server);
  }

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
    schedule_resync();
    if (auto interval = notify::watchdog_interval()) {
      auto half = std::chrono::duration_cast<std::chrono::milliseconds>(*interval) / 2;
      watchdog_every_ = half.count() > 0 ? half : std::chrono::milliseconds(1000);
      ping_watchdog();
    }
    ready_ = true;
    notify::ready();
    update_notify_status();
    spdlog::info("ready: {} bottle(s), specs {}, smolvm DB {}", bottles_.size(), settings_.specs_dir,
                 settings_.smolvm.db);
  } else {
    ready_ = true;
    pass_waiters_.push_back([this] {
      bool all_converged = !specs_.problem();  // a folder we cannot read: nothing is known
      for (auto& [_, b] : bottles_) all_converged = converged(b) && all_converged;
      exit_code_ = all_converged ? 0 : 1;
      begin_shutdown();
    });
    check_pass_waiters();
  }
  return std::nullopt;
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
    Bottle& b = bottle(mm->second.bottle);
    if (b.spec && b.spec->machine != m) continue;  // an old machine on its way out: removal stops it
    std::optional<Verified> v;
    if (auto it = records_.verified().find(m); it != records_.verified().end()) v = Verified{it->second.pid, it->second.start_time, {}};
    MachineObservation obs = observe_machine(m, rows_.rows(), settings_.smolvm, v, vm_watch_.processes());
    if (auto k = drift_kill(m, obs, desired_of(b))) {
      if (auto err = kill(b, *k)) spdlog::error("bottle {}: {}", b.name, *err);
    }
  }
}

void Supervisor::schedule_resync() {
  resync_.start(jittered(settings_.config.resync_interval), [this] {
    ++stats_.wakeups.resync;
    full_resync();
    schedule_resync();
  });
}

void Supervisor::full_resync() {
  if (stopping_) return;
  stats_.last_resync_ms = time_.wall_ms();
  const auto began = time_.now();
  specs_.rescan();
  rows_.refresh(true);
  std::set<std::string> machines;
  for (const auto& [m, mm] : records_.managed()) {
    // A machine with a smolvm command in flight may have a VM the row does not name yet.
    if (!slots_.in_flight(m)) machines.insert(m);
  }
  vm_watch_.rescan_strays(machines);
  sync_vm_dirs();
  std::set<std::int64_t> our_children = slots_.child_pids();
  our_children.merge(drift_hook_.child_pids());  // libuv waits for these: not ours to reap
  platform::reap_zombie_children(our_children);
  std::set<std::string> all;
  for (const auto& [m, _] : records_.managed()) all.insert(m);
  fast_drift_check(all);
  guard_check(outside_rows());
  for (const auto& [name, _] : bottles_) queue_.add(name);
  update_notify_status();
  // The observation half of the pass; the per-bottle steps it queued are timed by stats_.pass_started.
  stats_.last_resync_observe = time_.now() - began;
  stats_.pass_started = began;
}

void Supervisor::count_wakeups() {
  auto* check = new uv_check_t;
  uv_check_init(loop_, check);
  check->data = this;
  // A check handle runs once per loop iteration, after the poll for I/O: once per wake-up.
  uv_check_start(check, [](uv_check_t* c) {
    if (c->data == nullptr) return;
    auto* self = static_cast<Supervisor*>(c->data);
    ++self->stats_.wakeups.loop;
    self->vm_watch_.new_tick();
    self->publish_notify_status();
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(check));
  wakeup_counter_ = UvHandle<uv_check_t>(check);
}

// A ping from a loop timer: a wedged loop stops pinging and systemd restarts us.
void Supervisor::ping_watchdog() {
  notify::watchdog();
  watchdog_.start(watchdog_every_, [this] {
    ++stats_.wakeups.watchdog;
    ping_watchdog();
  });
}

// ---- signals, reload, shutdown ----------------------------------------------------------------

void Supervisor::on_signal(int signum) {
  if (signum == SIGHUP) {
    reload();
    return;
  }
  spdlog::info("received {}, stopping (VMs keep running)", signum == SIGTERM ? "SIGTERM" : "SIGINT");
  begin_shutdown();
}

void Supervisor::reload() {
  notify::reloading();
  auto fresh = reload_settings(settings_, flags_);
  if (!fresh) {
    spdlog::error("config reload failed, keeping the old config: {}", fresh.error());
  } else {
    bool pool_changed = !(fresh->config.pool.network == settings_.config.pool.network &&
                          fresh->config.pool.prefix == settings_.config.pool.prefix);
    settings_ = std::move(*fresh);
    set_log_level(settings_.config.log_level);
    queue_.set_backoff(settings_.config.backoff_initial, settings_.config.backoff_max);
    specs_.set_pool(settings_.config.pool);
    specs_.set_debounce(settings_.config.debounce);
    spdlog::info("config reloaded from {}{}", settings_.config_path,
                 pool_changed ? " (the new pool applies to new leases)" : "");
    removal_.set_grace(settings_.config.removal_grace);  // also for the graces already running
    schedule_resync();
    full_resync();
  }
  notify::ready();
}

void Supervisor::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  rounds_.stop();
  if (ready_ && mode_ == RunMode::Daemon) notify::stopping();
  specs_.stop();
  rows_.stop();
  vm_watch_.stop();
  guard_.recheck.stop();
  resync_.stop();
  watchdog_.stop();
  slots_.stop();
  maybe_finish_shutdown();
}

void Supervisor::maybe_finish_shutdown() {
  if (!stopping_) return;
  // Finish the step in hand: commands already running complete (bounded by their timeout).
  if (slots_.running() != 0) return;
  vm_watch_.unwatch_exits();
  removal_.stop();
  wakeup_counter_.reset();
  control_.reset();
  signals_.clear();
  uv_stop(loop_);
}

void Supervisor::update_notify_status() {
  // Asked after every step; published once per loop iteration (it visits every bottle).
  if (mode_ == RunMode::Daemon) notify_status_due_ = true;
}

void Supervisor::publish_notify_status() {
  if (!notify_status_due_) return;
  notify_status_due_ = false;
  std::size_t total = bottles_.size(), ok = 0, errors = 0;
  for (auto& [_, b] : bottles_) {
    if (converged(b)) ++ok;
    if (b.spec_error || b.exec_error || b.plan_error) ++errors;
  }
  notify::status((specs_.problem() ? "spec folder cannot be read or trusted, every bottle held; " : "") +
                 std::to_string(total) + " bottles: " + std::to_string(ok) + " converged, " +
                  std::to_string(errors) + " with errors; drift kills " +
                  std::to_string(stats_.counters.drift_kills));
}

// ---- control requests -------------------------------------------------------------------------

void Supervisor::on_control_request(const ControlRequest& req,
                                    std::function<void(const nlohmann::json&)> reply) {
  if (req.cmd == "status") {
    reply({{"ok", true}, {"status", status_document(req.bottles)}});
    return;
  }
  if (req.cmd == "reconcile") {
    auto names = req.bottles;
    pass_waiters_.push_back([this, names, reply] {
      reply({{"ok", true}, {"status", status_document(names)}});
    });
    full_resync();
    check_pass_waiters();
    return;
  }
  if (req.cmd == "adopt" || req.cmd == "release") {
    auto field = [&](const char* key) {
      auto it = req.body.find(key);
      return it != req.body.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    reply(req.cmd == "adopt" ? adopt_machine(field("bottle"), field("machine")) : release_bottle(field("bottle")));
    return;
  }
  reply({{"ok", false}, {"error", "unknown command '" + req.cmd + "'"}});
}

void Supervisor::check_pass_waiters() {
  if (!queue_.idle() || !slots_.idle()) return;
  if (stats_.pass_started) {
    stats_.last_pass_duration = time_.now() - *stats_.pass_started;
    stats_.pass_started.reset();
  }
  if (pass_waiters_.empty()) return;
  auto waiters = std::move(pass_waiters_);
  pass_waiters_.clear();
  for (auto& w : waiters) w();
}

}  // namespace bs::supervisor
