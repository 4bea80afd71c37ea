// Test knobs: environment variables read once per sim process (documented in main.cpp and
// README.md). Each applies only to the process it is set for (and, for the VM knob, its VM child).
#pragma once

#include <optional>
#include <set>
#include <string>

#include "platform/env.h"

namespace bs::sim {

struct Knobs {
  std::string version = "1.32.2";           // SMOLVM_SIM_VERSION
  bool drop_from_cidrs = false;             // SMOLVM_SIM_DROP_FROM_CIDRS=1
  std::optional<std::string> force_policy;  // SMOLVM_SIM_FORCE_POLICY=<json>
  std::optional<std::string> fail_create;   // SMOLVM_SIM_FAIL_CREATE=<msg>
  std::optional<std::string> fail_start;    // SMOLVM_SIM_FAIL_START=<msg>
  unsigned hang_secs = 0;                   // SMOLVM_SIM_HANG_SECS=N
  std::set<std::string> hang_commands;      // SMOLVM_SIM_HANG_COMMANDS=start,stop (empty = all)
  unsigned stop_window_ms = 0;              // SMOLVM_SIM_STOP_WINDOW_MS=N
  bool check_kvm = false;                   // SMOLVM_SIM_CHECK_KVM=1

  bool hangs(const std::string& subcommand) const {
    return hang_secs > 0 && (hang_commands.empty() || hang_commands.count(subcommand) > 0);
  }
};

Knobs read_knobs(const platform::EnvLookup& env);

// SMOLVM_SIM_VM_EXIT_AFTER_MS, read by the VM stand-in itself (0 = never).
unsigned vm_exit_after_ms(const platform::EnvLookup& env);

// SMOLVM_SIM_READY_MS, read by the VM stand-in: how long it "boots" before its agent answers
// (default 100 ms; a real VM takes roughly 300-1000 ms, a first pull much longer).
constexpr unsigned kDefaultAgentReadyMs = 100;
unsigned agent_ready_ms(const platform::EnvLookup& env);

}  // namespace bs::sim
