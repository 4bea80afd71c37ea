// `machine create`: validate, reserve the name in vm_create_reservations, prepare the data dir
// while reserved, then publish the row (src/cli/machine.rs CreateCmd, src/cli/vm_common.rs).
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "smolvm/sha256.h"
#include "tools/smolvm-sim/cidr.h"
#include "tools/smolvm-sim/machine_cli.h"
#include "tools/smolvm-sim/vm_runtime.h"

namespace bs::sim {
namespace {

using json = nlohmann::ordered_json;

constexpr unsigned kDefaultCpus = 4;
constexpr unsigned kDefaultMem = 8192;
constexpr unsigned kMinMemoryMib = 64;
constexpr std::size_t kMaxNameLength = 128;

Done create(const Machine& m, const ParsedArgs& a);
Done check_create_values(const ParsedArgs& a);

}  // namespace

const Subcommand kCreate = {
    "Create a new named machine configuration",
    {"smolvm machine create [OPTIONS] [-- <COMMAND>...]",
     {{"name", 'n', "NAME"},
      {"label", 0, "KEY=VALUE", true},
      {"image", 'I', "IMAGE"},
      {"from", 0, "PATH"},
      {"cpus", 0, "N"},
      {"mem", 0, "MiB"},
      {"storage", 0, "GiB"},
      {"overlay", 0, "GiB"},
      {"net", 0, ""},
      {"allow-cidr", 0, "CIDR", true},
      {"outbound-localhost-only", 0, ""},
      {"init", 0, "COMMAND", true},
      {"env", 'e', "KEY=VALUE", true},
      {"workdir", 'w', "DIR"}},
     {},
     true},
    create,
    check_create_values};

namespace {

// validate_vm_name (src/data/mod.rs).
std::optional<std::string> name_problem(const std::string& name) {
  const std::string label = "machine name";
  if (name.empty()) return label + " cannot be empty";
  if (name.size() > kMaxNameLength) {
    return label + " too long: " + std::to_string(name.size()) + " characters (max " +
           std::to_string(kMaxNameLength) + ")";
  }
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  auto quoted = [&] { return json(name).dump(); };  // Rust's {:?} of a str
  if (!alnum(name[0])) return label + " must start with a letter or digit (got: " + quoted() + ")";
  if (name.back() == '-') return label + " cannot end with a hyphen (got: " + quoted() + ")";
  bool prev_hyphen = false;
  for (char c : name) {
    if (c == '-') {
      if (prev_hyphen) return label + " cannot contain consecutive hyphens";
      prev_hyphen = true;
    } else {
      prev_hyphen = false;
    }
    if (!alnum(c) && c != '-' && c != '_') {
      if (c == '/' || c == '\\') return label + " cannot contain path separators";
      return label + " contains invalid character: '" + std::string(1, c) + "'";
    }
  }
  return std::nullopt;
}

std::string generate_machine_name() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "vm-%08x", static_cast<unsigned>(rd()));
  return buf;
}

// parse_env_spec: KEY=VALUE; a bare KEY forwards the host's value; malformed entries are skipped.
json parse_env(const std::vector<std::string>& specs, const platform::EnvLookup& env) {
  json out = json::array();
  for (const auto& s : specs) {
    auto eq = s.find('=');
    if (eq == std::string::npos) {
      if (s.empty()) continue;
      if (auto v = env(s)) out.push_back(json::array({s, *v}));
      continue;
    }
    if (eq == 0) continue;
    out.push_back(json::array({s.substr(0, eq), s.substr(eq + 1)}));
  }
  return out;
}

Expected<json, SimError> parse_labels(const std::vector<std::string>& raw) {
  std::map<std::string, std::string> labels;
  for (const auto& entry : raw) {
    auto eq = entry.find('=');
    if (eq == std::string::npos) return unexpected(config_error("--label", "expected KEY=VALUE, got '" + entry + "'"));
    if (eq == 0) return unexpected(config_error("--label", "label key cannot be empty (in '" + entry + "')"));
    labels[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  json out = json::object();
  for (auto& [k, v] : labels) out[k] = v;
  return out;
}

std::string file_hash16(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return smolvm::sha256_hex(ss.str()).substr(0, 16);
}

std::uint64_t unix_now() { return static_cast<std::uint64_t>(std::time(nullptr)); }

struct Resources {
  unsigned long long cpus = kDefaultCpus;
  unsigned long long mem = kDefaultMem;
  std::optional<unsigned long long> storage, overlay;
};

Expected<Resources, SimError> parse_resources(const ParsedArgs& a) {
  Resources r;
  const auto& spec = kCreate.spec;
  if (auto v = a.one("cpus")) {
    auto n = parse_unsigned_flag(*v, flag_spec(spec, "cpus"), 255);
    if (!n) return unexpected(n.error());
    r.cpus = *n;
  }
  if (auto v = a.one("mem")) {
    auto n = parse_unsigned_flag(*v, flag_spec(spec, "mem"), 0xffffffffULL);
    if (!n) return unexpected(n.error());
    r.mem = *n;
  }
  for (const char* key : {"storage", "overlay"}) {
    if (auto v = a.one(key)) {
      auto n = parse_unsigned_flag(*v, flag_spec(spec, key), ULLONG_MAX);
      if (!n) return unexpected(n.error());
      (std::string(key) == "storage" ? r.storage : r.overlay) = *n;
    }
  }
  return r;
}

// VmResources::validate.
Done validate_resources(const Resources& r) {
  if (r.cpus == 0) return config_error("validate resources", "CPU count must be at least 1");
  if (r.mem < kMinMemoryMib) {
    return config_error("validate resources", "memory must be at least " + std::to_string(kMinMemoryMib) +
                                                  " MiB (got " + std::to_string(r.mem) + " MiB)");
  }
  if (r.storage && *r.storage == 0) return config_error("validate resources", "storage disk size must be greater than 0 GiB");
  if (r.overlay && *r.overlay == 0) return config_error("validate resources", "overlay disk size must be greater than 0 GiB");
  return std::nullopt;
}

Expected<json, SimError> parse_cidrs(const ParsedArgs& a) {
  json cidrs = json::array();
  for (const auto& raw : a.all("allow-cidr")) {
    auto c = parse_cidr(raw);
    if (!c) return unexpected(invalid_value(raw, flag_spec(kCreate.spec, "allow-cidr"), c.error()));
    cidrs.push_back(*c);
  }
  return cidrs;
}

// clap's value parsers and conflicts: a bad CIDR or number is an exit-2 usage error before any work.
Done check_create_values(const ParsedArgs& a) {
  if (a.has("from") && a.has("image")) {
    return usage_error("the argument '--from <PATH>' cannot be used with '--image <IMAGE>'\n\nUsage: " +
                       kCreate.spec.usage + "\n\nFor more information, try '--help'.");
  }
  if (auto c = parse_cidrs(a); !c) return c.error();
  if (auto r = parse_resources(a); !r) return r.error();
  return std::nullopt;
}

Done create(const Machine& m, const ParsedArgs& a) {
  auto parsed_cidrs = parse_cidrs(a);  // already checked: cannot fail here
  if (!parsed_cidrs) return parsed_cidrs.error();
  json cidrs = *parsed_cidrs;
  auto res = parse_resources(a);
  if (!res) return res.error();

  const std::optional<std::string> from = a.one("from");
  std::string canonical_from;
  if (from) {
    std::error_code ec;
    if (!std::filesystem::exists(*from, ec)) {
      return config_error("create from .smolmachine", "file not found: " + *from);
    }
    auto canon = std::filesystem::canonical(*from, ec);
    canonical_from = ec ? *from : canon.string();
  }
  if (m.knobs.fail_create) return config_error("create machine", *m.knobs.fail_create);

  // resolve_egress_flags: any egress policy turns networking on; an empty list is stored as null.
  if (a.has("outbound-localhost-only")) {
    cidrs.push_back("127.0.0.0/8");
    cidrs.push_back("::1/128");
  }
  bool network = a.has("net") || !cidrs.empty();
  json allowed = cidrs.empty() ? json(nullptr) : cidrs;
  if (from && m.knobs.drop_from_cidrs) {
    // smolvm < 1.8.0 (fixed by f8a6fa62): --from hard-coded allowed_cidrs None, net = --net.
    allowed = nullptr;
    network = a.has("net");
  }
  if (auto e = validate_resources(*res)) return e;

  const std::string name = a.one("name").value_or(generate_machine_name());
  if (auto problem = name_problem(name)) return config_error("create machine", *problem);
  auto labels = parse_labels(a.all("label"));
  if (!labels) return labels.error();

  VmRecord record(name);
  record.set("created_at", unix_now());
  record.set("cpus", res->cpus);
  record.set("mem", res->mem);
  record.set("network", network);
  record.set("init", json(a.all("init")));
  record.set("env", parse_env(a.all("env"), m.env));
  if (auto w = a.one("workdir")) record.set("workdir", *w);
  if (res->storage) record.set("storage_gb", *res->storage);
  if (res->overlay) record.set("overlay_gb", *res->overlay);
  record.set("allowed_cidrs", allowed);
  record.set("cmd", json(a.trailing));
  record.set("labels", *labels);
  if (from) {
    record.set("image", "local:" + file_hash16(canonical_from));
    record.set("source_smolmachine", canonical_from);
  } else if (auto image = a.one("image")) {
    record.set("image", *image);
    // 1.32.2 accepts a registry image without networking at create time (checked: `--image
    // alpine` without --net is created with network false).
  }

  auto db = m.open_db();
  if (!db) return db.error();
  const std::string token = create_reservation_token();
  auto reserved = db->reserve_vm_create(name, token);
  if (!reserved) return reserved.error();
  if (!*reserved) return config_error("create machine", "machine '" + name + "' already exists or is being created");

  // Only --from prepares the data dir at create (its assets live there), while the name is
  // reserved; otherwise 1.32.2 leaves it to the first start.
  if (auto e = from ? ensure_vm_dir(VmFiles::of(m.paths, name), name) : Done{}) {
    (void)db->release_vm_create_reservation(name, token);
    return e;
  }
  if (from) std::printf("Extracting .smolmachine assets...\n");
  auto committed = db->commit_reserved_vm(name, token, record);
  if (!committed) {
    (void)db->release_vm_create_reservation(name, token);
    return committed.error();
  }
  if (!*committed) {
    (void)db->release_vm_create_reservation(name, token);
    return config_error("create machine", "machine '" + name + "' already exists or is no longer reserved");
  }

  std::printf("Created machine: %s\n", name.c_str());
  std::printf("  CPUs: %llu, Memory: %llu MiB\n", res->cpus, res->mem);
  if (!a.all("init").empty()) std::printf("  Init commands: %zu\n", a.all("init").size());
  std::printf("\nUse 'smolvm machine start --name %s' to start the machine\n", name.c_str());
  std::printf("Then use 'smolvm machine exec --name %s -- <command>' to run commands\n", name.c_str());
  return std::nullopt;
}

}  // namespace
}  // namespace bs::sim
