// Killing the VMs a test leaves behind, and only ones provably its own: a pid is killed only while
// it still has the start time a row (or the test) recorded for it, so a recycled pid is never
// signalled. VMs outlive the command that started them, so this process must be their subreaper.
#pragma once

#include <cstdint>
#include <string>

namespace bs::test {

// Makes this process a child subreaper (idempotent): VMs detached by smolvm, or orphaned by a
// stopped daemon, become our children, so we can reap them (PID 1 here may never do it).
void become_subreaper();

// SIGKILLs `pid` only if it is alive with exactly this start time, then waits (at most 5 s) until
// it is gone, reaping it when it is our child.
void kill_verified_and_reap(std::int64_t pid, std::uint64_t start_time);

// Every VM that a row of the smolvm DB at `db_path` names with its pid and pid_start_time.
void kill_row_vms(const std::string& db_path);

// VMs no row names any more: our own live children that are a `_boot-vm` whose boot config lies
// under `dir`, never a process found by its command line alone.
void kill_boot_vms_under(const std::string& dir);

}  // namespace bs::test
