// The scene both kill benchmarks measure in: run-1, a running bottle (so the daemon has a live VM
// to keep checking), and a bottle whose state is "stopped" (so nothing restarts its machine
// between two out-of-band starts), the daemon up and both bottles converged.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/common/run_control.h"
#include "bench/common/sandbox.h"
#include "reconcile/cidr.h"

namespace bs::bench {

struct KillScene {
  std::unique_ptr<Sandbox> sandbox;
  nlohmann::json status;                         // the status document once both converged
  std::map<std::string, bs::Allowlist> desired;  // machine -> allowlist: what a reference poller enforces
};

// Prints what went wrong and returns nullopt when the scene is not up within 60 s.
std::optional<KillScene> start_kill_scene(const Options& opt, const std::string& config_toml,
                                          const std::string& stopped_bottle);

// Waits (at most 60 s) until the daemon's drift_kills counter reached `kills` and `bottle` is
// settled again: the kill was the daemon's, and it is done with the bottle before the next event.
bool wait_kill_recorded(const Sandbox& sb, const std::string& bottle, std::uint64_t kills);

// The note under a kill benchmark's table: at which priority its timestamp threads ran.
void print_clock_priority_note();

}  // namespace bs::bench
