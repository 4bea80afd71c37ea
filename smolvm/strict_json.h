// JSON parsing as strict as smolvm's serde_json: one value, valid UTF-8, and no key twice in any
// object (serde rejects a duplicate struct field; nlohmann would silently keep the last one, which
// could hide a second "allowed_cidrs" from us while smolvm refuses the row).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "reconcile/expected.h"
#include "smolvm/record.h"

namespace bs::smolvm {

// Errors: "not valid JSON: <where and why>" or "duplicate key '<k>'".
bs::Expected<nlohmann::json, std::string> parse_strict_json(std::string_view text);

// The allowed_cidrs value as smolvm reads it: absent or null -> Null, array of strings -> List,
// anything else -> Invalid. `value` may be null (key absent).
AllowedCidrs allowed_cidrs_from(const nlohmann::json* value);

// Bytes from untrusted input made safe to show in a message (and to put in JSON later):
// printable ASCII kept, everything else as \xNN, cut at `max` bytes.
std::string printable(std::string_view bytes, std::size_t max = 200);

}  // namespace bs::smolvm
