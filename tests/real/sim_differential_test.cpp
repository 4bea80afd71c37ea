// smolvm-sim against real smolvm, one table of CLI steps run by both, each case in a fresh temp
// HOME per binary. Compared: each step's exit code, stdout and stderr (without smolvm's `note: no
// packed assets` line, the HOME replaced by $HOME, log timestamps and pids masked, created_at
// zeroed in JSON output), the `vms` rows afterwards (BLOB or not, key order and values, created_at
// zeroed) and the files smolvm left under ~/.cache/smolvm and ~/.local/share/smolvm (the DB files
// aside; agent.config.json and vmm-exit.json with their contents).
//
// What real smolvm leaves that the sim deliberately does not make is named once in kRealOnlyFiles
// (tools/smolvm-sim/README.md, "Deliberate simplifications"): those files are taken out of real's
// list, and each must still show up in this run, so a mark goes the day its difference does.
// A case whose `known` is set is a difference the sim keeps on purpose: it is reported, not
// failed, as long as it shows exactly where `where` says, and the test fails the day it
// disappears. Everything else must agree.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <regex>
#include <sstream>
#include <thread>

#include "platform/identity.h"
#include "real/real_smolvm.h"
#include "smolvm/running_vm.h"
#include "support/poll.h"

using namespace bs::real;

namespace {
namespace fs = std::filesystem;

using Args = std::vector<std::string>;
using OJson = nlohmann::ordered_json;

struct Step {
  // Implicit: the table's plain steps are just their arguments.
  Step(Args a) : args(std::move(a)) {}                                 // NOLINT(google-explicit-constructor)
  Step(std::initializer_list<std::string> a) : args(a) {}              // NOLINT(google-explicit-constructor)
  Step(Args a, Env e) : args(std::move(a)), env(std::move(e)) {}
  Args args;
  Env env;      // added to both binaries' environment
  Env sim_env;  // the sim only: how this host treats a real VM (it cannot boot here)
  // SIGKILL the VM as soon as the data dir's agent.pid names it and it has read its
  // boot-config.json (identity checked: pid, start time, `_boot-vm <data dir>/boot-config.json`
  // argv), before its agent answers: a start that
  // fails the same way on any host, in well under the 30 s a VM that hangs at boot costs real.
  std::string kill_vm_of;
  // When set, stderr's `Error: ...` line is compared only up to this prefix: what follows quotes
  // the VMM's last log line, which only real has.
  std::string error_prefix;
};

// Which files are compared: all of them, or only the VM data dirs' files the supervisor reads
// (after a boot, real also leaves disks, sockets, logs and ~/.cache/smolvm/uids, which the sim
// does not make: README "Data dir contents").
enum class FileScope { All, AgentFiles };

struct Case {
  std::string name;
  std::vector<Step> steps;
  std::string known = "";  // a difference kept on purpose, "" when the sim must match
  // Where it shows: "stepN" (the Nth step's exit code or output), "rows", "files"; a known case
  // that differs anywhere else fails like an unmarked one.
  std::string where = "";
  FileScope files = FileScope::All;
};

Args create(const std::string& name, Args more = {}) {
  Args a = {"machine", "create", "--name", name};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}
Args update(const std::string& name, Args more) {
  Args a = {"machine", "update", "--name", name};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}
Args cmd(const std::string& sub, const std::string& name, Args more = {}) {
  Args a = {"machine", sub, "--name", name};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}
Step by_env_name(Args a, const std::string& name) { return Step(std::move(a), {{"SMOLVM_MACHINE_NAME", name}}); }
// `machine start` whose VM dies at boot: real's is killed by us (it would hang for 30 s here),
// and so is the sim's, whose VM is told to take longer than that to answer.
Step start_killed_at_boot(const std::string& name) {
  Step s(cmd("start", name));
  s.sim_env = {{"SMOLVM_SIM_READY_MS", "20000"}};
  s.kill_vm_of = name;
  s.error_prefix = "Error: agent operation failed: start machine: agent operation failed: monitor agent: ";
  return s;
}

// What real smolvm leaves and the sim does not, on purpose: (what, why, path pattern).
struct RealOnlyFiles {
  std::string what;
  std::regex path;  // relative to HOME; a directory that holds nothing else goes with them
};
const std::vector<RealOnlyFiles>& real_only_files() {
  static const std::vector<RealOnlyFiles> kinds = {
      {"real's usage telemetry ~/.local/share/smolvm/usage/{events.jsonl,install_id}: nothing a supervisor reads",
       std::regex("^/\\.local/share/smolvm/usage/.*")},
      {"real's ~/.cache/smolvm/vms/.<name>.fork-operation.lock (stop/delete; the fork pools it guards are not "
       "modelled)",
       std::regex("^/\\.cache/smolvm/vms/\\.[^/]*\\.fork-operation\\.lock$")},
      {"real extracts its agent rootfs into ~/.cache/smolvm/rootfs/ (with vms/.artifact-cache.lock) on delete: the "
       "sim has no agent",
       std::regex("^/\\.cache/smolvm/(rootfs/.*|vms/\\.artifact-cache\\.lock)$")},
  };
  return kinds;
}

const std::string kIpv4 = "127.0.0.16/32";

// clang-format off
const std::vector<Case> kCases = {
  {"create, defaults",                    {create("t1")}},
  {"create, image cpus mem",              {create("t1", {"--image", "alpine:3.20", "--cpus", "1", "--mem", "512"})}},
  {"create, the supervisor's shape",      {create("t1", {"--image", "alpine:3.20", "--cpus", "1", "--mem", "512", "--net", "--allow-cidr", kIpv4})}},
  {"create, --allow-cidr without --net",  {create("t1", {"--allow-cidr", kIpv4})}},
  {"create, two CIDRs, one not canonical", {create("t1", {"--net", "--allow-cidr", "10.1.2.3/8", "--allow-cidr", kIpv4})}},
  {"create, --net only (unrestricted)",   {create("t1", {"--net"})}},
  {"create, duplicate",                   {create("t1"), create("t1")}},
  {"create, name with doubled hyphen",    {create("bad--name")}},
  {"create, name with upper case",        {create("Bad")}},
  {"create, --from a missing file",       {create("t1", {"--from", "/nonexistent/x.smolmachine"})}},
  {"data-dir",                            {create("t1"), cmd("data-dir", "t1")}},
  {"data-dir, unknown machine",           {cmd("data-dir", "nope")}},
  {"ls --json, empty",                    {{"machine", "ls", "--json"}}},
  {"ls --json, one machine",              {create("t1", {"--net", "--allow-cidr", kIpv4}), {"machine", "ls", "--json"}}},
  {"status -n",                           {create("t1"), {"machine", "status", "-n", "t1"}, {"machine", "status", "-n", "t1", "--json"}}},
  {"status -n, unknown machine",          {{"machine", "status", "-n", "nope"}}},
  {"stop, never started",                 {create("t1"), cmd("stop", "t1")}},
  {"start, unknown machine",              {cmd("start", "nope")}},
  {"start, the VM dies at boot",          {create("t1", {"--net", "--allow-cidr", kIpv4}), start_killed_at_boot("t1"), {"machine", "status", "-n", "t1"},
                                           {"machine", "status", "-n", "t1", "--json"}, {"machine", "ls", "--json"}},
                                          "", "", FileScope::AgentFiles},
  {"delete -f",                           {create("t1"), cmd("delete", "t1", {"-f"})}},
  {"delete -f, unknown machine",          {cmd("delete", "nope", {"-f"})}},
  {"delete without -f, stdin not a terminal",
                                          {create("t1"), cmd("delete", "t1")}},
  {"SMOLVM_MACHINE_NAME fills in --name", {by_env_name({"machine", "create"}, "t1"), by_env_name({"machine", "status"}, "t1"),
                                           by_env_name({"machine", "data-dir"}, "t1"), by_env_name({"machine", "update", "--allow-cidr", kIpv4}, "t1"),
                                           by_env_name({"machine", "stop"}, "t1"), by_env_name({"machine", "delete", "-f"}, "t1")}},
  {"SMOLVM_MACHINE_NAME, an explicit --name wins",
                                          {create("t1"), by_env_name(cmd("data-dir", "t1"), "t2"), by_env_name({"machine", "data-dir"}, "t2")}},
  {"update, open to any (--net --reset-allow-list)",
                                          {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--net", "--reset-allow-list"})}},
  {"update, --reset-allow-list alone is refused",
                                          {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--reset-allow-list"})}},
  {"update, add a CIDR",                  {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--allow-cidr", "127.0.0.17/32"})}},
  {"update, add a CIDR already there",    {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--allow-cidr", kIpv4})}},
  {"update, remove one of two CIDRs",     {create("t1", {"--net", "--allow-cidr", kIpv4, "--allow-cidr", "127.0.0.17/32"}), update("t1", {"--remove-allow-cidr", kIpv4})}},
  {"update, remove the last CIDR is refused",
                                          {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--remove-allow-cidr", kIpv4})}},
  {"update, remove the last CIDR with --net",
                                          {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--remove-allow-cidr", kIpv4, "--net"})}},
  {"update, remove an absent CIDR is refused",
                                          {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--remove-allow-cidr", "10.0.0.0/8"})}},
  {"update, replace the CIDR (add and remove at once)",
                                          {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--allow-cidr", "127.0.0.17/32", "--remove-allow-cidr", kIpv4})}},
  {"update, an allow entry turns networking on",
                                          {create("t1"), update("t1", {"--allow-cidr", kIpv4})}},
  {"update, --outbound-localhost-only",   {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--outbound-localhost-only"})}},
  {"update, --no-net",                    {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--no-net"})}},
  {"update, --net on an unrestricted machine",
                                          {create("t1", {"--net"}), update("t1", {"--net"})}},
  {"update, --cpus --mem",                {create("t1", {"--net", "--allow-cidr", kIpv4}), update("t1", {"--cpus", "2", "--mem", "1024"})}},
  {"update, nothing to do",               {create("t1"), update("t1", {})}},
  {"update, --net with --no-net (clap conflict)",
                                          {create("t1"), update("t1", {"--net", "--no-net"})}},
  {"update, --allow-cidr with --no-net (clap conflict)",
                                          {create("t1"), update("t1", {"--allow-cidr", kIpv4, "--no-net"})}},
  {"update, a malformed CIDR",            {create("t1"), update("t1", {"--allow-cidr", "127.0.0.300/32"})}},
  {"update, unknown machine",             {update("nope", {"--net"})}},
  {"update without --name (clap: required argument)",
                                          {{"machine", "update", "--allow-cidr", kIpv4}},
   "clap's usage line: the sim prints the subcommand's whole usage (`smolvm machine update [OPTIONS] --name <NAME>`), "
   "real the required arguments plus the ones given; only the text of an exit-2 usage error, which no supervisor parses",
   "step1"},
};
// clang-format on

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

// Values that differ from run to run: created_at, and in a last_exit (vmm-exit.json) the VM's pid
// and when it ended.
void zero_created_at(OJson& j, bool in_last_exit = false) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      const bool varies = k == "created_at" || k == "exited_at_unix_ms" || (in_last_exit && k == "pid");
      if (varies && v.is_number()) v = 0;
      else zero_created_at(v, k == "last_exit");
    }
  } else if (j.is_array()) {
    for (auto& v : j) zero_created_at(v);
  }
}

// Log timestamps and pids (tracing's WARN lines, ANSI-coloured by real and the sim alike) vary
// from run to run.
std::string mask_run_values(std::string text) {
  static const std::regex kTimestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)");
  static const std::regex kPid("(pid(\x1b\\[[0-9;]*m)*=(\x1b\\[[0-9;]*m)*)[0-9]+");
  text = std::regex_replace(text, kTimestamp, "<ts>");
  return std::regex_replace(text, kPid, "$1<pid>");
}

std::string normalise(std::string text, const std::string& home, const std::string& error_prefix) {
  text = without_notes(text);
  replace_all(text, home, "$HOME");
  OJson j = OJson::parse(text, nullptr, false);
  if (!j.is_discarded() && (j.is_object() || j.is_array())) {
    zero_created_at(j);
    return j.dump(1) + "\n";
  }
  text = mask_run_values(text);
  if (!error_prefix.empty()) {
    std::istringstream lines(text);
    std::string line, out;
    while (std::getline(lines, line)) {
      if (line.rfind(error_prefix, 0) == 0) line = error_prefix + "<the VMM's log and exit>";
      out += line + "\n";
    }
    text = out;
  }
  return text;
}

// What one binary did with one case, normalised for comparison.
struct Outcome {
  std::vector<std::string> steps;  // "exit N\n--- stdout\n...--- stderr\n..."
  std::string rows;                // every row: name, BLOB/TEXT, the record (created_at zeroed)
  std::map<std::string, std::pair<bool, OJson>> records;  // by name: BLOB?, the parsed record
  std::vector<std::string> files;  // one line per file or directory (path/), sorted
  std::set<std::string> optional_dirs;  // real's directories that held nothing but real-only files
  std::vector<std::size_t> real_only_seen;  // per real_only_files() kind: files of it taken out
};

// A data dir file the supervisor reads (or that tells how a VM ended), with its contents.
std::string agent_file_line(const std::string& path, const std::string& rel) {
  const std::string base = fs::path(path).filename().string();
  if (base != "agent.config.json" && base != "vmm-exit.json") return rel;
  OJson j = OJson::parse(read_file(path), nullptr, false);
  if (j.is_object()) {
    for (const char* varies : {"pid", "exited_at_unix_ms"}) {
      if (base == "vmm-exit.json" && j.contains(varies)) j[varies] = 0;
    }
  }
  return rel + " = " + (j.is_discarded() ? read_file(path) : j.dump());
}

std::vector<std::string> file_list(const std::string& home, FileScope scope, bool real, Outcome& o) {
  static const std::regex kAgentFile(
      R"(^/\.cache/smolvm/vms/[0-9a-f]{16}/(agent\.pid|agent\.config\.json|boot-config\.json|vmm-exit\.json)$)");
  const auto& kinds = real_only_files();
  o.real_only_seen.assign(kinds.size(), 0);
  std::vector<std::string> lines;
  for (const char* root : {"/.cache/smolvm", "/.local/share/smolvm"}) {
    std::error_code ec;
    if (!fs::exists(home + root, ec)) continue;
    std::map<std::string, std::string> kept;  // path as listed -> its line
    std::vector<std::string> dropped;
    for (auto it = fs::recursive_directory_iterator(home + root, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string base = it->path().filename().string();
      if (base == "smolvm.db" || base == "smolvm.db-wal" || base == "smolvm.db-shm") continue;
      const std::string rel = it->path().string().substr(home.size()) + (it->is_directory() ? "/" : "");
      bool real_only = false;
      for (std::size_t k = 0; real && !real_only && k < kinds.size(); ++k) {
        if (std::regex_match(rel, kinds[k].path)) {
          real_only = true;
          ++o.real_only_seen[k];
        }
      }
      if (real_only) dropped.push_back(rel);
      else if (scope == FileScope::All || std::regex_match(rel, kAgentFile)) kept[rel] = agent_file_line(it->path().string(), rel);
    }
    // A directory that only held real-only files may or may not be there in the sim (the deepest
    // first, so its parent can follow).
    for (auto it = kept.rbegin(); it != kept.rend();) {
      const std::string dir = it->first;
      auto under = [&](const std::string& p) { return p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0; };
      const bool emptied = dir.back() == '/' && std::any_of(dropped.begin(), dropped.end(), under) &&
                           std::none_of(kept.begin(), kept.end(), [&](const auto& e) { return under(e.first); });
      if (emptied) {
        dropped.push_back(dir);
        o.optional_dirs.insert(dir);
        it = std::make_reverse_iterator(kept.erase(std::next(it).base()));
      } else {
        ++it;
      }
    }
    for (const auto& [path, line] : kept) lines.push_back(line);
  }
  return lines;
}

// The sim's empty directories where real's held only real-only files: not a difference.
void drop_optional_dirs(Outcome& sim, const std::set<std::string>& optional_dirs) {
  for (auto it = sim.files.rbegin(); it != sim.files.rend();) {
    const std::string dir = *it;
    auto under = [&](const std::string& p) { return p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0; };
    if (optional_dirs.count(dir) > 0 && std::none_of(sim.files.begin(), sim.files.end(), under)) {
      it = std::make_reverse_iterator(sim.files.erase(std::next(it).base()));
    } else {
      ++it;
    }
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Kills the VM of `machine` as soon as agent.pid names it, from a thread beside the `start`.
class KillAtBoot {
 public:
  explicit KillAtBoot(std::string data_dir) : dir_(std::move(data_dir)), thread_([this] { watch(); }) {}
  ~KillAtBoot() { (void)report(); }
  KillAtBoot(const KillAtBoot&) = delete;
  KillAtBoot& operator=(const KillAtBoot&) = delete;
  // "VM killed at boot", or what kept it from happening; stops the watch.
  std::string report() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return report_;
  }

 private:
  void watch() {
    const bs::platform::ArgvRule rule{{"/proc/self/exe"}, {"_boot-vm", dir_ + "/boot-config.json"}};
    bool killed = false;
    bs::test::poll_until([&] {
      if (stop_) return true;
      // Once the VM has also read (and deleted) its boot-config.json: killed before that, real's VM
      // and the sim's alike leave the file behind, so the files would depend on the race.
      auto agent = bs::smolvm::read_agent_pid(dir_);
      std::error_code ec;
      if (!agent || !*agent || !(*agent)->start_time || fs::exists(dir_ + "/boot-config.json", ec)) return false;
      auto r = bs::platform::kill_verified((*agent)->pid, (*agent)->start_time, rule);
      report_ = r.outcome == bs::platform::KillOutcome::Killed ? "VM killed at boot" : "VM not killed: " + r.message;
      killed = true;
      return true;
    }, Ms(20000));
    if (!killed) report_ = "VM not killed: agent.pid never named a VM that had read its boot-config.json";
  }

  std::string dir_;
  std::atomic<bool> stop_{false};
  std::string report_;
  std::thread thread_;
};

// A fresh HOME for one binary and one case, as TempHome makes it (HOME, XDG_RUNTIME_DIR, PATH with
// bin/smolvm) but without its cleanup, which reaps every exited child of the test process and so
// would steal the child another case's `run` is waiting for: here cases run side by side.
class CaseHome {
 public:
  explicit CaseHome(const std::string& smolvm_bin) : dir_("bsd", "/tmp") {
    fs::create_directories(dir() + "/bin");
    fs::create_directory(dir() + "/run");
    fs::permissions(dir() + "/run", fs::perms::owner_all);
    fs::create_symlink(smolvm_bin, dir() + "/bin/smolvm");
  }
  // A VM still named by an agent.pid (a kill at boot that did not happen) is killed, verified by
  // start time and argv; then the folder goes (dir_'s destructor).
  ~CaseHome() {
    std::error_code ec;
    const std::string vms = paths().vms_dir;
    for (auto it = fs::directory_iterator(vms, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      auto agent = bs::smolvm::read_agent_pid(it->path().string());
      if (!agent || !*agent) continue;
      const bs::platform::ArgvRule rule{{"/proc/self/exe"}, {"_boot-vm", it->path().string() + "/boot-config.json"}};
      (void)bs::platform::kill_verified((*agent)->pid, (*agent)->start_time, rule);
    }
  }
  CaseHome(const CaseHome&) = delete;
  CaseHome& operator=(const CaseHome&) = delete;

  const std::string& dir() const { return dir_.path(); }
  Env env(const Env& extra) const {
    Env e = {{"HOME", dir()}, {"XDG_RUNTIME_DIR", dir() + "/run"}, {"PATH", dir() + "/bin:/usr/bin:/bin"}};
    for (const auto& [k, v] : extra) e[k] = v;
    return e;
  }
  bs::smolvm::Paths paths() const { return bs::smolvm::derive_paths(bs::platform::map_env(env({}))); }

 private:
  bs::test::TempDir dir_;
};

Outcome play(const CaseHome& home, const Case& c, bool real) {
  Outcome o;
  const std::string bin = home.dir() + "/bin/smolvm";
  for (const Step& step : c.steps) {
    Args argv = {bin};
    argv.insert(argv.end(), step.args.begin(), step.args.end());
    Env extra = step.env;
    if (!real) extra.insert(step.sim_env.begin(), step.sim_env.end());
    std::optional<KillAtBoot> killer;
    if (!step.kill_vm_of.empty()) killer.emplace(home.paths().vm_data_dir(step.kill_vm_of));
    RunResult r = run(argv, home.env(extra), "", Ms(60000));
    const std::string killed = killer ? killer->report() + "\n" : "";
    o.steps.push_back(killed + "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" +
                      normalise(r.out, home.dir(), step.error_prefix) + "--- stderr\n" +
                      normalise(r.err, home.dir(), step.error_prefix));
  }
  for (const StoredRow& row : read_rows(home.paths().db)) {
    OJson j = OJson::parse(row.data, nullptr, false);
    if (!j.is_discarded()) zero_created_at(j);
    o.rows += row.name + (row.blob ? " BLOB " : " TEXT ") + (j.is_discarded() ? row.data : j.dump()) + "\n";
    o.records[row.name] = {row.blob, j.is_discarded() ? OJson(row.data) : j};
  }
  o.files = file_list(home.dir(), c.files, real, o);
  return o;
}

std::string keys_of(const OJson& j) {
  std::string out;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) out += (out.empty() ? "" : ",") + k;
  }
  return out;
}

// Two records of one machine, as a reader would want the difference: missing keys, other values,
// another key order, BLOB against TEXT.
std::string record_diff(const std::pair<bool, OJson>& real, const std::pair<bool, OJson>& sim) {
  std::ostringstream d;
  if (real.first != sim.first) d << "  stored as " << (real.first ? "BLOB" : "TEXT") << " by real, "
                                 << (sim.first ? "BLOB" : "TEXT") << " by the sim\n";
  const OJson& r = real.second;
  const OJson& s = sim.second;
  if (!r.is_object() || !s.is_object()) {
    if (r != s) d << "  real: " << r.dump() << "\n  sim:  " << s.dump() << "\n";
    return d.str();
  }
  std::string only_real, only_sim, values;
  for (const auto& [k, v] : r.items()) {
    if (!s.contains(k)) only_real += " " + k;
    else if (s[k] != v) values += "    " + k + ": real " + v.dump() + ", sim " + s[k].dump() + "\n";
  }
  for (const auto& [k, v] : s.items()) {
    if (!r.contains(k)) only_sim += " " + k;
  }
  if (!only_real.empty()) d << "  keys only real writes:" << only_real << "\n";
  if (!only_sim.empty()) d << "  keys only the sim writes:" << only_sim << "\n";
  if (!values.empty()) d << "  values differ:\n" << values;
  if (only_real.empty() && only_sim.empty() && keys_of(r) != keys_of(s)) {
    d << "  key order differs:\n    real: " << keys_of(r) << "\n    sim:  " << keys_of(s) << "\n";
  }
  return d.str();
}

// Where the two differ, in the form of Case::where: "step2 rows files".
std::string where_different(const Case& c, const Outcome& real, const Outcome& sim) {
  std::string out;
  auto add = [&](const std::string& w) { out += (out.empty() ? "" : " ") + w; };
  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    if (real.steps[i] != sim.steps[i]) add("step" + std::to_string(i + 1));
  }
  if (real.rows != sim.rows) add("rows");
  if (real.files != sim.files) add("files");
  return out;
}

// The differences, one paragraph each; empty when they agree.
std::string compare(const Case& c, const Outcome& real, const Outcome& sim) {
  std::ostringstream d;
  for (std::size_t i = 0; i < c.steps.size(); ++i) {
    if (real.steps[i] != sim.steps[i]) {
      std::string cmd;
      for (const auto& [k, v] : c.steps[i].env) cmd += " " + k + "=" + v;
      for (const auto& a : c.steps[i].args) cmd += " " + a;
      d << "step" << cmd << ":\n  real: " << real.steps[i] << "\n  sim:  " << sim.steps[i] << "\n";
    }
  }
  for (const auto& [name, rec] : real.records) {
    auto it = sim.records.find(name);
    if (it == sim.records.end()) d << "vms row " << name << ": only real has it\n";
    else if (std::string rd = record_diff(rec, it->second); !rd.empty()) d << "vms row " << name << ":\n" << rd;
  }
  for (const auto& [name, rec] : sim.records) {
    if (real.records.count(name) == 0) d << "vms row " << name << ": only the sim has it\n";
  }
  if (real.rows != sim.rows && d.str().find("vms row") == std::string::npos) {
    d << "vms rows:\n  real: " << real.rows << "  sim:  " << sim.rows;
  }
  if (real.files != sim.files) d << "files:\n  real:\n" << joined(real.files) << "  sim:\n" << joined(sim.files);
  return d.str();
}

}  // namespace

TEST_CASE("real: differential - smolvm-sim behaves as real smolvm on the CLI steps the supervisor uses", "[real]") {
  require_real_smolvm();
  std::vector<std::string> unexpected, gone;
  std::vector<std::size_t> real_only_seen(real_only_files().size(), 0);
  std::ostringstream table;
  // The cases run side by side (real spends seconds extracting its agent rootfs in several), each
  // in its own pair of HOMEs; the verdicts are then taken in table order.
  std::vector<std::pair<Outcome, Outcome>> outcomes(kCases.size());
  std::vector<std::string> errors(kCases.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> real_ms{0}, sim_ms{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < kCases.size();) {
      try {
        const auto t0 = std::chrono::steady_clock::now();
        {
          CaseHome h(real_smolvm().path);
          outcomes[i].first = play(h, kCases[i], true);
        }
        const auto t1 = std::chrono::steady_clock::now();
        {
          CaseHome h(kSimBin);
          outcomes[i].second = play(h, kCases[i], false);
        }
        real_ms += std::chrono::duration_cast<Ms>(t1 - t0).count();
        sim_ms += std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t1).count();
      } catch (const std::exception& e) {
        errors[i] = e.what();  // reported in table order; Catch's macros are not for threads
      }
    }
  };
  const auto started = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> workers;
    for (unsigned w = 0; w < std::clamp(std::thread::hardware_concurrency(), 2u, 4u); ++w) workers.emplace_back(worker);
    for (auto& t : workers) t.join();
  }
  const auto wall = std::chrono::steady_clock::now() - started;
  for (std::size_t i = 0; i < kCases.size(); ++i) {
    const Case& c = kCases[i];
    if (!errors[i].empty()) {
      table << "  " << c.name << ": NOT RUN: " << errors[i] << "\n";
      unexpected.push_back(c.name);
      continue;
    }
    const Outcome& real = outcomes[i].first;
    Outcome& sim = outcomes[i].second;
    drop_optional_dirs(sim, real.optional_dirs);
    for (std::size_t k = 0; k < real_only_seen.size(); ++k) real_only_seen[k] += real.real_only_seen[k];
    const std::string diff = compare(c, real, sim);
    const std::string where = where_different(c, real, sim);
    std::string verdict;
    if (diff.empty()) {
      verdict = c.known.empty() ? "same" : "SAME NOW (drop the known mark)";
      if (!c.known.empty()) gone.push_back(c.name);
    } else if (c.known.empty() || where != c.where) {
      verdict = "DIFFERENT in " + where + (c.known.empty() ? "" : " (known only in " + c.where + ")");
      unexpected.push_back(c.name);
    } else {
      verdict = "known difference in " + where;
    }
    table << "  " << c.name << ": " << verdict << (c.known.empty() ? "" : " - " + c.known) << "\n";
    if (!diff.empty()) std::cout << "=== " << c.name << " (" << verdict << ")\n" << diff << "\n";
  }
  for (std::size_t k = 0; k < real_only_seen.size(); ++k) {
    const std::string& what = real_only_files()[k].what;
    table << "  files only real makes: " << what << ": "
          << (real_only_seen[k] > 0 ? std::to_string(real_only_seen[k]) + " seen" : "NOT SEEN NOW (drop the mark)") << "\n";
    if (real_only_seen[k] == 0) gone.push_back(what);
  }
  auto secs = [](std::int64_t ms) { return std::to_string(ms / 1000.0).substr(0, 4) + " s"; };
  table << "  (" << kCases.size() << " cases in " << secs(std::chrono::duration_cast<Ms>(wall).count()) << ": real "
        << secs(real_ms) << ", sim " << secs(sim_ms) << " in all)\n";
  std::cout << "sim vs real smolvm " << real_smolvm().version << ":\n" << table.str() << std::flush;
  WARN("sim vs real smolvm " << real_smolvm().version << ":\n" << table.str());
  CHECK(unexpected.empty());
  CHECK(gone.empty());
}
