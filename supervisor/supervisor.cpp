#include "supervisor/supervisor.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "platform/file_lock.h"
#include "platform/open_files.h"
#include "platform/reaper.h"
#include "smolvm/running_vm.h"
#include "supervisor/control_server.h"
#include "supervisor/logging.h"
#include "supervisor/notify.h"
#include "supervisor/smolvm_db_lock.h"

namespace bs::supervisor {
namespace {

// After a DB event, look again at 1, 2, 4, ... 128 ms (see on_db_event).
constexpr auto kDbRecheckFirst = std::chrono::milliseconds(1);
constexpr auto kDbRecheckLast = std::chrono::milliseconds(128);

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

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Supervisor::Supervisor(uv_loop_t* loop, Settings settings, CommonFlags flags, RunMode mode,
                       store::StateStore store)
    : loop_(loop),
      settings_(std::move(settings)),
      flags_(std::move(flags)),
      mode_(mode),
      store_(std::move(store)),
      vm_dirs_(loop, [this](const std::string& machine, VmDirWatch::Change change) {
        on_vm_dir_change(machine, change);
      }),
      queue_(time_, [this](const std::string& name) { process(name); }),
      commands_(loop),
      resync_(loop),
      watchdog_(loop),
      db_rearm_(loop),
      db_recheck_(loop),
      db_reopen_(loop),
      booted_scan_(loop) {
  queue_.set_backoff(settings_.config.backoff_initial, settings_.config.backoff_max);
}

Supervisor::~Supervisor() = default;

std::optional<std::string> Supervisor::start() {
  platform::become_child_subreaper();
  count_wakeups();

  // The store's mirrors.
  auto leases = store_.leases();
  auto machines = store_.machines();
  auto verified = store_.verified_vms();
  if (!leases) return leases.error().message;
  if (!machines) return machines.error().message;
  if (!verified) return verified.error().message;
  for (const auto& l : *leases) {
    if (auto a = parse_ipv4(l.address)) leases_[l.bottle] = *a;
  }
  for (const auto& m : *machines) managed_.put(m);
  for (const auto& v : *verified) verified_[v.machine] = v;
  for (const auto& [bottle_name, _] : leases_) bottle(bottle_name);
  for (const auto& [_, m] : managed_) bottle(m.bottle);
  if (auto saved = store_.saved_specs()) {
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

  last_resync_ms_ = now_ms();
  specs_.rescan();
  refresh_rows(true);
  // The first pass's kills happen before READY: nothing unconfined survives our start.
  std::set<std::string> all;
  for (const auto& [m, _] : managed_) all.insert(m);
  for (const auto& [_, b] : bottles_) {
    if (b.spec) all.insert(b.spec->machine);
  }
  fast_drift_check(all);
  guard_check(outside_rows());
  for (const auto& [name, _] : bottles_) queue_.add(name);

  if (mode_ == RunMode::Daemon) {
    specs_.watch();
    arm_db_watch();
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

// ---- smolvm's DB ----------------------------------------------------------------------------

namespace {

// A watch on `dir` in `out`; empty (and false) when the folder cannot be watched.
bool start_fs_watch(uv_loop_t* loop, void* data, const std::string& dir, uv_fs_event_cb cb,
                    UvHandle<uv_fs_event_t>& out) {
  auto* h = new uv_fs_event_t;
  uv_fs_event_init(loop, h);
  h->data = data;
  int rc = uv_fs_event_start(h, cb, dir.c_str(), 0);
  out = UvHandle<uv_fs_event_t>(h);
  if (rc != 0) out.reset();
  return rc == 0;
}

std::string base_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }
std::string parent_of(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }

}  // namespace

// Two watches: server/ for the DB's own files, and its parent, because a watch dies with the
// folder it watches (a user "resetting" smolvm deletes server/; the next smolvm command makes a
// new one). Either one seeing server/ deleted, renamed or created re-arms both, off a timer: a
// watch is not closed inside its own callback.
void Supervisor::arm_db_watch() {
  db_rearm_.stop();
  db_watch_.reset();
  db_root_watch_.reset();
  db_dir_inode_ = db_dir_device_ = 0;
  const std::string& server = settings_.smolvm.server_dir;
  bool root_ok = start_fs_watch(loop_, this, parent_of(server), [](uv_fs_event_t* e, const char* file, int, int) {
    auto* self = static_cast<Supervisor*>(e->data);
    if (self == nullptr) return;
    const std::string f = file != nullptr ? file : "";
    const std::string& dir = self->settings_.smolvm.server_dir;
    if (f.empty() || f == base_name(dir) || f == base_name(parent_of(dir))) {
      if (!self->db_watch_ || self->db_watch_stale()) self->rearm_db_watch_soon();
    }
  }, db_root_watch_);
  struct stat st {};
  const bool server_exists = ::stat(server.c_str(), &st) == 0;
  if (server_exists &&
      start_fs_watch(loop_, this, server, [](uv_fs_event_t* e, const char* file, int, int) {
        auto* self = static_cast<Supervisor*>(e->data);
        if (self == nullptr) return;
        // Only the DB and its WAL matter; the shm file changes on every read.
        const std::string f = file != nullptr ? file : "";
        if (f.empty() || f == "smolvm.db" || f == "smolvm.db-wal") {
          self->on_db_event();
        } else if (f == base_name(self->settings_.smolvm.server_dir)) {
          self->rearm_db_watch_soon();  // the folder itself was deleted or moved away
        }
      }, db_watch_)) {
    db_dir_inode_ = st.st_ino;
    db_dir_device_ = st.st_dev;
  }
  if (!root_ok || (server_exists && !db_watch_)) {
    // Not even smolvm's folder exists (smolvm has not run yet), or the watch failed: look again
    // later (the resync also re-reads the DB).
    db_rearm_.start(std::chrono::milliseconds(2000), [this] { arm_db_watch(); on_db_event(); });
  }
}

void Supervisor::rearm_db_watch_soon() {
  if (stopping_) return;
  if (db_rearm_.active() && db_rearm_.due_in() == 0) return;
  db_rearm_.start(std::chrono::milliseconds(0), [this] { arm_db_watch(); on_db_event(); });
}

bool Supervisor::db_watch_stale() const {
  if (!db_watch_) return false;  // not watching: the parent's watch or the retry timer arms it
  struct stat st {};
  if (::stat(settings_.smolvm.server_dir.c_str(), &st) != 0) return true;
  return st.st_ino != db_dir_inode_ || st.st_dev != db_dir_device_;
}

void Supervisor::on_db_event() {
  if (stopping_) return;
  check_db_rows();
  // The event is the writer's write() to the WAL, which comes BEFORE the writer publishes the
  // commit in the WAL index (shared memory, which inotify cannot see): the read above often still
  // sees the old version, and no further event follows. Look again shortly, with backoff, so that
  // commit is not left to the next full resync (30 s). A new event starts the series again.
  db_recheck_delay_ = kDbRecheckFirst;
  arm_db_recheck();
}

void Supervisor::arm_db_recheck() {
  db_recheck_.start(db_recheck_delay_, [this] {
    if (stopping_) return;
    check_db_rows();
    db_recheck_delay_ *= 2;
    if (db_recheck_delay_ <= kDbRecheckLast) arm_db_recheck();
  });
}

void Supervisor::arm_db_reopen() {
  if (stopping_ || db_reopen_.active()) return;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(db_reopen_not_before_ - std::chrono::steady_clock::now());
  db_reopen_.start(std::max(wait, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1), [this] { check_db_rows(); });
}

void Supervisor::check_db_rows() {
  // No debounce on this path: a changed row is acted on at once.
  bool was_available = rows_.available;
  std::set<std::string> changed = refresh_rows(false);
  if (rows_.available != was_available) {
    for (const auto& [name, _] : bottles_) queue_.add(name);
  }
  on_rows_changed(changed);
}

void Supervisor::on_rows_changed(const std::set<std::string>& machines) {
  if (machines.empty()) return;
  fast_drift_check(machines);
  guard_check(machines);
  for (const std::string& m : machines) {
    if (auto owner = bottle_of_machine(m)) queue_.add(*owner);
  }
}

std::set<std::string> Supervisor::refresh_rows(bool force) {
  snapshot_checked_at_.reset();  // set again below when the rows are read
  // Compared only when something was re-read: most calls find data_version unchanged, and
  // copying every row's bytes first would cost O(rows) per DB event.
  std::set<std::string> changed;
  auto drop_all = [&] {
    for (const auto& [m, _] : rows_.rows) changed.insert(m);
    rows_.rows.clear();
  };
  if (db_watch_stale()) rearm_db_watch_soon();
  if (vms_ && vms_->replaced()) {
    spdlog::warn("smolvm DB {} (or its -wal/-shm) was replaced or deleted; reopening", settings_.smolvm.db);
    vms_.reset();
  }
  // A failure that went through SQLite: no rows, "cannot verify" (the VMs we verified stay
  // checked through their pids), and the next open only after a backoff.
  auto unavailable = [&](const std::string& problem) {
    if (rows_.available || rows_.problem != problem) spdlog::warn("{}", problem);
    drop_all();
    rows_.available = false;
    rows_.problem = problem;
    vms_.reset();
    db_reopen_delay_ = std::clamp(db_reopen_delay_ * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(2000));
    db_reopen_not_before_ = std::chrono::steady_clock::now() + db_reopen_delay_;
    arm_db_reopen();
    return changed;
  };
  if (vms_) {
    if (auto problem = vms_->access_problem()) return unavailable(problem->message);
  }
  if (!vms_) {
    if (std::chrono::steady_clock::now() < db_reopen_not_before_) {
      arm_db_reopen();
      return changed;  // still backing off: the last attempt's problem stands
    }
    auto opened = smolvm::VmTable::open(settings_.smolvm.db);
    if (!opened) {
      // No DB yet: smolvm has no machines, and its first `machine create` creates the DB. Any
      // other failure (a file with no usable vms table included) means we cannot see the rows.
      if (opened.error().kind != smolvm::DbError::Kind::Missing) return unavailable(opened.error().message);
      drop_all();
      rows_.problem = opened.error().message;
      rows_.available = true;
      return changed;
    }
    vms_ = std::move(*opened);
    force = true;
  }
  auto version = vms_->data_version();
  if (!version) {
    if (version.error().kind != smolvm::DbError::Kind::Busy) return unavailable(version.error().message);
    return changed;  // busy: keep the last snapshot, a later event or the resync catches up
  }
  if (!force && *version == data_version_ && rows_.available) return changed;
  auto diff = vms_->read_changes(rows_.rows);
  if (!diff) {
    if (diff.error().kind == smolvm::DbError::Kind::Busy) return changed;
    return unavailable(diff.error().message);
  }
  db_reopen_delay_ = std::chrono::milliseconds(0);
  db_reopen_not_before_ = {};
  data_version_ = *version;
  snapshot_checked_at_ = wakeups_.loop;
  rows_.available = true;
  rows_.problem.clear();
  for (smolvm::MachineRow& row : diff->changed) {
    changed.insert(row.name);
    std::string name = row.name;
    rows_.rows.insert_or_assign(std::move(name), std::move(row));
  }
  for (const std::string& m : diff->removed) {
    changed.insert(m);
    rows_.rows.erase(m);
  }
  return changed;
}

void Supervisor::fast_drift_check(const std::set<std::string>& machines) {
  for (const std::string& m : machines) {
    // Only machines we manage; one a spec merely names is adopted by its bottle's step first.
    auto mm = managed_.find(m);
    if (mm == managed_.end()) continue;
    Bottle& b = bottle(mm->second.bottle);
    if (b.spec && b.spec->machine != m) continue;  // an old machine on its way out: removal stops it
    std::optional<Verified> v;
    if (auto it = verified_.find(m); it != verified_.end()) v = Verified{it->second.pid, it->second.start_time, {}};
    MachineObservation obs = observe_machine(m, rows_, settings_.smolvm, v, vm_processes_);
    if (auto k = drift_kill(m, obs, desired_of(b))) {
      if (auto err = kill(b, *k)) spdlog::error("bottle {}: {}", b.name, *err);
    }
  }
}

void Supervisor::schedule_resync() {
  resync_.start(jittered(settings_.config.resync_interval), [this] {
    ++wakeups_.resync;
    full_resync();
    schedule_resync();
  });
}

void Supervisor::full_resync() {
  if (stopping_) return;
  last_resync_ms_ = now_ms();
  const auto began = std::chrono::steady_clock::now();
  specs_.rescan();
  refresh_rows(true);
  std::set<std::string> machines;
  for (const auto& [m, mm] : managed_) {
    // A machine with a smolvm command in flight may have a VM the row does not name yet.
    if (in_flight_machines_.count(m) == 0) machines.insert(m);
  }
  vm_processes_.forget_exited();
  strays_ = scan_strays(machines);
  sync_vm_dirs();
  std::set<std::int64_t> our_children = commands_.child_pids();
  our_children.merge(drift_hook_.child_pids());  // libuv waits for these: not ours to reap
  platform::reap_zombie_children(our_children);
  std::set<std::string> all;
  for (const auto& [m, _] : managed_) all.insert(m);
  fast_drift_check(all);
  guard_check(outside_rows());
  for (const auto& [name, _] : bottles_) queue_.add(name);
  update_notify_status();
  // The observation half of the pass; the per-bottle steps it queued are timed by pass_started_.
  last_resync_observe_ = std::chrono::steady_clock::now() - began;
  pass_started_ = began;
}

void Supervisor::count_wakeups() {
  auto* check = new uv_check_t;
  uv_check_init(loop_, check);
  check->data = this;
  // A check handle runs once per loop iteration, after the poll for I/O: once per wake-up.
  uv_check_start(check, [](uv_check_t* c) {
    if (c->data == nullptr) return;
    auto* self = static_cast<Supervisor*>(c->data);
    ++self->wakeups_.loop;
    self->vm_processes_.new_tick();
    self->publish_notify_status();
  });
  uv_unref(reinterpret_cast<uv_handle_t*>(check));
  wakeup_counter_ = UvHandle<uv_check_t>(check);
}

// A ping from a loop timer: a wedged loop stops pinging and systemd restarts us.
void Supervisor::ping_watchdog() {
  notify::watchdog();
  watchdog_.start(watchdog_every_, [this] {
    ++wakeups_.watchdog;
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
  if (ready_ && mode_ == RunMode::Daemon) notify::stopping();
  specs_.stop();
  db_watch_.reset();
  db_root_watch_.reset();
  db_rearm_.stop();
  db_recheck_.stop();
  db_reopen_.stop();
  booted_scan_.stop();
  guard_recheck_.stop();
  vm_dirs_.stop();
  resync_.stop();
  watchdog_.stop();
  waiting_for_slot_.clear();
  maybe_finish_shutdown();
}

void Supervisor::maybe_finish_shutdown() {
  if (!stopping_) return;
  // Finish the step in hand: commands already running complete (bounded by their timeout).
  if (commands_.running() != 0) return;
  for (auto& [_, b] : bottles_) b.exit_watch.reset();
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
                  std::to_string(counters_.drift_kills));
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
  if (!queue_.idle() || commands_.running() != 0 || !waiting_for_slot_.empty()) return;
  if (pass_started_) {
    last_pass_duration_ = std::chrono::steady_clock::now() - *pass_started_;
    pass_started_.reset();
  }
  if (pass_waiters_.empty()) return;
  auto waiters = std::move(pass_waiters_);
  pass_waiters_.clear();
  for (auto& w : waiters) w();
}

// ---- entry point ------------------------------------------------------------------------------

int run_daemon(const Settings& settings, const CommonFlags& flags, RunMode mode) {
  ::signal(SIGPIPE, SIG_IGN);
  // One pidfd per running VM: 1,000 bottles need more than the usual soft limit of 1,024.
  if (auto files = platform::raise_open_file_limit()) {
    spdlog::debug("open-file limit {}", *files);
  } else {
    spdlog::warn("{}", files.error());
  }
  std::error_code ec;
  std::filesystem::create_directories(settings.state_dir, ec);
  ::chmod(settings.state_dir.c_str(), 0700);
  auto lock = platform::InstanceLock::acquire(settings.state_dir + "/supervisor.lock");
  if (!lock) {
    std::fprintf(stderr, "error: %s\n", lock.error().c_str());
    std::fprintf(stderr, "hint: only one supervisor may run per state dir (%s)\n", settings.state_dir.c_str());
    return 1;
  }
  // And one per smolvm DB: two daemons with different state dirs on one DB fight over its rows.
  auto db_lock = lock_smolvm_db(settings.smolvm.db, settings.state_dir, settings.env);
  if (!db_lock) {
    std::fprintf(stderr, "error: %s\n", db_lock.error().c_str());
    std::fprintf(stderr, "hint: only one supervisor may manage a smolvm DB; stop the other one or use its state dir\n");
    return 1;
  }
  auto store = store::StateStore::open(settings.state_dir);
  if (!store) {
    std::fprintf(stderr, "error: %s\n", store.error().message.c_str());
    return 1;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  int code = 0;
  {
    Supervisor sup(&loop, settings, flags, mode, std::move(*store));
    if (auto err = sup.start()) {
      std::fprintf(stderr, "error: %s\n", err->c_str());
      code = 1;
    } else {
      uv_run(&loop, UV_RUN_DEFAULT);
      code = sup.exit_code();
    }
  }
  // Let every close callback run, then the loop must be empty.
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) spdlog::warn("event loop closed with handles still open");
  return code;
}

}  // namespace bs::supervisor
