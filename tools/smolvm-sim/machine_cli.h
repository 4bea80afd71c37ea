// `smolvm machine <subcommand>` (alias `vm`): dispatch, the hang knob, the orphaned-ephemeral sweep
// every subcommand runs first, and one function per subcommand.
#pragma once

#include <string>
#include <vector>

#include "platform/env.h"
#include "smolvm/paths.h"
#include "tools/smolvm-sim/cli_args.h"
#include "tools/smolvm-sim/knobs.h"
#include "tools/smolvm-sim/state_db.h"

namespace bs::sim {

// What every subcommand gets: where smolvm's state lives and the knobs of this process.
struct Machine {
  smolvm::Paths paths;
  Knobs knobs;
  platform::EnvLookup env;

  Result<StateDb> open_db() const { return StateDb::open(paths.db); }
};

// Runs `machine <args...>`, printing like smolvm; returns the exit code.
int run_machine(const std::vector<std::string>& args, const Machine& machine);

// Each subcommand: its clap-like spec and value checks (both done before anything else runs, as
// clap does), and its body.
struct Subcommand {
  const char* about;
  CommandSpec spec;
  Done (*run)(const Machine&, const ParsedArgs&);
  Done (*check_values)(const ParsedArgs&) = nullptr;  // clap value parsers and conflicts (exit 2)
};

extern const Subcommand kCreate;
extern const Subcommand kStart;
extern const Subcommand kStop;
extern const Subcommand kDelete;
extern const Subcommand kLs;
extern const Subcommand kStatus;
extern const Subcommand kDataDir;
extern const Subcommand kUpdate;

}  // namespace bs::sim
