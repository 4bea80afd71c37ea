// How smolvm decides a pid is still "its" VM (src/process.rs), on Linux: kill(pid, 0), the start
// time in /proc/<pid>/stat field 22 (clock ticks since boot), and the command line naming the VM's
// boot-config.json. One deliberate difference: a zombie counts as dead here, as it would on a host
// whose init reaps promptly (smolvm's kill(pid, 0) sees a zombie as alive).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace bs::sim {

bool is_alive(pid_t pid);
// /proc/<pid>/stat field 22, parsed after the last ')' so a comm with spaces or parens is safe.
std::optional<std::uint64_t> process_start_time(pid_t pid);
// Status paths: alive and (no recorded start time, or it matches).
bool is_our_process(pid_t pid, std::optional<std::uint64_t> start_time);
// Signal paths: a missing start time is never trusted.
bool is_our_process_strict(pid_t pid, std::optional<std::uint64_t> start_time);
// /proc/<pid>/cmdline, NULs joined by spaces, contains `needle` (dead pid -> false).
bool cmdline_contains(pid_t pid, const std::string& needle);

// SIGTERM to the pid (never the group), poll up to `term_timeout`, then SIGKILL and poll up to
// `kill_timeout`. Returns whether the process is gone. Callers verify identity first.
bool stop_vm_process(pid_t pid, std::chrono::milliseconds term_timeout,
                     std::chrono::milliseconds kill_timeout);

// agent.pid: "<pid>\n<starttime>" (or just "<pid>").
struct PidFile {
  pid_t pid;
  std::optional<std::uint64_t> start_time;
};
std::optional<PidFile> read_pid_file(const std::string& path);

}  // namespace bs::sim
