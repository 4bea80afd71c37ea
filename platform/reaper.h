// VM processes are detached by smolvm and reparented. Making the supervisor a child subreaper
// means the VMs its smolvm commands start become its children, so it can reap them and a
// killed VM never lingers as a zombie that smolvm would mistake for "still running".
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace bs::platform {

bool become_child_subreaper();  // false where unsupported
// How a child of ours ended, as waitpid(2) told.
struct ChildExit {
  bool signalled = false;  // killed by `value`, else exited with status `value`
  int value = 0;
  std::string str() const;  // "exit code 1", "killed by SIGKILL"
};

// Reaps `pid` if it is an exited child of ours; never blocks, never touches other children.
// How it ended, when it was ours and had ended; nullopt otherwise (somebody else's process, or
// still running).
std::optional<ChildExit> reap_child(std::int64_t pid);
// Reaps every exited child of ours except `keep` (children someone else waits for).
void reap_zombie_children(const std::set<std::int64_t>& keep);

}  // namespace bs::platform
