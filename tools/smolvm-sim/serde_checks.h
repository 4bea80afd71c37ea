// How serde_json judges a JSON value against a Rust type, for the types VmRecord uses: the
// accepted shapes, integer ranges, and serde's error wording ("invalid type: null, expected u8").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "reconcile/expected.h"

namespace bs::sim::serde {

using json = nlohmann::ordered_json;
using Check = Expected<json, std::string>;  // the normalised value, or serde's message

// serde's "unexpected" wording for a value: null, boolean `true`, integer `5`, string "x", ...
std::string describe(const json& v);
std::string invalid_type(const json& v, const std::string& expected);

Check unsigned_in(const json& v, std::uint64_t max, const char* type_name);  // u8/u16/u32/u64
Check i32_value(const json& v);
Check string_value(const json& v);
Check bool_value(const json& v);
Check string_vec(const json& v);  // Vec<String>
// Vec<(A, B, ...)>: arrays of exactly n elements, element i checked by elem(i, value).
template <class ElemCheck>
Check tuple_vec(const json& v, std::size_t n, ElemCheck elem) {
  if (!v.is_array()) return unexpected(invalid_type(v, "a sequence"));
  json out = json::array();
  for (const auto& t : v) {
    if (!t.is_array()) return unexpected(invalid_type(t, "a tuple of size " + std::to_string(n)));
    if (t.size() != n) {
      return unexpected("invalid length " + std::to_string(t.size()) + ", expected a tuple of size " +
                        std::to_string(n));
    }
    json row = json::array();
    for (std::size_t i = 0; i < n; ++i) {
      auto c = elem(i, t[i]);
      if (!c) return c;
      row.push_back(*c);
    }
    out.push_back(std::move(row));
  }
  return out;
}
// BTreeMap<String, String> (string_values) or BTreeMap<String, struct>: keys come back sorted.
Check sorted_map(const json& v, bool string_values);
Check object_vec(const json& v);  // Vec<struct>, kept verbatim

}  // namespace bs::sim::serde
