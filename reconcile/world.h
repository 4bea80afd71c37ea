// What the supervisor observed of one machine and its VM: the planner's view of the world.
// Built by the supervisor from smolvm's DB, /proc and the VM data dir; pure data here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/cidr.h"

namespace bs {

// An egress policy as smolvm stores or boots it: null means unrestricted. A booted policy may
// also be Pending: the VM was spawned a moment ago and smolvm has not yet written which process
// agent.config.json belongs to (agent.pid); it is judged again shortly, and Invalid once the
// bounded pending window has passed.
struct Policy {
  enum class Kind { Unrestricted, List, Invalid, Pending };
  Kind kind = Kind::Unrestricted;
  Allowlist list;     // canonical; Kind::List only
  std::string error;  // Kind::Invalid: why it could not be read

  static Policy unrestricted() { return {}; }
  static Policy of(Allowlist l) { return {Kind::List, std::move(l), {}}; }
  static Policy invalid(std::string why) { return {Kind::Invalid, {}, std::move(why)}; }
  static Policy pending(std::string why) { return {Kind::Pending, {}, std::move(why)}; }
  bool equals(const Allowlist& desired) const { return kind == Kind::List && list == desired; }
  std::string str() const;  // "[...]", "null (unrestricted)", "unreadable (...)" or "pending (...)"
};

// The VM process a row's pid identifies (identity already checked by the observer).
struct RunningVm {
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;  // clock ticks since boot (Linux) as smolvm records it
  Policy booted;                 // resources.allowed_cidrs of the agent.config.json agent.pid ties to it
  std::int64_t pending_ms = 0;   // booted is Pending: how long until the pending window closes
};

// A _boot-vm process naming a managed machine's data dir that the row does not reference.
struct StrayVm {
  std::int64_t pid = 0;
  std::uint64_t start_time = 0;
};

struct MachineObservation {
  enum class Row { DbUnavailable, Missing, Unreadable, Ok };
  Row row = Row::Missing;
  std::string problem;  // DbUnavailable / Unreadable: what is wrong, for the user
  Policy allowed;       // the row's allowed_cidrs (Row::Ok)
  bool network = false;
  // Set when the row's pid is a live, non-zombie process whose identity matches (CONTRACT §6.4).
  std::optional<RunningVm> vm;
  // A pid the row names that is not this machine's VM (reused, zombie, gone): never signalled.
  std::optional<std::string> pid_note;
  // The VM verified earlier, still alive (same start time), that the row no longer names: not an
  // exit but a stray of this machine.
  std::optional<StrayVm> superseded;
};

}  // namespace bs
