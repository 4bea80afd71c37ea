// The client-side commands behind main(): each returns the process exit code and prints to the
// streams it is given, so tests can run them in-process. `run` and `reconcile --once` are the
// daemon's (supervisor/daemon.h).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "platform/env.h"
#include "supervisor/cli_args.h"
#include "supervisor/settings.h"

namespace bs::supervisor {

// Exit codes shared by the commands (CONTRACT §7).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // not converged, invalid, a FAILed check, a runtime error
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotRunning = 3;

struct CommandIo {
  std::ostream& out;
  std::ostream& err;
  bool out_is_terminal = false;
  platform::EnvLookup env;
  std::function<std::int64_t()> now_ms;  // wall clock, ms since the epoch
};

// "error: <message>" and, when given, "hint: <hint>" on err.
void print_error(std::ostream& err, const std::string& message, const std::string& hint = {});

int cmd_status(const Settings& settings, const Invocation& inv, CommandIo& io);
// `reconcile` without --once: asks the daemon for a pass and waits for it.
int cmd_reconcile_remote(const Settings& settings, const Invocation& inv, CommandIo& io);
int cmd_events(const Settings& settings, const Invocation& inv, CommandIo& io);
// `reconcile --once`: runs `pass` (the daemon's one pass), then prints the events it wrote.
int cmd_reconcile_once(const Settings& settings, const Invocation& inv, CommandIo& io,
                       const std::function<int()>& pass);
int cmd_validate(const Settings& settings, const Invocation& inv, CommandIo& io);
int cmd_preflight(const Settings& settings, const Invocation& inv, CommandIo& io);
int cmd_leases(const Settings& settings, const Invocation& inv, CommandIo& io);
// `adopt` and `release`: one request to the running daemon over the control socket.
int cmd_handoff(const Settings& settings, const Invocation& inv, CommandIo& io);

}  // namespace bs::supervisor
