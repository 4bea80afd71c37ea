#include "tools/smolvm-sim/serde_checks.h"

#include <limits>
#include <map>

namespace bs::sim::serde {

std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return std::string("boolean `") + (v.get<bool>() ? "true" : "false") + "`";
    case json::value_t::number_unsigned:
    case json::value_t::number_integer: return "integer `" + v.dump() + "`";
    case json::value_t::number_float: return "floating point `" + v.dump() + "`";
    case json::value_t::string: return "string " + v.dump();
    case json::value_t::array: return "sequence";
    default: return "map";
  }
}

std::string invalid_type(const json& v, const std::string& expected) {
  return "invalid type: " + describe(v) + ", expected " + expected;
}

Check unsigned_in(const json& v, std::uint64_t max, const char* type_name) {
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() > max) return unexpected("invalid value: " + describe(v) + ", expected " + type_name);
    return json(v.get<std::uint64_t>());
  }
  if (v.is_number_integer()) return unexpected("invalid value: " + describe(v) + ", expected " + type_name);
  return unexpected(invalid_type(v, type_name));
}

Check i32_value(const json& v) {
  constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min();
  constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
  if (v.is_number_unsigned()) {
    if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
      return unexpected("invalid value: " + describe(v) + ", expected i32");
    }
    return json(v.get<std::int64_t>());
  }
  if (v.is_number_integer()) {
    std::int64_t n = v.get<std::int64_t>();
    if (n < lo || n > hi) return unexpected("invalid value: " + describe(v) + ", expected i32");
    return json(n);
  }
  return unexpected(invalid_type(v, "i32"));
}

Check string_value(const json& v) {
  if (!v.is_string()) return unexpected(invalid_type(v, "a string"));
  return v;
}

Check bool_value(const json& v) {
  if (!v.is_boolean()) return unexpected(invalid_type(v, "a boolean"));
  return v;
}

Check string_vec(const json& v) {
  if (!v.is_array()) return unexpected(invalid_type(v, "a sequence"));
  for (const auto& e : v) {
    if (!e.is_string()) return unexpected(invalid_type(e, "a string"));
  }
  return v;
}

// Tuples are JSON arrays of exactly N elements, each checked by `elem(i, value)`.
// BTreeMap keys come back sorted on serialisation.
Check sorted_map(const json& v, bool string_values) {
  if (!v.is_object()) return unexpected(invalid_type(v, "a map"));
  std::map<std::string, json> sorted;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (string_values && !it.value().is_string()) return unexpected(invalid_type(it.value(), "a string"));
    if (!string_values && !it.value().is_object()) {
      return unexpected(invalid_type(it.value(), "struct SecretRef"));
    }
    sorted[it.key()] = it.value();
  }
  json out = json::object();
  for (auto& [k, val] : sorted) out[k] = std::move(val);
  return out;
}

Check object_vec(const json& v) {
  if (!v.is_array()) return unexpected(invalid_type(v, "a sequence"));
  for (const auto& e : v) {
    if (!e.is_object()) return unexpected(invalid_type(e, "a struct"));
  }
  return v;
}

}  // namespace bs::sim::serde
