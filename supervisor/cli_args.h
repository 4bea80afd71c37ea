// The command line: `bottle-supervisor <command> [options]` parsed into one Invocation, or a
// usage error (exit 2) with a message and a hint. Pure: no I/O, so it is tested by tables.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/expected.h"
#include "supervisor/settings.h"

namespace bs::supervisor {

enum class Command { Run, Status, Reconcile, Events, Validate, Preflight, Leases, Adopt, Release };

struct Invocation {
  enum class Action { Execute, Help, Version };
  Action action = Action::Execute;
  std::optional<Command> command;  // nullopt only for top-level --help / --version

  CommonFlags common;
  bool json = false;    // status, reconcile, events
  bool once = false;    // reconcile
  bool follow = false;  // events
  bool all = false;     // status: every smolvm machine, not only the bottles
  std::optional<std::string> machine;            // adopt --machine
  std::optional<std::string> bottle;             // events --bottle
  std::optional<std::chrono::milliseconds> since;  // events --since DURATION (that long ago)
  std::optional<std::int64_t> since_at_ms;         // events --since RFC3339 (ms since the epoch)
  std::optional<std::chrono::milliseconds> until;  // events --until DURATION
  std::optional<std::int64_t> until_at_ms;         // events --until RFC3339
  std::optional<std::size_t> tail;                 // events -n/--tail N: the last N first
  std::vector<std::string> kinds;                  // events --kind (repeatable, comma lists)
  enum class Output { Table, Wide, Name };
  Output output = Output::Table;                   // status -o table|wide|name
  bool watch = false;                              // status --watch
  bool explain = false;                            // validate --explain
  std::vector<std::string> operands;  // status NAME..., validate FILE...
};

struct UsageError {
  std::string message;  // printed as "error: <message>"
  std::string hint;     // printed as "hint: <hint>" when not empty
};

// args: argv without the program name.
bs::Expected<Invocation, UsageError> parse_args(const std::vector<std::string>& args);

// The options a command accepts, as shown in its help: "--json", "--specs DIR", ...
// (--help and --version, accepted everywhere, are not listed).
std::vector<std::string> accepted_options(Command command);

// The --help text of a command, or the top-level overview for nullopt. Lists every option.
// (cli_help.cpp)
std::string usage_text(std::optional<Command> command);

const char* command_name(Command c);

}  // namespace bs::supervisor
