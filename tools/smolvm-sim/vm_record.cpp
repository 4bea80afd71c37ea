#include "tools/smolvm-sim/vm_record.h"

#include <arpa/inet.h>

#include <cstdint>
#include <limits>
#include <set>

#include "tools/smolvm-sim/serde_checks.h"

namespace bs::sim {
namespace {

using json = nlohmann::ordered_json;
using namespace serde;  // the value checks this record is built from

enum class Kind {
  Name, Timestamp, State, U8, U32, U64, Bool,
  OptI32, OptU32, OptU64, OptBool, OptString, OptStringVec,
  StringVec, StringPairs, StringMap, ObjectMap, ObjectVec, Restart,
  OptNetworkBackend, OptIpv4,
  BlockIo, DiskDurability, AnyVec, OptAny,
};

// When serde skips the key on serialisation (skip_serializing_if).
enum class Omit { Never, IfNone, IfEmpty, IfFalse };

struct Field {
  const char* key;
  Kind kind;
  Omit omit;
};

// smolvm 1.32.2's VmRecord, in declaration order. The keys written by default (never omitted) and
// their order are the ones the real 1.32.2 `machine create` writes; the omitted-when-default keys
// kept from 1.9.2 sit where 1.32.2's field-name table puts them (checked against the binary's
// strings), and any other 1.32.2 key is read as unknown and so ignored, as serde does.
constexpr Field kFields[] = {
    {"name", Kind::Name, Omit::Never},
    {"created_at", Kind::Timestamp, Omit::Never},
    {"state", Kind::State, Omit::Never},
    {"pid", Kind::OptI32, Omit::Never},
    {"pid_start_time", Kind::OptU64, Omit::Never},
    {"cpus", Kind::U8, Omit::Never},
    {"mem", Kind::U32, Omit::Never},
    {"block_io", Kind::BlockIo, Omit::Never},
    {"disk_durability", Kind::DiskDurability, Omit::Never},
    {"mounts", Kind::AnyVec, Omit::Never},
    {"staged_mounts", Kind::AnyVec, Omit::Never},
    {"staged_mounts_detached_from", Kind::OptAny, Omit::Never},
    {"ports", Kind::AnyVec, Omit::Never},
    {"published_sockets", Kind::ObjectVec, Omit::Never},
    {"network", Kind::Bool, Omit::Never},
    {"gpu", Kind::OptBool, Omit::Never},
    {"nested_virt", Kind::OptBool, Omit::Never},
    {"gpu_vram_mib", Kind::OptU32, Omit::Never},
    {"rosetta", Kind::OptBool, Omit::Never},
    {"restart", Kind::Restart, Omit::Never},
    {"last_exit_code", Kind::OptI32, Omit::Never},
    {"init", Kind::StringVec, Omit::Never},
    {"init_completed", Kind::Bool, Omit::Never},
    {"remote_volumes", Kind::ObjectVec, Omit::Never},
    {"env", Kind::StringPairs, Omit::Never},
    {"secret_refs", Kind::ObjectMap, Omit::IfEmpty},
    {"workdir", Kind::OptString, Omit::Never},
    {"user", Kind::OptString, Omit::IfNone},
    {"storage_gb", Kind::OptU64, Omit::Never},
    {"overlay_gb", Kind::OptU64, Omit::Never},
    {"allowed_cidrs", Kind::OptStringVec, Omit::Never},
    {"network_backend", Kind::OptNetworkBackend, Omit::IfNone},
    {"dns", Kind::OptIpv4, Omit::IfNone},
    {"network_name", Kind::OptString, Omit::IfNone},
    {"image", Kind::OptString, Omit::Never},
    {"entrypoint", Kind::StringVec, Omit::Never},
    {"cmd", Kind::StringVec, Omit::Never},
    {"labels", Kind::StringMap, Omit::IfEmpty},
    {"health_cmd", Kind::OptStringVec, Omit::Never},
    {"health_interval_secs", Kind::OptU64, Omit::Never},
    {"health_timeout_secs", Kind::OptU64, Omit::Never},
    {"health_retries", Kind::OptU32, Omit::Never},
    {"health_startup_grace_secs", Kind::OptU64, Omit::Never},
    {"ssh_agent", Kind::Bool, Omit::Never},
    {"cuda", Kind::Bool, Omit::Never},
    {"forkable", Kind::Bool, Omit::IfFalse},
    {"cuda_fork_pool_size", Kind::OptU32, Omit::IfNone},
    {"cuda_vram_limit_mib", Kind::OptU64, Omit::IfNone},
    {"cuda_preload_modules", Kind::Bool, Omit::IfFalse},
    {"docker_socket", Kind::Bool, Omit::Never},
    {"dns_filter_hosts", Kind::OptStringVec, Omit::IfNone},
    {"ephemeral", Kind::Bool, Omit::Never},
    {"source_smolmachine", Kind::OptString, Omit::IfNone},
    {"golden", Kind::OptString, Omit::IfNone},
    {"forkpoint_held", Kind::Bool, Omit::IfFalse},
    {"fork_env", Kind::StringPairs, Omit::IfEmpty},
    {"runtime_managed", Kind::Bool, Omit::Never},
};

json default_restart() {
  json r = json::object();
  r["policy"] = "never";
  r["max_retries"] = 0u;
  r["max_backoff_secs"] = 0u;
  r["restart_count"] = 0u;
  r["user_stopped"] = false;
  return r;
}

json default_for(const Field& f) {
  switch (f.kind) {
    case Kind::Timestamp: return 0u;
    case Kind::State: return "created";
    case Kind::U8: return 1u;     // default_cpus
    case Kind::U32: return 512u;  // default_mem
    case Kind::U64: return 0u;
    case Kind::Bool: return false;
    case Kind::StringVec: case Kind::StringPairs:
    case Kind::ObjectVec: case Kind::AnyVec:
      return json::array();
    case Kind::StringMap: case Kind::ObjectMap: return json::object();
    case Kind::Restart: return default_restart();
    case Kind::BlockIo: return "sync";
    case Kind::DiskDurability: return "full";
    default: return nullptr;
  }
}

// serde's "unexpected" wording for a JSON value.
Check restart_value(const json& v) {
  if (!v.is_object()) return unexpected(invalid_type(v, "struct RestartConfig"));
  json out = default_restart();
  if (v.contains("policy")) {
    const json& p = v["policy"];
    if (!p.is_string()) return unexpected(invalid_type(p, "variant identifier"));
    static const std::set<std::string> policies = {"never", "always", "on-failure", "unless-stopped"};
    if (policies.count(p.get<std::string>()) == 0) {
      return unexpected("unknown variant `" + p.get<std::string>() +
                        "`, expected one of `never`, `always`, `on-failure`, `unless-stopped`");
    }
    out["policy"] = p;
  }
  for (const char* key : {"max_retries", "restart_count"}) {
    if (!v.contains(key)) continue;
    auto c = unsigned_in(v[key], 0xffffffffULL, "u32");
    if (!c) return c;
    out[key] = *c;
  }
  if (v.contains("max_backoff_secs")) {
    auto c = unsigned_in(v["max_backoff_secs"], std::numeric_limits<std::uint64_t>::max(), "u64");
    if (!c) return c;
    out["max_backoff_secs"] = *c;
  }
  if (v.contains("user_stopped")) {
    auto c = bool_value(v["user_stopped"]);
    if (!c) return c;
    out["user_stopped"] = *c;
  }
  return out;
}

Check check_value(const Field& f, const json& v) {
  const bool optional = f.kind == Kind::OptI32 || f.kind == Kind::OptU32 || f.kind == Kind::OptU64 ||
                        f.kind == Kind::OptBool || f.kind == Kind::OptString ||
                        f.kind == Kind::OptStringVec || f.kind == Kind::OptNetworkBackend ||
                        f.kind == Kind::OptIpv4 || f.kind == Kind::OptAny;
  if (optional && v.is_null()) return json(nullptr);
  switch (f.kind) {
    case Kind::Name: return string_value(v);
    case Kind::Timestamp:
      // deserialize_timestamp: an untagged enum of a numeric string or a u64.
      if (v.is_number_unsigned()) return v;
      if (v.is_string()) {
        const std::string s = v.get<std::string>();
        bool digits = !s.empty();
        for (char c : s) digits = digits && c >= '0' && c <= '9';
        if (digits && s.size() <= 20) {
          try {
            return json(static_cast<std::uint64_t>(std::stoull(s)));
          } catch (const std::exception&) {
          }
        }
        return unexpected(std::string("invalid digit found in string"));
      }
      return unexpected(std::string("data did not match any variant of untagged enum StrOrU64"));
    case Kind::State: {
      if (!v.is_string()) return unexpected(invalid_type(v, "variant identifier"));
      static const std::set<std::string> states = {"created", "running", "stopped", "paused",
                                                   "pausing", "failed", "unreachable", "frozen"};
      if (states.count(v.get<std::string>()) == 0) {
        return unexpected("unknown variant `" + v.get<std::string>() +
                          "`, expected one of `created`, `running`, `stopped`, `paused`, `pausing`, "
                          "`failed`, `unreachable`, `frozen`");
      }
      return v;
    }
    case Kind::U8: return unsigned_in(v, 0xff, "u8");
    case Kind::U32: case Kind::OptU32: return unsigned_in(v, 0xffffffffULL, "u32");
    case Kind::U64: case Kind::OptU64:
      return unsigned_in(v, std::numeric_limits<std::uint64_t>::max(), "u64");
    case Kind::OptI32: return i32_value(v);
    case Kind::Bool: case Kind::OptBool: return bool_value(v);
    case Kind::OptString: return string_value(v);
    case Kind::StringVec: case Kind::OptStringVec: return string_vec(v);
    case Kind::StringPairs:
      return tuple_vec(v, 2, [](std::size_t, const json& e) { return string_value(e); });
    case Kind::StringMap: return sorted_map(v, true);
    case Kind::ObjectMap: return sorted_map(v, false);
    case Kind::ObjectVec: return object_vec(v);
    case Kind::Restart: return restart_value(v);
    case Kind::OptNetworkBackend: {
      if (!v.is_string()) return unexpected(invalid_type(v, "variant identifier"));
      const std::string s = v.get<std::string>();
      if (s != "tsi" && s != "virtio-net") {
        return unexpected("unknown variant `" + s + "`, expected `tsi` or `virtio-net`");
      }
      return v;
    }
    case Kind::BlockIo: case Kind::DiskDurability: {
      const bool io = f.kind == Kind::BlockIo;
      const char* a = io ? "sync" : "full";
      const char* b = io ? "async" : "deferred";
      if (!v.is_string()) return unexpected(invalid_type(v, "variant identifier"));
      const std::string s = v.get<std::string>();
      if (s != a && s != b) return unexpected("unknown variant `" + s + "`, expected `" + a + "` or `" + b + "`");
      return v;
    }
    case Kind::AnyVec:
      // mounts/ports changed shape since 1.9.2 and the sim never makes any: any list is kept as is.
      if (!v.is_array()) return unexpected(invalid_type(v, "a sequence"));
      return v;
    case Kind::OptAny: return v;
    case Kind::OptIpv4: {
      if (!v.is_string()) return unexpected(invalid_type(v, "IPv4 address"));
      in_addr a{};
      if (inet_pton(AF_INET, v.get<std::string>().c_str(), &a) != 1) {
        return unexpected(std::string("invalid IPv4 address syntax"));
      }
      char buf[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, &a, buf, sizeof buf);
      return json(std::string(buf));
    }
  }
  return unexpected(std::string("unsupported field"));
}

bool omitted(const Field& f, const json& v) {
  switch (f.omit) {
    case Omit::Never: return false;
    case Omit::IfNone: return v.is_null();
    case Omit::IfEmpty: return v.empty();
    case Omit::IfFalse: return v.is_boolean() && !v.get<bool>();
  }
  return false;
}

const Field* find_field(const char* key) {
  for (const auto& f : kFields) {
    if (std::string_view(f.key) == key) return &f;
  }
  return nullptr;
}

}  // namespace

VmRecord::VmRecord(const std::string& name) {
  for (const auto& f : kFields) fields_[f.key] = default_for(f);
  fields_["name"] = name;
}

Expected<VmRecord, std::string> VmRecord::parse(std::string_view bytes) {
  // serde rejects a struct with a repeated key; nlohmann would keep the last one.
  std::string duplicate;
  std::set<std::string> seen;
  auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && duplicate.empty()) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second) duplicate = key;
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(bytes.begin(), bytes.end(), on_event);
  } catch (const json::parse_error& e) {
    return unexpected(std::string(e.what()));
  }
  if (!doc.is_object()) return unexpected(invalid_type(doc, "struct VmRecord"));
  if (!duplicate.empty() && find_field(duplicate.c_str()) != nullptr) {
    return unexpected("duplicate field `" + duplicate + "`");
  }
  if (!doc.contains("name")) return unexpected(std::string("missing field `name`"));

  VmRecord r;
  for (const auto& f : kFields) {
    if (!doc.contains(f.key)) {
      r.fields_[f.key] = default_for(f);
      continue;
    }
    auto checked = check_value(f, doc[f.key]);
    if (!checked) return unexpected(checked.error());
    r.fields_[f.key] = std::move(*checked);
  }
  return r;
}

std::string VmRecord::serialize() const {
  json out = json::object();
  for (const auto& f : kFields) {
    const json& v = fields_[f.key];
    if (!omitted(f, v)) out[f.key] = v;
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

const nlohmann::ordered_json& VmRecord::get(const char* key) const {
  static const json null_value;
  auto it = fields_.find(key);
  return it == fields_.end() ? null_value : *it;
}

void VmRecord::set(const char* key, nlohmann::ordered_json value) { fields_[key] = std::move(value); }

std::optional<std::int32_t> VmRecord::pid() const {
  const json& v = get("pid");
  if (v.is_null()) return std::nullopt;
  return static_cast<std::int32_t>(v.get<std::int64_t>());
}

std::optional<std::uint64_t> VmRecord::pid_start_time() const {
  const json& v = get("pid_start_time");
  if (v.is_null()) return std::nullopt;
  return v.get<std::uint64_t>();
}

const std::vector<std::string>& vm_record_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& f : kFields) k.emplace_back(f.key);
    return k;
  }();
  return keys;
}

}  // namespace bs::sim
