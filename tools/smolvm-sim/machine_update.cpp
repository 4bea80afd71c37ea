// `machine update`: change a stopped (or never started) machine's egress settings and resources,
// as smolvm 1.32.2 does (checked against the real binary): any allow entry turns networking on,
// removing the last CIDR is refused unless --net says "allow everything" (then null is stored),
// --no-net turns networking off and clears the list. A running machine's allow list is changed
// live through its egress.sock in 1.32.2; the sim's VMs have none, so that fails exactly as it
// does for a real VM without one, and the row is left alone.
#include <algorithm>
#include <cstdio>

#include "tools/smolvm-sim/cidr.h"
#include "tools/smolvm-sim/machine_cli.h"
#include "tools/smolvm-sim/vm_runtime.h"

namespace bs::sim {
namespace {

using json = nlohmann::ordered_json;

Done update(const Machine& m, const ParsedArgs& a);
Done check_update_values(const ParsedArgs& a);

}  // namespace

const Subcommand kUpdate = {
    "Modify settings on a stopped machine (mounts, ports, resources, disks)",
    {"smolvm machine update [OPTIONS] --name <NAME>",
     {{"name", 'n', "NAME"},
      {"cpus", 0, "N"},
      {"mem", 0, "MiB"},
      {"net", 0, ""},
      {"no-net", 0, ""},
      {"allow-cidr", 0, "CIDR", true},
      {"outbound-localhost-only", 0, ""},
      {"remove-allow-cidr", 0, "CIDR", true},
      {"reset-allow-list", 0, ""}},
     {"name"},
     false},
    update,
    check_update_values};

namespace {

constexpr unsigned kMinMemoryMib = 64;

SimError conflict(const std::string& a, const std::string& b, const std::string& shown) {
  return usage_error("the argument '" + a + "' cannot be used with '" + b + "'\n\nUsage: smolvm machine update --name <NAME> " +
                     shown + "\n\nFor more information, try '--help'.");
}

Expected<std::vector<std::string>, SimError> cidr_values(const ParsedArgs& a, const std::string& flag) {
  std::vector<std::string> out;
  for (const auto& raw : a.all(flag)) {
    auto c = parse_cidr(raw);
    if (!c) return unexpected(invalid_value(raw, flag_spec(kUpdate.spec, flag), c.error()));
    out.push_back(*c);
  }
  return out;
}

Done check_update_values(const ParsedArgs& a) {
  if (a.has("net") && a.has("no-net")) return conflict("--net", "--no-net", "--net");
  if (a.has("allow-cidr") && a.has("no-net")) return conflict("--allow-cidr <CIDR>", "--no-net", "--allow-cidr <CIDR>");
  for (const char* flag : {"allow-cidr", "remove-allow-cidr"}) {
    if (auto c = cidr_values(a, flag); !c) return c.error();
  }
  for (const char* flag : {"cpus", "mem"}) {
    if (auto v = a.one(flag)) {
      auto n = parse_unsigned_flag(*v, flag_spec(kUpdate.spec, flag), std::string(flag) == "cpus" ? 255 : 0xffffffffULL);
      if (!n) return n.error();
    }
  }
  return std::nullopt;
}

bool egress_flags(const ParsedArgs& a) {
  return a.has("allow-cidr") || a.has("remove-allow-cidr") || a.has("outbound-localhost-only") ||
         a.has("reset-allow-list");
}

std::string capitalized(std::string state) {
  if (!state.empty() && state[0] >= 'a' && state[0] <= 'z') state[0] = static_cast<char>(state[0] - 'a' + 'A');
  return state;
}

std::string joined(const json& list) {
  std::string out;
  for (const auto& c : list) out += (out.empty() ? "" : ", ") + c.get<std::string>();
  return out;
}

// The update applied to one copy of the record: the lines to print, or smolvm's refusal.
Expected<std::vector<std::string>, SimError> apply(const ParsedArgs& a, const std::string& name, VmRecord& r) {
  std::vector<std::string> changes;
  if (auto v = a.one("cpus")) {
    const unsigned long long n = std::stoull(*v);
    if (n == 0) return unexpected(config_error("validate resources", "CPU count must be at least 1"));
    if (json(n) != r.get("cpus")) changes.push_back("cpus: " + r.get("cpus").dump() + " \xe2\x86\x92 " + std::to_string(n));
    r.set("cpus", n);
  }
  if (auto v = a.one("mem")) {
    const unsigned long long n = std::stoull(*v);
    if (n < kMinMemoryMib) {
      return unexpected(config_error("validate resources", "memory must be at least " + std::to_string(kMinMemoryMib) +
                                                               " MiB (got " + std::to_string(n) + " MiB)"));
    }
    if (json(n) != r.get("mem")) {
      changes.push_back("memory: " + r.get("mem").dump() + " MiB \xe2\x86\x92 " + std::to_string(n) + " MiB");
    }
    r.set("mem", n);
  }
  if (a.has("no-net")) {
    changes.push_back("network: disabled");
    if (!r.get("allowed_cidrs").is_null()) changes.push_back("cleared allow_cidrs");
    r.set("network", false);
    r.set("allowed_cidrs", nullptr);
    return changes;
  }
  if (a.has("net")) {
    changes.push_back("network: enabled");
    r.set("network", true);
  }
  if (!egress_flags(a)) return changes;

  const json before = r.get("allowed_cidrs").is_null() ? json::array() : r.get("allowed_cidrs");
  json list = a.has("reset-allow-list") ? json::array() : before;
  auto removed = cidr_values(a, "remove-allow-cidr");  // checked by check_update_values
  if (!removed) return unexpected(removed.error());
  for (const auto& gone : *removed) {
    auto it = std::find(list.begin(), list.end(), json(gone));
    if (it == list.end()) {
      return unexpected(config_error("update", "'" + gone + "' is not in machine '" + name + "''s allowed CIDRs"));
    }
    list.erase(it);
  }
  auto parsed_added = cidr_values(a, "allow-cidr");
  if (!parsed_added) return unexpected(parsed_added.error());
  std::vector<std::string> added = *parsed_added;
  if (a.has("outbound-localhost-only")) {
    added.push_back("127.0.0.0/8");
    added.push_back("::1/128");
  }
  for (const auto& c : added) {
    if (std::find(list.begin(), list.end(), json(c)) == list.end()) list.push_back(c);
  }
  if (list == before) return changes;
  if (list.empty()) {
    if (!a.has("net")) {
      return unexpected(config_error(
          "update",
          "removing the last allowed host or CIDR would allow egress to every host; say so explicitly (--net on the "
          "CLI, allowAll on the API), or turn networking off instead"));
    }
    r.set("allowed_cidrs", nullptr);
    changes.push_back("allowed CIDRs: any");
    return changes;
  }
  r.set("allowed_cidrs", list);
  r.set("network", true);
  changes.push_back("allowed CIDRs: " + joined(list));
  return changes;
}

Done update(const Machine& m, const ParsedArgs& a) {
  const std::string name = *a.one("name");
  auto db = m.open_db();
  if (!db) return db.error();
  auto got = db->get_vm(name);
  if (!got) return got.error();
  if (!got->has_value()) return config_error("update", "machine '" + name + "' not found");
  const std::string state = resolve_state(**got);
  if (state == "running" && egress_flags(a) && !a.has("cpus") && !a.has("mem")) {
    // 1.32.2 changes a running VM's allow list live over <data dir>/egress.sock; no sim VM has one.
    return config_error("egress policy", "could not change machine '" + name +
                                             "''s allow list while it runs: No such file or directory (os error 2); "
                                             "a machine started before live changes were supported needs a restart");
  }
  if (state != "created" && state != "stopped") return SimError{"invalid vm state: expected stopped, got " + capitalized(state), 1};

  VmRecord preview = **got;
  auto changes = apply(a, name, preview);
  if (!changes) return changes.error();
  if (changes->empty()) {
    std::printf("No changes specified.\n");
    return std::nullopt;
  }
  // The write re-applies the update to the row as it is inside the transaction.
  std::optional<SimError> failed;
  auto written = db->update_vm(name, [&](VmRecord& r) {
    VmRecord next = r;
    auto applied = apply(a, name, next);
    if (!applied) {
      failed = applied.error();
      return;
    }
    changes = std::move(applied);
    r = std::move(next);
  });
  if (!written) return written.error();
  if (!*written) return config_error("update", "machine '" + name + "' not found");
  if (failed) return failed;
  std::printf("Updated machine '%s':\n", name.c_str());
  for (const auto& line : *changes) std::printf("  %s\n", line.c_str());
  std::printf("\nStart with: smolvm machine start --name %s\n", name.c_str());
  return std::nullopt;
}

}  // namespace
}  // namespace bs::sim
