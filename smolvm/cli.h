// The smolvm CLI subset the supervisor uses (reference §3): argv builders and parsers of what
// smolvm prints. Pure: running the command is the caller's job. The parsers are strict about the
// cases that look like success but are not (`delete` without a terminal prints "Cancelled" and
// exits 0).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bs::smolvm {

struct CreateArgs {
  std::string name;
  std::optional<std::string> image, from;  // exactly one is expected; `from` wins if both are set
  int cpus;
  int mem_mib;
  std::vector<std::string> allow_cidrs;
  // smolvm labels (`--label KEY=VALUE`, smolvm >= 1.8.0; stored as the record's "labels" object,
  // shown by `machine ls --json`). smolvm never interprets them.
  std::vector<std::pair<std::string, std::string>> labels = {};
};

// The label naming the bottle a machine was created for: ownership visible in `smolvm machine ls`.
inline constexpr const char* kBottleLabel = "bottle-supervisor.bottle";

// {bin,"machine","create","--name",N,("--image",I|"--from",F),"--cpus",C,"--mem",M,"--net",("--allow-cidr",X)...,
//  ("--label",K=V)...}
std::vector<std::string> create_argv(const std::string& bin, const CreateArgs& args);
std::vector<std::string> start_argv(const std::string& bin, const std::string& name);   // machine start --name N
std::vector<std::string> stop_argv(const std::string& bin, const std::string& name);    // machine stop --name N
std::vector<std::string> delete_argv(const std::string& bin, const std::string& name);  // machine delete --name N -f
std::vector<std::string> version_argv(const std::string& bin);                          // --version

// Variables of the supervisor's own environment that must not reach a smolvm command: every
// SMOLVM_* one but where smolvm finds its parts (SMOLVM_LIB_DIR, SMOLVM_AGENT_ROOTFS) and the
// simulator's test knobs (SMOLVM_SIM_*). Others change what a command acts on
// (SMOLVM_MACHINE_NAME fills in --name, SMOLVM_CONFIG, SMOLVM_DATA_DIR, which the supervisor
// sets itself) or how an allowlist is enforced (SMOLVM_EGRESS_FLOOR, SMOLVM_EGRESS_ALLOW_PRIVATE,
// SMOLVM_ALLOW_HOST_LOOPBACK, SMOLVM_PUBLISH_ADDR, SMOLVM_NETWORK_BACKEND, ...).
bool withheld_from_smolvm(std::string_view variable);

enum class CliOutcome { Ok, AlreadyExists, NotFound, AlreadyRunning, NotRunning, Cancelled, Failed };

struct CliResult {
  CliOutcome outcome;
  // The "Error: ..." text without the prefix (all of it: KVM errors span lines), or the
  // informative stdout line.
  std::string message;
  std::optional<std::int64_t> pid;
};

// exit_code: the process's exit status; anything else the caller has (killed by a signal,
// timed out) should be passed as a negative number, which is always Failed.
CliResult parse_create(int exit_code, std::string_view out, std::string_view err);
// "Machine 'n' running (PID: p)" -> Ok+pid; "already running (PID: p)" -> AlreadyRunning+pid
CliResult parse_start(int exit_code, std::string_view out, std::string_view err);
// "is not running (state: s)" -> NotRunning
CliResult parse_stop(int exit_code, std::string_view out, std::string_view err);
// "Cancelled" with exit 0 -> Cancelled (NOT success!)
CliResult parse_delete(int exit_code, std::string_view out, std::string_view err);

// "smolvm 1.9.2\n" -> "1.9.2"
std::optional<std::string> parse_version(std::string_view out);
// Numeric compare of MAJOR.MINOR.PATCH; a pre-release ("1.8.0-rc1") is below its release, and
// anything unparseable is "not at least" (callers use this to refuse known-bad versions).
bool version_at_least(std::string_view version, int major, int minor, int patch = 0);

// The smolvm versions whose behaviour the supervisor's facts were checked against (README
// "smolvm facts"): 1.32.x, checked on 1.32.2. Others may work; preflight warns about them.
inline constexpr std::string_view kCheckedSmolvmVersion = "1.32.2";
bool version_supported(std::string_view version);

const char* to_string(CliOutcome outcome);

}  // namespace bs::smolvm
