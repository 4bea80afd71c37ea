// smolvm's VmRecord (the JSON in vms.data, src/config.rs): the fields the supervisor reasons
// about, and byte-preserving patches of allowed_cidrs / network. Pure: no I/O, and total over
// any input (this is a fuzz target), so hostile bytes give an error, never a crash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/expected.h"

namespace bs::smolvm {

struct AllowedCidrs {
  // Null: key absent or JSON null (smolvm: unrestricted). Invalid: neither null nor an array of
  // strings (smolvm cannot read the record).
  enum class Kind { Null, List, Invalid };
  Kind kind = Kind::Null;
  std::vector<std::string> cidrs;  // as stored, order kept (Kind::List only)

  bool operator==(const AllowedCidrs&) const = default;
};

struct MachineRecord {
  std::string name;   // JSON "name"
  std::string state;  // "created" if absent
  std::optional<std::int64_t> pid;
  std::optional<std::uint64_t> pid_start_time;
  bool network = false;
  AllowedCidrs allowed_cidrs;
  std::optional<std::string> image, source_smolmachine;
  std::uint32_t cpus = 1, mem = 512;
};

// Parses the bytes of vms.data with serde's rules for the fields above: a present non-Option
// field may not be null, numbers must be integers in the Rust type's range, no duplicate keys.
// A pid outside 1..2^31-1 is rejected too: no such process can be smolvm's VM, and passing it on
// could end up in kill(0 or -1, ...). Errors say what is wrong ("not valid JSON: ...",
// "not a JSON object", "field 'pid' is not an integer or null", "duplicate key 'x'").
bs::Expected<MachineRecord, std::string> parse_record(std::string_view bytes);

struct RecordPatch {
  std::optional<std::vector<std::string>> allowed_cidrs;  // set the value (a JSON array of these)
  std::optional<bool> network;                            // set "network"
};

// Returns the input with ONLY the values of the patched keys replaced; every other byte (key
// order, unknown keys, number formatting, whitespace) is preserved exactly. A missing key is
// inserted compactly (allowed_cidrs right after "overlay_gb", network right after
// "published_sockets", as smolvm orders them; else after the last member). Errors if the input
// is not a JSON object or has duplicate keys. The result is checked with a full parse: it must
// equal the input with the patch applied, as JSON values.
bs::Expected<std::string, std::string> apply_patch(std::string_view bytes, const RecordPatch& patch);

// True when every key the patch sets is present in the record with exactly the patch's JSON
// value (an absent key never matches, so the value is written explicitly). Errors as apply_patch.
bs::Expected<bool, std::string> patch_is_applied(std::string_view bytes, const RecordPatch& patch);

}  // namespace bs::smolvm
