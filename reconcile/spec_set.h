// The spec folder as a whole: every spec file parsed, and conflicts between files resolved.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/spec.h"

namespace bs {

struct SpecFile {
  std::string file_name;  // already filtered by is_spec_file_name by the caller
  std::string path;
  std::string text;
  // Set by the caller when the file could not be read or fails the owner/permission check; the
  // entry is then in error with this message and its text is not parsed.
  std::optional<std::string> access_error;
};

struct SpecEntry {
  std::string name, path;
  std::optional<BottleSpec> spec;    // set when valid AND not losing a conflict
  std::optional<std::string> error;  // human message: diagnostics (one per line) or the conflict
  bool operator==(const SpecEntry&) const = default;
};

// Parses every file and resolves conflicts (CONTRACT.md §3): two specs naming the same `machine`,
// or the same fixed `loopback`, are settled in favour of the file whose name sorts first (byte
// order), whatever order the files arrive in; the other is in error naming the winner's file, e.g.
// "machine 'bottle-a' is already used by /path/a.toml". Only specs that end up valid claim a
// machine or an address: an invalid or losing spec blocks nobody. Output sorted by name.
std::vector<SpecEntry> resolve_specs(std::vector<SpecFile> files, const Ipv4Pool& pool);

}  // namespace bs
