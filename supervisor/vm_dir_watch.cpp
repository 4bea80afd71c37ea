#include "supervisor/vm_dir_watch.h"

#include <spdlog/spdlog.h>

#include <sys/stat.h>

#include <cstring>
#include <vector>
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
    root_ = root;
  }
  if (!root_handle_) arm_root();
  if (dirs == wanted_) {
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

void VmDirWatch::arm_root() {
  if (root_.empty()) return;
  auto* h = new uv_fs_event_t;
  uv_fs_event_init(loop_, h);
  h->data = this;
  int rc = uv_fs_event_start(h, [](uv_fs_event_t* e, const char* file, int, int) {
    if (e->data != nullptr) static_cast<VmDirWatch*>(e->data)->on_root_event(file);
  }, root_.c_str(), 0);
  root_handle_ = UvHandle<uv_fs_event_t>(h);
  if (rc != 0) {
    // No such folder yet (smolvm never started a VM here): its creation must not go unseen, or
    // the first VM booted here would be judged only when its row changes, seconds later.
    root_handle_.reset();
    arm_ancestor();
    return;
  }
  ancestor_handle_.reset();
  ancestor_.clear();
}

void VmDirWatch::arm_ancestor() {
  std::string dir = root_;
  struct stat st {};
  do {
    auto slash = dir.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    dir.resize(slash);
  } while (::stat(dir.c_str(), &st) != 0);
  if (ancestor_handle_ && ancestor_ == dir) return;
  ancestor_handle_.reset();
  ancestor_ = dir;
  auto* h = new uv_fs_event_t;
  uv_fs_event_init(loop_, h);
  h->data = this;
  int rc = uv_fs_event_start(h, [](uv_fs_event_t* e, const char*, int, int) {
    if (e->data != nullptr) static_cast<VmDirWatch*>(e->data)->on_ancestor_event();
  }, dir.c_str(), 0);
  ancestor_handle_ = UvHandle<uv_fs_event_t>(h);
  if (rc != 0) ancestor_handle_.reset();  // the next sync tries again
}

void VmDirWatch::on_ancestor_event() {
  arm_root();  // the root, or a folder closer to it, may exist now
  if (!root_handle_) return;
  // The root appeared: its data dirs may have appeared (and been written) with it.
  std::vector<std::string> fresh;
  for (const auto& [m, _] : wanted_) {
    if (dirs_.count(m) != 0) continue;
    arm_dir(m);
    if (dirs_.count(m) != 0) fresh.push_back(m);
  }
  for (const std::string& m : fresh) on_change_(m, Change::AgentFiles);
}

void VmDirWatch::arm_dir(const std::string& machine) {
  auto w = wanted_.find(machine);
  if (w == wanted_.end()) return;
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
  if (rc != 0) return;  // not there (yet): the root's watch sees it appear
  dirs_[machine] = std::move(dir);
}

void VmDirWatch::on_root_event(const char* file) {
  if (file == nullptr) {
    // The root itself went away or was replaced: watch it again.
    root_handle_.reset();
    arm_root();
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
    on_change_(machine, Change::Booted);
  }
  // Everything else a VM writes (console logs, disks, sockets) says nothing about confinement.
}

}  // namespace bs::supervisor
