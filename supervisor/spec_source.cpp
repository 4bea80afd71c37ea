#include "supervisor/spec_source.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>

namespace bs::supervisor {
namespace {

constexpr auto kRearmFirst = std::chrono::milliseconds(1000);
constexpr auto kRearmMax = std::chrono::milliseconds(20000);

}  // namespace

SpecSource::SpecSource(uv_loop_t* loop, TimeSource& time, std::string dir, bool watch_folder, const Ipv4Pool& pool,
                       std::chrono::milliseconds debounce, Callbacks callbacks)
    : loop_(loop),
      dir_(std::move(dir)),
      watch_folder_(watch_folder),
      callbacks_(std::move(callbacks)),
      pool_(pool),
      debounce_(debounce),
      debounce_timer_(time),
      rearm_(time) {}

void SpecSource::watch() { arm_watch(); }

void SpecSource::stop() {
  watch_.reset();
  debounce_timer_.stop();
  rearm_.stop();
}

void SpecSource::retry_watch_later() {
  rearm_.start(rearm_delay_, [this] { arm_watch(); });
  rearm_delay_ = std::min(rearm_delay_ * 2, kRearmMax);
}

void SpecSource::arm_watch() {
  watch_.reset();
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    // Missing (or replaced by a file): retry with backoff; the resync still rescans.
    retry_watch_later();
    return;
  }
  auto* h = new uv_fs_event_t;
  uv_fs_event_init(loop_, h);
  h->data = this;
  int rc = uv_fs_event_start(h, [](uv_fs_event_t* e, const char*, int, int) {
    if (e->data != nullptr) static_cast<SpecSource*>(e->data)->on_event();
  }, dir_.c_str(), 0);
  watch_ = UvHandle<uv_fs_event_t>(h);
  if (rc != 0) {
    spdlog::warn("cannot watch {}: {}", dir_, uv_strerror(rc));
    watch_.reset();
    retry_watch_later();
    return;
  }
  dir_inode_ = st.st_ino;
  dir_device_ = st.st_dev;
  rearm_delay_ = kRearmFirst;
  on_event();  // whatever changed while we were not watching
}

void SpecSource::on_event() {
  // Writers emit many events per save (libuv has no CLOSE_WRITE): coalesce.
  if (!debounce_timer_.active()) debounce_timer_.start(debounce_, [this] { rescan(); });
}

void SpecSource::rescan() {
  SpecFolderScan scan = scan_spec_folder(dir_, &reads_);
  if (watch_folder_ && (!scan.readable || scan.inode != dir_inode_ || scan.device != dir_device_)) {
    // The folder was removed, renamed or replaced: the inotify watch died with its inode.
    if (watch_ || scan.readable) {
      watch_.reset();
      if (!rearm_.active()) arm_watch();
    }
  }
  if (!scan.readable || !scan.trusted) {
    if (problem_ == scan.problem) return;
    // "Cannot tell" is never "every spec removed": every bottle is held (confinement still
    // enforced, nothing begun, stopped or deleted) until the folder can be read and trusted again.
    spdlog::error("{}; holding every bottle (confinement enforced, nothing stopped or deleted)", scan.problem);
    problem_ = scan.problem;
    resolved_pool_.reset();
    callbacks_.on_held(scan.problem);
    return;
  }
  if (problem_) {
    spdlog::info("spec folder {} can be read and is trusted again", dir_);
    problem_.reset();
    callbacks_.on_trusted();
  }
  const bool unchanged = scan.unchanged && resolved_pool_ && *resolved_pool_ == pool_;
  callbacks_.on_scan(SpecScan{unchanged, std::move(scan.files)});
}

std::vector<SpecEntry> SpecSource::resolve(std::vector<SpecFile> files) {
  resolved_pool_.reset();
  std::vector<SpecEntry> entries = resolve_specs(std::move(files), pool_, &parses_);
  resolved_pool_ = pool_;
  return entries;
}

}  // namespace bs::supervisor
