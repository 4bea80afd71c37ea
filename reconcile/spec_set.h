// The spec folder as a whole: every spec file parsed, and conflicts between files resolved.
#pragma once

#include <map>
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
//
// `memo`, when given, keeps each file's parse between calls: a file whose path, text and pool are
// unchanged is not parsed again (a resync re-resolves every spec; 1,000 TOML parses are most of
// its cost). Parses of files not passed in this call are dropped from it.
class SpecParseMemo;
std::vector<SpecEntry> resolve_specs(std::vector<SpecFile> files, const Ipv4Pool& pool, SpecParseMemo* memo = nullptr);

class SpecParseMemo {
 public:
  using Result = Expected<BottleSpec, std::vector<SpecDiag>>;
  // parse_bottle_spec(path, text, pool), or the remembered result of that very call.
  const Result& parse(const std::string& path, const std::string& text, const Ipv4Pool& pool);
  // Forgets the parses not asked for since the last sweep.
  void sweep();
  std::size_t size() const { return parses_.size(); }
  std::size_t parsed() const { return parsed_; }  // parse_bottle_spec calls made, for tests

 private:
  struct Entry {
    std::string text;
    Ipv4Pool pool;
    Result result;
    bool used = true;
  };
  std::map<std::string, Entry> parses_;  // by path
  std::size_t parsed_ = 0;
};

}  // namespace bs
