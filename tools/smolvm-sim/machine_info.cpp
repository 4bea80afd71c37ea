// The read-only subcommands: `machine ls`, `machine status`, `machine data-dir`. They show the
// resolved state but never write it back (src/cli/vm_common.rs list_vms, status_vm, DataDirCmd).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "tools/smolvm-sim/machine_cli.h"
#include "tools/smolvm-sim/vm_process.h"
#include "tools/smolvm-sim/vm_runtime.h"

namespace bs::sim {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;  // std::map keys: serde_json's default (sorted) Map

constexpr std::uint64_t kDefaultStorageGib = 20;
constexpr std::uint64_t kDefaultOverlayGib = 10;

Done ls(const Machine& m, const ParsedArgs& a);
Done status(const Machine& m, const ParsedArgs& a);
Done data_dir(const Machine& m, const ParsedArgs& a);

}  // namespace

const Subcommand kLs = {"List all machines",
                        {"smolvm machine ls [OPTIONS]", {{"verbose", 'v', ""}, {"json", 0, ""}}, {}, false},
                        ls};
const Subcommand kStatus = {"Show machine status",
                            {"smolvm machine status [OPTIONS]", {{"name", 'n', "NAME"}, {"json", 0, ""}}, {}, false},
                            status};
const Subcommand kDataDir = {"Print the on-disk data directory for a named machine",
                             {"smolvm machine data-dir --name <NAME>", {{"name", 'n', "NAME"}}, {"name"}, false},
                             data_dir};

namespace {

bool flag(const VmRecord& r, const char* key) {
  const auto& v = r.get(key);
  return v.is_boolean() && v.get<bool>();
}

// The data dir's vmm-exit.json (how the last VM process ended), or null when there is none or it
// does not parse.
json last_exit(const Machine& m, const std::string& name) {
  std::ifstream in(VmFiles::of(m.paths, name).vmm_exit);
  if (!in) return nullptr;
  std::ostringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  return j.is_object() ? j : json(nullptr);
}

// `  last exit: VMM killed by SIGKILL` (observed); the exit-code form is the binary's other string.
std::string describe_exit(const json& e) {
  if (e.value("cause", "") == "killed") return "killed by " + e.value("signal_name", std::string("?"));
  const auto code = e.find("exit_code");
  return "exited with code " + (code != e.end() ? code->dump() : std::string("?"));
}

// machine_status_json: the object shared by `ls --json` and `status --json`.
json status_json(const Machine& m, const std::string& name, const VmRecord& r) {
  json o = json::object();
  o["name"] = name;
  o["state"] = resolve_state(r);
  o["cpus"] = r.get("cpus");
  o["memory_mib"] = r.get("mem");
  o["pid"] = r.get("pid");  // raw: may be non-null while the state says stopped
  o["mounts"] = r.get("mounts").size();
  o["ports"] = r.get("ports").size();
  o["created_at"] = r.get("created_at");
  o["storage_gb"] = r.get("storage_gb");
  o["overlay_gb"] = r.get("overlay_gb");
  o["image"] = r.get("image");
  o["entrypoint"] = r.get("entrypoint");
  o["cmd"] = r.get("cmd");
  o["ephemeral"] = r.get("ephemeral");
  o["gpu"] = flag(r, "gpu");
  o["gpu_vram_mib"] = r.get("gpu_vram_mib");
  o["cuda"] = r.get("cuda");
  o["forkable"] = flag(r, "forkable") || (r.get("golden").is_null() && !r.get("cuda_fork_pool_size").is_null());
  o["cuda_fork_pool_size"] = r.get("cuda_fork_pool_size");
  o["cuda_vram_limit_mib"] = r.get("cuda_vram_limit_mib");
  o["forkpoint_held"] = r.get("forkpoint_held");
  o["labels"] = r.get("labels");
  o["restart_policy"] = r.get("restart")["policy"];
  o["restart_max_retries"] = r.get("restart")["max_retries"];
  o["restart_count"] = r.get("restart")["restart_count"];
  const auto& hc = r.get("health_cmd");
  if (hc.is_array() && hc.size() == 3 && hc[0] == "sh" && hc[1] == "-c") {
    o["health_cmd"] = hc[2];
  } else if (hc.is_array()) {
    std::string joined;
    for (const auto& part : hc) joined += (joined.empty() ? "" : " ") + part.get<std::string>();
    o["health_cmd"] = joined;
  } else {
    o["health_cmd"] = nullptr;
  }
  o["health_interval_secs"] = r.get("health_interval_secs");
  o["health_timeout_secs"] = r.get("health_timeout_secs");
  o["health_retries"] = r.get("health_retries");
  o["health_startup_grace_secs"] = r.get("health_startup_grace_secs");
  o["network"] = r.get("network");
  // Keys smolvm 1.32.2 added; the sim never makes branches, disks or detached workloads.
  if (!r.get("allowed_cidrs").is_null()) o["allowed_cidrs"] = r.get("allowed_cidrs");
  o["block_io"] = r.get("block_io");
  o["disk_durability"] = r.get("disk_durability");
  o["branchable"] = false;
  o["branchpoint_held"] = false;
  o["cuda_branch_pool_size"] = nullptr;
  o["detached"] = false;
  o["disks"] = json::array();
  o["parent_machine"] = nullptr;
  o["state_reason"] = nullptr;
  // vmm-exit.json as it is (keys sorted), only when there is one.
  if (json e = last_exit(m, name); !e.is_null()) o["last_exit"] = e;
  return o;
}

std::string pretty(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

std::string rfc3339(std::uint64_t secs) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void print_verbose(const VmRecord& r) {
  if (auto pid = r.pid()) std::printf("  PID: %d\n", *pid);
  // Mounts and ports are never made by the sim (their 1.32.2 shape is not modelled).
  if (flag(r, "network")) std::printf("  Network: enabled\n");
  for (const auto& c : r.get("init")) std::printf("  Init: %s\n", c.get<std::string>().c_str());
  for (const auto& e : r.get("env")) {
    std::printf("  Env: %s=%s\n", e[0].get<std::string>().c_str(), e[1].get<std::string>().c_str());
  }
  if (r.get("workdir").is_string()) std::printf("  Workdir: %s\n", r.get("workdir").get<std::string>().c_str());
  std::printf("  Created: %s\n\n", rfc3339(r.get("created_at").get<std::uint64_t>()).c_str());
}

Done ls(const Machine& m, const ParsedArgs& a) {
  auto db = m.open_db();
  if (!db) return db.error();
  auto vms = db->list_vms();
  if (!vms) return vms.error();
  // 1.32.2 lists machines by name.
  std::sort(vms->begin(), vms->end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  if (vms->empty()) {
    std::printf("%s\n", a.has("json") ? "[]" : "No machines found");
    return std::nullopt;
  }
  if (a.has("json")) {
    json arr = json::array();
    for (const auto& [name, rec] : *vms) arr.push_back(status_json(m, name, rec));
    std::printf("%s\n", pretty(arr).c_str());
    return std::nullopt;
  }
  // The NAME column is as wide as the longest name (at least "NAME"); nothing is truncated.
  int w = 4;
  for (const auto& row : *vms) w = std::max(w, static_cast<int>(row.first.size()));
  std::printf("%-*s %-12s %5s %10s %7s %7s %8s %8s  %-13s\n", w, "NAME", "STATE", "CPUS", "MEMORY", "MOUNTS", "PORTS", "STORAGE", "OVERLAY",
              "BRANCHED FROM");
  std::printf("%s\n", std::string(static_cast<std::size_t>(w) + 79, '-').c_str());
  for (const auto& row : *vms) {
    const std::string& name = row.first;
    const VmRecord& rec = row.second;  // a plain reference: clang 14 cannot capture structured bindings
    std::string state = resolve_state(rec);
    if (rec.ephemeral()) state += " (eph)";
    auto gib = [&](const char* key, std::uint64_t dflt) {
      return std::to_string(rec.get(key).is_null() ? dflt : rec.get(key).get<std::uint64_t>()) + " GiB";
    };
    std::printf("%-*s %-12s %5s %10s %7zu %7zu %8s %8s  %-13s\n", w, name.c_str(), state.c_str(), rec.get("cpus").dump().c_str(),
                (rec.get("mem").dump() + " MiB").c_str(), rec.get("mounts").size(), rec.get("ports").size(),
                gib("storage_gb", kDefaultStorageGib).c_str(), gib("overlay_gb", kDefaultOverlayGib).c_str(), "-");
    if (a.has("verbose")) print_verbose(rec);
  }
  return std::nullopt;
}

Done status(const Machine& m, const ParsedArgs& a) {
  const std::optional<std::string> name = a.one("name");
  const std::string label = name.value_or("default");
  auto db = m.open_db();
  if (!db) return db.error();
  if (a.has("json")) {
    auto vms = db->list_vms();
    if (!vms) return vms.error();
    for (const auto& [n, rec] : *vms) {
      if (n == label) {
        std::printf("%s\n", pretty(status_json(m, n, rec)).c_str());
        return std::nullopt;
      }
    }
    return config_error("machine status", "machine '" + label + "' not found");
  }
  // A live agent answers first (its pid from agent.pid, shown only when strictly verified).
  const VmFiles files = VmFiles::of(m.paths, label);
  // 1.32.2's status makes the (empty) data dir of the name it checks, even for an unknown name.
  std::error_code ec;
  std::filesystem::create_directories(files.dir, ec);
  if (auto pf = read_pid_file(files.agent_pid);
      pf && is_our_process_strict(pf->pid, pf->start_time) && cmdline_contains(pf->pid, files.boot_config)) {
    std::printf("Machine '%s': running (PID: %d)\n", label.c_str(), pf->pid);
    return std::nullopt;
  }
  if (!name) {
    std::printf("Machine 'default': not running\n");
    return std::nullopt;
  }
  // smolvm reads the row with .ok().flatten(): an unreadable row reads as "not found" here.
  auto got = db->get_vm(*name);
  if (!got || !got->has_value()) return vm_not_found(*name);

  std::printf("Machine '%s': %s\n", label.c_str(), resolve_state(**got).c_str());
  if (json e = last_exit(m, label); !e.is_null()) std::printf("  last exit: VMM %s\n", describe_exit(e).c_str());
  return std::nullopt;
}

Done data_dir(const Machine& m, const ParsedArgs& a) {
  const std::string name = *a.one("name");
  auto db = m.open_db();
  if (!db) return db.error();
  auto vms = db->list_vms();
  if (!vms) return vms.error();
  for (const auto& [n, rec] : *vms) {
    if (n == name) {
      std::printf("%s\n", VmFiles::of(m.paths, name).dir.c_str());
      return std::nullopt;
    }
  }
  return vm_not_found(name);
}

}  // namespace
}  // namespace bs::sim
