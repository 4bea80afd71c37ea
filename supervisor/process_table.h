// /proc as the observer reads it: a process's stat and command line, every pid, how long ago a
// process started, and a pidfd that pins a process while its readings are taken. The host's
// table reads /proc; tests put in processes of their own making (any pid, command line and age),
// so the observer's verdicts are tested without real processes or waiting for them to age.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/pidfd.h"
#include "platform/process.h"

namespace bs::supervisor {

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  virtual std::optional<platform::ProcStat> stat(std::int64_t pid) = 0;  // nullopt: no such process
  virtual std::optional<std::string> cmdline(std::int64_t pid) = 0;      // NUL-separated
  virtual std::vector<std::int64_t> pids() = 0;                          // ascending
  // How long ago a process with this start time started; nullopt when that cannot be told.
  virtual std::optional<std::int64_t> age_ms(std::uint64_t start_time) = 0;
  // nullopt when the process is gone or the OS has no pidfds: nothing is remembered then.
  virtual std::optional<platform::PidFd> pin(std::int64_t pid) = 0;
};

// This host's /proc.
ProcessTable& host_process_table();

}  // namespace bs::supervisor
