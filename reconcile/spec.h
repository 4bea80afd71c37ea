// Bottle specs: one TOML file per bottle (CONTRACT.md §3), parsed once into a validated BottleSpec.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/expected.h"

namespace bs {

enum class RunState { Running, Stopped };
enum class OnRemove { Delete, Keep };

std::string_view to_string(RunState s);  // "running" / "stopped", as written in specs
std::string_view to_string(OnRemove r);  // "delete" / "keep"

// One problem in one spec file. line and column are 1-based; a problem with the file as a whole
// (its name, a missing key) is reported at 1:1 so every diagnostic has the same shape.
struct SpecDiag {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string str() const;  // "file:line:col: message"
  bool operator==(const SpecDiag&) const = default;
};

struct BottleSpec {
  std::string name, path;  // name = file stem; path = the spec file
  std::string machine;     // default "bottle-<name>"
  std::optional<std::string> image, from;  // exactly one set
  int cpus = 1;            // 1..64
  int memory_mib = 512;    // 64..1048576
  RunState state = RunState::Running;
  std::optional<Ipv4> loopback;  // nullopt = "auto"
  OnRemove on_remove = OnRemove::Delete;
  Allowlist egress_allow;  // canonical; the bottle's own address/32 is NOT in it
  bool operator==(const BottleSpec&) const = default;
};

inline constexpr int kMinCpus = 1, kMaxCpus = 64;
inline constexpr int kMinMemoryMib = 64, kMaxMemoryMib = 1048576;
inline constexpr std::size_t kMaxBottleNameLength = 48, kMaxMachineNameLength = 63;

// Which directory entries are specs: names ending in ".toml" (case-sensitive: "x.TOML" is not one)
// that do not start with '.'. Editor droppings ("x.toml~", "x.toml.bak", ".x.toml.swp", vim's
// "4913") are thereby ignored. Whether the entry is a regular file is the caller's check.
bool is_spec_file_name(std::string_view file_name);
// The stem of a file name or path: "task-1.toml" -> "task-1", "/d/x.toml" -> "x".
std::string bottle_name_of(std::string_view file_name);
// ^[a-z0-9]+(-[a-z0-9]+)*$ and at most 48 characters, so "bottle-<name>" is a valid machine name.
bool valid_bottle_name(std::string_view name);
// The same pattern, at most 63 characters (smolvm refuses leading, trailing or doubled '-').
bool valid_machine_name(std::string_view name);

// Parses and validates one spec. path is used in messages and to derive the name (basename stem).
// Every problem is reported, each naming file, line and column and saying what is wrong and what is
// allowed; diagnostics come sorted by position. A TOML syntax error stops the parse there, so it
// is reported alone (with any problem with the file name). toml++ never escapes this function.
Expected<BottleSpec, std::vector<SpecDiag>> parse_bottle_spec(const std::string& path, std::string_view text,
                                                              const Ipv4Pool& pool);

// One "file:line:col: message" per line, joined by '\n' (no trailing newline).
std::string format_diags(const std::vector<SpecDiag>& d);

}  // namespace bs
