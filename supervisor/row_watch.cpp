#include "supervisor/row_watch.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

namespace bs::supervisor {
namespace {

// After a DB event, look again at 1, 2, 4, ... 128 ms (see on_event).
constexpr auto kRecheckFirst = std::chrono::milliseconds(1);
constexpr auto kRecheckLast = std::chrono::milliseconds(128);
// The reopen backoff after a failure that went through SQLite: doubling, within these bounds.
constexpr auto kReopenFirst = std::chrono::milliseconds(100);
constexpr auto kReopenMax = std::chrono::milliseconds(2000);

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

RowWatch::RowWatch(TimeSource& time, uv_loop_t* loop, const smolvm::Paths& paths,
                   std::function<std::uint64_t()> iteration, Callbacks callbacks)
    : time_(time), loop_(loop), paths_(paths), iteration_(std::move(iteration)), cb_(std::move(callbacks)) {}

const smolvm::MachineRow* RowWatch::row(const std::string& machine) const {
  if (!snap_.available) return nullptr;
  auto it = snap_.rows.find(machine);
  return it == snap_.rows.end() ? nullptr : &it->second;
}

void RowWatch::watch() {
  if (stopped_) return;
  arm_watch();
}

void RowWatch::stop() {
  stopped_ = true;
  watch_.db.reset();
  watch_.root.reset();
  rearm_.stop();
  recheck_.stop();
  reopen_.timer.stop();
}

// Two watches: server/ for the DB's own files, and its parent, because a watch dies with the
// folder it watches (a user "resetting" smolvm deletes server/; the next smolvm command makes a
// new one). Either one seeing server/ deleted, renamed or created re-arms both, off a timer: a
// watch is not closed inside its own callback.
void RowWatch::arm_watch() {
  rearm_.stop();
  watch_.db.reset();
  watch_.root.reset();
  watch_.inode = watch_.device = 0;
  const std::string& server = paths_.server_dir;
  bool root_ok = start_fs_watch(loop_, this, parent_of(server), [](uv_fs_event_t* e, const char* file, int, int) {
    auto* self = static_cast<RowWatch*>(e->data);
    if (self == nullptr) return;
    const std::string f = file != nullptr ? file : "";
    const std::string& dir = self->paths_.server_dir;
    if (f.empty() || f == base_name(dir) || f == base_name(parent_of(dir))) {
      if (!self->watch_.db || self->watch_stale()) self->rearm_watch_soon();
    }
  }, watch_.root);
  struct stat st {};
  const bool server_exists = ::stat(server.c_str(), &st) == 0;
  if (server_exists &&
      start_fs_watch(loop_, this, server, [](uv_fs_event_t* e, const char* file, int, int) {
        auto* self = static_cast<RowWatch*>(e->data);
        if (self == nullptr) return;
        // Only the DB and its WAL matter; the shm file changes on every read.
        const std::string f = file != nullptr ? file : "";
        if (f.empty() || f == "smolvm.db" || f == "smolvm.db-wal") {
          self->on_event();
        } else if (f == base_name(self->paths_.server_dir)) {
          self->rearm_watch_soon();  // the folder itself was deleted or moved away
        }
      }, watch_.db)) {
    watch_.inode = st.st_ino;
    watch_.device = st.st_dev;
  }
  if (!root_ok || (server_exists && !watch_.db)) {
    // Not even smolvm's folder exists (smolvm has not run yet), or the watch failed: look again
    // later (the resync also re-reads the DB).
    rearm_.start(std::chrono::milliseconds(2000), [this] { arm_watch(); on_event(); });
  }
}

void RowWatch::rearm_watch_soon() {
  if (stopped_) return;
  if (rearm_.active() && rearm_.due_in() == 0) return;
  rearm_.start(std::chrono::milliseconds(0), [this] { arm_watch(); on_event(); });
}

bool RowWatch::watch_stale() const {
  if (!watch_.db) return false;  // not watching: the parent's watch or the retry timer arms it
  struct stat st {};
  if (::stat(paths_.server_dir.c_str(), &st) != 0) return true;
  return st.st_ino != watch_.inode || st.st_dev != watch_.device;
}

void RowWatch::on_event() {
  if (stopped_) return;
  check();
  // The event is the writer's write() to the WAL, which comes BEFORE the writer publishes the
  // commit in the WAL index (shared memory, which inotify cannot see): the read above often still
  // sees the old version, and no further event follows. Look again shortly, with backoff, so that
  // commit is not left to the next full resync (30 s). A new event starts the series again.
  recheck_delay_ = kRecheckFirst;
  arm_recheck();
}

void RowWatch::arm_recheck() {
  recheck_.start(recheck_delay_, [this] {
    if (stopped_) return;
    check();
    recheck_delay_ *= 2;
    if (recheck_delay_ <= kRecheckLast) arm_recheck();
  });
}

void RowWatch::arm_reopen() {
  if (stopped_ || reopen_.timer.active()) return;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(reopen_.not_before - time_.now());
  reopen_.timer.start(std::max(wait, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1), [this] { check(); });
}

void RowWatch::check() {
  // No debounce on this path: a changed row is acted on at once.
  bool was_available = snap_.available;
  std::set<std::string> changed = refresh(false);
  if (snap_.available != was_available && cb_.availability_changed) cb_.availability_changed();
  if (!changed.empty() && cb_.rows_changed) cb_.rows_changed(changed);
}

std::set<std::string> RowWatch::refresh(bool force) {
  checked_at_.reset();  // set again below when the rows are read
  // Compared only when something was re-read: most calls find data_version unchanged, and
  // copying every row's bytes first would cost O(rows) per DB event.
  std::set<std::string> changed;
  auto drop_all = [&] {
    for (const auto& [m, _] : snap_.rows) changed.insert(m);
    snap_.rows.clear();
  };
  if (watch_stale()) rearm_watch_soon();
  if (vms_ && vms_->replaced()) {
    spdlog::warn("smolvm DB {} (or its -wal/-shm) was replaced or deleted; reopening", paths_.db);
    vms_.reset();
  }
  // A failure that went through SQLite: no rows, "cannot verify" (the VMs we verified stay
  // checked through their pids), and the next open only after a backoff.
  auto unavailable = [&](const std::string& problem) {
    if (snap_.available || snap_.problem != problem) spdlog::warn("{}", problem);
    drop_all();
    snap_.available = false;
    snap_.problem = problem;
    vms_.reset();
    reopen_.delay = std::clamp(reopen_.delay * 2, kReopenFirst, kReopenMax);
    reopen_.not_before = time_.now() + reopen_.delay;
    arm_reopen();
    return changed;
  };
  if (vms_) {
    if (auto problem = vms_->access_problem()) return unavailable(problem->message);
  }
  if (!vms_) {
    if (time_.now() < reopen_.not_before) {
      arm_reopen();
      return changed;  // still backing off: the last attempt's problem stands
    }
    auto opened = smolvm::VmTable::open(paths_.db);
    if (!opened) {
      // No DB yet: smolvm has no machines, and its first `machine create` creates the DB. Any
      // other failure (a file with no usable vms table included) means we cannot see the rows.
      if (opened.error().kind != smolvm::DbError::Kind::Missing) return unavailable(opened.error().message);
      drop_all();
      snap_.problem = opened.error().message;
      snap_.available = true;
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
  if (!force && *version == data_version_ && snap_.available) return changed;
  auto diff = vms_->read_changes(snap_.rows);
  if (!diff) {
    if (diff.error().kind == smolvm::DbError::Kind::Busy) return changed;
    return unavailable(diff.error().message);
  }
  reopen_.delay = std::chrono::milliseconds(0);
  reopen_.not_before = {};
  data_version_ = *version;
  checked_at_ = iteration_();
  snap_.available = true;
  snap_.problem.clear();
  for (smolvm::MachineRow& row : diff->changed) {
    changed.insert(row.name);
    std::string name = row.name;
    snap_.rows.insert_or_assign(std::move(name), std::move(row));
  }
  for (const std::string& m : diff->removed) {
    changed.insert(m);
    snap_.rows.erase(m);
  }
  return changed;
}

// Fresh rows for a bottle's machines: the snapshot may predate our own last command. When no
// other connection has committed since the snapshot was read (data_version unchanged; our own
// patches update the snapshot as they write), it is current, and re-reading each row would only
// parse the same bytes again (most of the cost of a no-op pass). Asked once per loop iteration:
// the steps of one drain share the answer, and a commit landing meanwhile wakes the DB watch,
// which re-reads the rows and re-queues the bottles they belong to.
void RowWatch::freshen(const std::vector<std::string>& machines) {
  if (!vms_) return;
  bool snapshot_current = false;
  if (snap_.available) {
    if (checked_at_ && *checked_at_ == iteration_()) {
      snapshot_current = true;
    } else {
      auto version = vms_->data_version();
      snapshot_current = version && *version == data_version_;
      if (snapshot_current) checked_at_ = iteration_();
    }
  }
  if (snapshot_current) return;
  for (const std::string& m : machines) {
    auto row = vms_->read_one(m);
    if (row) {
      if (*row) snap_.rows[m] = **row;
      else snap_.rows.erase(m);
    }
  }
}

std::optional<smolvm::PatchResult> RowWatch::patch(const std::string& machine, const smolvm::RecordPatch& patch) {
  if (!vms_) return std::nullopt;
  smolvm::PatchResult r = vms_->patch(machine, patch);
  if (!r.after.name.empty()) snap_.rows[machine] = r.after;
  return r;
}

}  // namespace bs::supervisor
