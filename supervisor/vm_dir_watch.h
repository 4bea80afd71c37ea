// Watches the VM data dirs of managed machines, so that a VM is judged the moment smolvm records
// what it booted with, not when smolvm's row learns of it seconds later (the row gets the pid
// only after the guest agent answered; agent.config.json and agent.pid are written right after
// the spawn). One inotify watch (through libuv) per existing data dir, and one on the folder that
// holds them, so a data dir created later (a machine's first start) is watched from its creation.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "supervisor/uv_handle.h"

namespace bs::supervisor {

class VmDirWatch {
 public:
  enum class Change {
    AgentFiles,  // agent.pid or agent.config.json appeared, changed or went away
    Booted,      // boot-config.json went away: a VM process has just read it (it boots)
  };
  using OnChange = std::function<void(const std::string& machine, Change change)>;

  VmDirWatch(uv_loop_t* loop, OnChange on_change) : loop_(loop), on_change_(std::move(on_change)) {}
  VmDirWatch(const VmDirWatch&) = delete;
  VmDirWatch& operator=(const VmDirWatch&) = delete;

  // Watch exactly these machines' data dirs (machine -> its data dir) under `root`: new ones are
  // added, dropped ones closed. Dirs that do not exist yet are picked up when the root's watch
  // sees them created, and a root that does not exist yet when its ancestor's watch sees it
  // created. Cheap when nothing changed.
  void sync(const std::string& root, const std::map<std::string, std::string>& dirs);
  void stop();

  std::size_t watched() const { return dirs_.size(); }

 private:
  struct Dir {
    std::string machine, path;
    UvHandle<uv_fs_event_t> handle;
    VmDirWatch* owner = nullptr;
  };
  // Watches the root, or while it does not exist its nearest existing ancestor (smolvm makes
  // ~/.cache/smolvm/vms at its first VM start, possibly an out-of-band one). `look` after an
  // event: data dirs made in the same burst are armed and reported.
  void arm_root(bool look);
  bool arm_dir(const std::string& machine);
  void on_root_event(const char* file);
  void on_ancestor_event(const char* file);
  void on_dir_event(Dir& dir, const char* file, int events);

  uv_loop_t* loop_;
  OnChange on_change_;
  std::string root_;
  UvHandle<uv_fs_event_t> root_handle_;
  UvHandle<uv_fs_event_t> ancestor_handle_;  // while the root is missing
  std::string ancestor_child_;               // the next path segment towards the root under it
  std::map<std::string, std::string> wanted_;                  // machine -> data dir
  std::map<std::string, std::string> machine_of_dir_name_;     // last path segment -> machine
  std::map<std::string, std::unique_ptr<Dir>> dirs_;           // by machine, the armed ones
};

}  // namespace bs::supervisor
