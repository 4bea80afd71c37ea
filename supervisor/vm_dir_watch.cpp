#include "supervisor/vm_dir_watch.h"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

namespace bs::supervisor {
namespace {

std::string last_segment(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void VmDirWatch::sync(const std::string& root, const std::map<std::string, std::string>& dirs) {
  if (root != root_) {
    root_handle_.reset();
    ancestor_handle_.reset();
    root_ = root;
  }
  if (dirs == wanted_) {
    if (!root_handle_) arm_root(false);
    // Same set: only dirs that did not exist at the last look are tried again (cheap: rare).
    for (const auto& [m, _] : wanted_) {
      if (dirs_.count(m) == 0) arm_dir(m);
    }
    return;
  }
  wanted_ = dirs;
  machine_of_dir_name_.clear();
  for (const auto& [m, path] : wanted_) machine_of_dir_name_[last_segment(path)] = m;
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    auto w = wanted_.find(it->first);
    if (w == wanted_.end() || w->second != it->second->path) {
      it = dirs_.erase(it);
    } else {
      ++it;
    }
  }
  if (!root_handle_) arm_root(false);
  for (const auto& [m, _] : wanted_) {
    if (dirs_.count(m) == 0) arm_dir(m);
  }
}

void VmDirWatch::stop() {
  root_handle_.reset();
  ancestor_handle_.reset();
  dirs_.clear();
  wanted_.clear();
  machine_of_dir_name_.clear();
}

void VmDirWatch::arm_root(bool look) {
  root_handle_.reset();
  ancestor_handle_.reset();
  if (root_.empty()) return;
  auto* h = new uv_fs_event_t;
  uv_fs_event_init(loop_, h);
  h->data = this;
  int rc = uv_fs_event_start(h, [](uv_fs_event_t* e, const char* file, int, int) {
    if (e->data != nullptr) static_cast<VmDirWatch*>(e->data)->on_root_event(file);
  }, root_.c_str(), 0);
  root_handle_ = UvHandle<uv_fs_event_t>(h);
  if (rc == 0) {
    if (!look) return;
    // The root has just appeared: its data dirs may have been made right after it, before this
    // watch existed (mkdir -p), and their files written. Watch them and look at what they hold.
    for (const auto& [m, _] : wanted_) {
      if (dirs_.count(m) == 0 && arm_dir(m)) on_change_(m, Change::AgentFiles);
    }
    return;
  }
  root_handle_.reset();
  // No such folder yet (smolvm never started a VM here): watch the nearest ancestor that exists
  // for the next segment towards it, so the first VM start, even one made out of band, is seen.
  std::string child = root_;
  std::string parent = root_;
  while (true) {
    auto slash = parent.rfind('/');
    if (slash == std::string::npos) return;
    child = parent.substr(slash + 1);
    parent = slash == 0 ? "/" : parent.substr(0, slash);
    struct stat st {};
    if (::stat(parent.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) break;
    if (parent == "/") return;
  }
  auto* a = new uv_fs_event_t;
  uv_fs_event_init(loop_, a);
  a->data = this;
  rc = uv_fs_event_start(a, [](uv_fs_event_t* e, const char* file, int, int) {
    if (e->data != nullptr) static_cast<VmDirWatch*>(e->data)->on_ancestor_event(file);
  }, parent.c_str(), 0);
  ancestor_handle_ = UvHandle<uv_fs_event_t>(a);
  ancestor_child_ = child;
  if (rc != 0) {
    ancestor_handle_.reset();  // tried again at the next sync
    return;
  }
  // Made between the look above and this watch (smolvm creates the whole chain at once): its
  // event was missed, so descend now. Bounded: each call starts one segment deeper.
  struct stat st {};
  const std::string next = (parent == "/" ? "" : parent) + "/" + child;
  if (::stat(next.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) arm_root(true);
}

void VmDirWatch::on_ancestor_event(const char* file) {
  // The next segment (or the ancestor itself) changed: try the root again, which descends.
  if (file == nullptr || ancestor_child_ == file) arm_root(true);
}

bool VmDirWatch::arm_dir(const std::string& machine) {
  auto w = wanted_.find(machine);
  if (w == wanted_.end()) return false;
  auto dir = std::make_unique<Dir>();
  dir->machine = machine;
  dir->path = w->second;
  dir->owner = this;
  auto* h = new uv_fs_event_t;
  uv_fs_event_init(loop_, h);
  h->data = dir.get();
  int rc = uv_fs_event_start(h, [](uv_fs_event_t* e, const char* file, int events, int) {
    auto* d = static_cast<Dir*>(e->data);
    if (d != nullptr) d->owner->on_dir_event(*d, file, events);
  }, dir->path.c_str(), 0);
  dir->handle = UvHandle<uv_fs_event_t>(h);
  if (rc != 0) return false;  // not there (yet): the root's watch sees it appear
  dirs_[machine] = std::move(dir);
  return true;
}

void VmDirWatch::on_root_event(const char* file) {
  if (file == nullptr) {
    // The root itself went away or was replaced: watch it again.
    arm_root(true);
    return;
  }
  auto m = machine_of_dir_name_.find(file);
  if (m == machine_of_dir_name_.end()) return;
  const std::string machine = m->second;
  // A data dir appeared (or was replaced): watch the new one, and look at what it holds now,
  // since its files may have been written before the watch was armed.
  dirs_.erase(machine);
  arm_dir(machine);
  on_change_(machine, Change::AgentFiles);
}

void VmDirWatch::on_dir_event(Dir& dir, const char* file, int events) {
  const std::string machine = dir.machine;  // `dir` may be destroyed by the callback below
  if (file == nullptr) {
    on_change_(machine, Change::AgentFiles);
    return;
  }
  std::string_view f(file);
  if (f == "agent.pid" || f == "agent.config.json") {
    on_change_(machine, Change::AgentFiles);
  } else if (f == "boot-config.json" && (events & UV_RENAME) != 0) {
    // UV_RENAME covers creation as well as deletion: only the deletion says a VM has read it
    // (smolvm writes the file before the spawn; a stray scan timed from then would come too soon).
    struct stat st {};
    if (::lstat((dir.path + "/" + file).c_str(), &st) != 0 && errno == ENOENT) on_change_(machine, Change::Booted);
  }
  // Everything else a VM writes (console logs, disks, sockets) says nothing about confinement.
}

}  // namespace bs::supervisor
