// VM processes are detached by smolvm and reparented. Making the supervisor a child subreaper
// means the VMs its smolvm commands start become its children, so it can reap them and a
// killed VM never lingers as a zombie that smolvm would mistake for "still running".
#pragma once

#include <cstdint>
#include <set>

namespace bs::platform {

bool become_child_subreaper();  // false where unsupported
// Reaps `pid` if it is an exited child of ours; never blocks, never touches other children.
void reap_child(std::int64_t pid);
// Reaps every exited child of ours except `keep` (children someone else waits for).
void reap_zombie_children(const std::set<std::int64_t>& keep);

}  // namespace bs::platform
