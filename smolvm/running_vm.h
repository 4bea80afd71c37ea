// A running VM as smolvm's VM data dir describes it. Checked against smolvm 1.32.2 (PyPI
// `smolmachines` 1.32.2, `smol/smol-vmm`), see README "smolvm facts":
//  - `machine start` spawns the VM as ["/proc/self/exe" (Linux; the smolvm binary itself on
//    macOS), "_boot-vm", "<data dir>/boot-config.json"]; the VM deletes boot-config.json once read;
//  - right after the spawn, before waiting seconds for the guest agent, the starting CLI writes
//    `agent.config.json` (the resources the VMM got, tmp + rename) and then `agent.pid`
//    ("<pid>\n<start time ticks>", or just "<pid>" when the start time is unreadable);
//  - the row gets state/pid/pid_start_time only after the agent answered;
//  - `machine stop` removes both files; a failed start leaves agent.config.json behind.
// So agent.config.json is the booted policy of the process agent.pid names, and of no other.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "reconcile/expected.h"
#include "smolvm/record.h"

namespace bs::smolvm {

inline constexpr std::string_view kBootConfigFile = "boot-config.json";
inline constexpr std::string_view kAgentConfigFile = "agent.config.json";
inline constexpr std::string_view kAgentPidFile = "agent.pid";

// The contents of agent.pid.
struct AgentPid {
  std::int64_t pid = 0;
  std::optional<std::uint64_t> start_time;
  bool operator==(const AgentPid&) const = default;
};

// "<pid>" or "<pid>\n<start time>" (a trailing newline tolerated). nullopt: not that shape.
std::optional<AgentPid> parse_agent_pid(std::string_view text);

// <data dir>/agent.pid: nullopt when there is none; an error when it is there but unreadable or
// malformed (names the path).
bs::Expected<std::optional<AgentPid>, std::string> read_agent_pid(const std::string& data_dir);

// resources.allowed_cidrs of <data dir>/agent.config.json; errors name the path.
bs::Expected<AllowedCidrs, std::string> read_running_policy(const std::string& data_dir);

// "<data dir>/boot-config.json" -> "<data dir>"; nullopt for any other path.
std::optional<std::string> data_dir_of_boot_config(std::string_view boot_config_path);

}  // namespace bs::smolvm
