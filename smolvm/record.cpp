#include "smolvm/record.h"

#include <limits>

#include "smolvm/strict_json.h"

namespace bs::smolvm {
namespace {

using Json = nlohmann::json;

const Json* find(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string field_error(const char* key, const char* expected) {
  return std::string("field '") + key + "' is not " + expected;
}

// An integer JSON number within [lo, hi]; floats ("5.0") are not integers to serde either.
std::optional<std::int64_t> integer_in(const Json& v, std::int64_t lo, std::int64_t hi) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    auto i = static_cast<std::int64_t>(u);
    if (i < lo || i > hi) return std::nullopt;
    return i;
  }
  if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    if (i < lo || i > hi) return std::nullopt;
    return i;
  }
  return std::nullopt;
}

bs::Expected<std::optional<std::string>, std::string> optional_string(const Json& obj,
                                                                     const char* key) {
  const Json* v = find(obj, key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) return bs::unexpected(field_error(key, "a string or null"));
  return std::optional<std::string>{v->get<std::string>()};
}

}  // namespace

bs::Expected<MachineRecord, std::string> parse_record(std::string_view bytes) {
  auto parsed = parse_strict_json(bytes);
  if (!parsed) return bs::unexpected(parsed.error());
  const Json& obj = *parsed;
  if (!obj.is_object()) return bs::unexpected(std::string("not a JSON object"));

  MachineRecord r;

  const Json* name = find(obj, "name");
  if (name == nullptr) return bs::unexpected(std::string("field 'name' is missing"));
  if (!name->is_string()) return bs::unexpected(field_error("name", "a string"));
  r.name = name->get<std::string>();

  r.state = "created";
  if (const Json* state = find(obj, "state")) {
    // Any string is kept: the supervisor never trusts the stored state (it checks the pid), so a
    // state added by a newer smolvm should not make the row unreadable to us.
    if (!state->is_string()) return bs::unexpected(field_error("state", "a string"));
    r.state = state->get<std::string>();
  }

  if (const Json* pid = find(obj, "pid"); pid != nullptr && !pid->is_null()) {
    if (!pid->is_number_integer()) return bs::unexpected(field_error("pid", "an integer or null"));
    auto v = integer_in(*pid, 1, std::numeric_limits<std::int32_t>::max());
    if (!v) return bs::unexpected(field_error("pid", "a process id (1..2147483647) or null"));
    r.pid = *v;
  }

  if (const Json* st = find(obj, "pid_start_time"); st != nullptr && !st->is_null()) {
    if (st->is_number_unsigned()) {
      r.pid_start_time = st->get<std::uint64_t>();
    } else if (st->is_number_integer() && st->get<std::int64_t>() >= 0) {
      r.pid_start_time = static_cast<std::uint64_t>(st->get<std::int64_t>());
    } else {
      return bs::unexpected(field_error("pid_start_time", "a non-negative integer or null"));
    }
  }

  if (const Json* cpus = find(obj, "cpus")) {
    auto v = integer_in(*cpus, 0, std::numeric_limits<std::uint8_t>::max());
    if (!v) return bs::unexpected(field_error("cpus", "an integer 0..255"));
    r.cpus = static_cast<std::uint32_t>(*v);
  }

  if (const Json* mem = find(obj, "mem")) {
    auto v = integer_in(*mem, 0, std::numeric_limits<std::uint32_t>::max());
    if (!v) return bs::unexpected(field_error("mem", "an integer 0..4294967295"));
    r.mem = static_cast<std::uint32_t>(*v);
  }

  if (const Json* network = find(obj, "network")) {
    if (!network->is_boolean()) return bs::unexpected(field_error("network", "true or false"));
    r.network = network->get<bool>();
  }

  r.allowed_cidrs = allowed_cidrs_from(find(obj, "allowed_cidrs"));

  auto image = optional_string(obj, "image");
  if (!image) return bs::unexpected(image.error());
  r.image = std::move(*image);

  auto source = optional_string(obj, "source_smolmachine");
  if (!source) return bs::unexpected(source.error());
  r.source_smolmachine = std::move(*source);

  return r;
}

}  // namespace bs::smolvm
