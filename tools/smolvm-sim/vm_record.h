// smolvm's VmRecord (src/config.rs) as stored in vms.data: compact JSON, keys in struct
// declaration order, some keys omitted when empty/None/false. Parsing follows serde's rules for
// that struct: a missing key takes its default, a non-Option key may not be null, unknown keys are
// ignored (and so dropped when the record is written back), a duplicate key is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/expected.h"

namespace bs::sim {

class VmRecord {
 public:
  // A record with every field at its serde default (cpus 1, mem 512, state "created", ...).
  explicit VmRecord(const std::string& name);

  // serde_json::from_slice::<VmRecord>; the error text mimics serde's (without its
  // " at line L column C" suffix).
  static Expected<VmRecord, std::string> parse(std::string_view bytes);

  // serde_json::to_vec: compact, declaration order, omission rules applied.
  std::string serialize() const;

  // Raw access to a known field's normalised value (null for a None Option).
  const nlohmann::ordered_json& get(const char* key) const;
  void set(const char* key, nlohmann::ordered_json value);

  std::string name() const { return get("name").get<std::string>(); }
  std::string state() const { return get("state").get<std::string>(); }
  std::optional<std::int32_t> pid() const;
  std::optional<std::uint64_t> pid_start_time() const;
  bool ephemeral() const { return get("ephemeral").get<bool>(); }

 private:
  VmRecord() = default;
  nlohmann::ordered_json fields_ = nlohmann::ordered_json::object();
};

// The declaration-order key list (all 52 keys), for tests and for ls.
const std::vector<std::string>& vm_record_keys();

}  // namespace bs::sim
