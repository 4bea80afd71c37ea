#include "temp_home.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "daemon.h"
#include "platform/process.h"
#include "smolvm/boot_config.h"
#include "smolvm/running_vm.h"

namespace bs::integ {
namespace fs = std::filesystem;

namespace {

void make_dir(const std::string& path, mode_t mode) {
  fs::create_directories(path);
  ::chmod(path.c_str(), mode);
}

// `environ` is NUL-separated; `var` must be one whole entry.
bool contains_var(const std::string& environ, const std::string& var) {
  std::size_t pos = 0;
  while (pos < environ.size()) {
    std::size_t end = environ.find('\0', pos);
    if (end == std::string::npos) end = environ.size();
    if (environ.compare(pos, end - pos, var) == 0) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

std::string config_toml(const ConfigOptions& o) {
  std::ostringstream s;
  s << "log_level = \"" << o.log_level << "\"\n"
    << "removal_grace = \"" << o.removal_grace << "\"\n"
    << "resync_interval = \"" << o.resync_interval << "\"\n"
    << "debounce = \"" << o.debounce << "\"\n"
    << o.extra_top << (o.extra_top.empty() || o.extra_top.back() == '\n' ? "" : "\n")
    << "[smolvm]\ncommand_timeout = \"" << o.command_timeout << "\"\n"
    << "[backoff]\ninitial = \"" << o.backoff_initial << "\"\n";
  return s.str();
}

std::string spec_toml(const std::string& extra) {
  return "image = \"alpine:3.20\"\n" + extra + (extra.empty() || extra.back() == '\n' ? "" : "\n");
}

Json Status::bottle(const std::string& name) const {
  if (!doc.is_object() || !doc.contains("bottles") || !doc["bottles"].is_array()) return nullptr;
  for (const Json& b : doc["bottles"]) {
    if (b.value("name", "") == name) return b;
  }
  return nullptr;
}

Status status_from(const RunResult& r) {
  Status s;
  s.exit_code = r.exit_code;
  s.raw = r.describe();
  s.doc = Json::parse(r.out, nullptr, false);
  if (s.doc.is_discarded()) s.doc = nullptr;
  return s;
}

bool verified_running(const Json& b) {
  return b.is_object() && b.value("actual", "") == "running" && b.value("confinement", "") == "verified" &&
         b.contains("pid") && b["pid"].is_number_integer();
}

TempHome::TempHome(const ConfigOptions& config) : dir_("bsi", "/tmp") {
  become_subreaper();
  make_dir(dir() + "/run", 0700);
  make_dir(dir() + "/bin", 0755);
  fs::create_symlink(kSimBin, dir() + "/bin/smolvm");
  make_dir(bottles_dir(), 0700);
  write_config(config);
}

TempHome::~TempHome() {
  for (Daemon* d : std::set<Daemon*>(daemons_)) d->stop();
  try {
    kill_orphaned_sim_commands();
    test::kill_row_vms(db_path());
    test::kill_boot_vms_under(dir());
  } catch (const std::exception& e) {
    WARN("cleanup of " << dir() << ": " << e.what());
  }
  reap_orphans();
  // BS_INTEG_KEEP=1 (in the test runner's environment) keeps the folder and its logs for a look.
  if (std::getenv("BS_INTEG_KEEP") != nullptr) {
    WARN("kept " << dir());
    dir_.keep();
  }
}

void TempHome::kill_orphaned_sim_commands() const {
  std::error_code ec;
  const auto sim = fs::canonical(kSimBin, ec);
  for (std::int64_t pid : children_of(::getpid())) {
    const std::string proc = "/proc/" + std::to_string(pid);
    if (fs::read_symlink(proc + "/exe", ec) != sim || ec) continue;
    std::string environ = read_file(proc + "/environ");
    if (!contains_var(environ, "HOME=" + dir())) continue;
    auto cmdline = platform::read_cmdline(pid);
    auto start = pid_start_time(pid);
    if (!cmdline || smolvm::boot_config_from_cmdline(*cmdline) || !start) continue;
    kill_verified_and_reap(pid, *start);
  }
}

Env TempHome::env(const Env& extra) const {
  Env e = {{"HOME", dir()}, {"XDG_RUNTIME_DIR", dir() + "/run"}, {"PATH", dir() + "/bin:/usr/bin:/bin"}};
  for (const auto& [k, v] : extra) e[k] = v;
  return e;
}

std::string TempHome::bottles_dir() const { return dir() + "/.config/bottle-supervisor/bottles"; }
std::string TempHome::config_path() const { return dir() + "/.config/bottle-supervisor/config.toml"; }
std::string TempHome::state_dir() const { return dir() + "/.local/state/bottle-supervisor"; }
std::string TempHome::socket_path() const { return dir() + "/run/bottle-supervisor/control.sock"; }

smolvm::Paths TempHome::smolvm_paths() const { return smolvm::derive_paths(platform::map_env(env())); }

void TempHome::write_config(const ConfigOptions& o) const { write_config_text(config_toml(o)); }

void TempHome::write_config_text(const std::string& toml) const {
  test::write_file_atomic(config_path(), toml, 0600);
}

std::string TempHome::spec_path(const std::string& name) const { return bottles_dir() + "/" + name + ".toml"; }

std::string TempHome::write_spec(const std::string& name, const std::string& toml) const {
  test::write_file_atomic(spec_path(name), toml, 0600);
  return spec_path(name);
}

void TempHome::remove_spec(const std::string& name) const { fs::remove(spec_path(name)); }

std::string TempHome::make_smolmachine(const std::string& name) const {
  const std::string path = dir() + "/" + name + ".smolmachine";
  test::write_file(path, "not a real smolmachine; smolvm-sim only checks that it exists\n", 0644);
  return path;
}

RunResult TempHome::cli(const std::vector<std::string>& args, const Env& extra, Ms timeout) const {
  std::vector<std::string> argv = {kSupervisorBin};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env(extra), "", timeout);
}

RunResult TempHome::sim(const std::vector<std::string>& args, const Env& extra, Ms timeout) const {
  std::vector<std::string> argv = {dir() + "/bin/smolvm"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env(extra), "", timeout);
}

Status TempHome::status(const std::vector<std::string>& names) const {
  std::vector<std::string> args = {"status", "--json"};
  args.insert(args.end(), names.begin(), names.end());
  return status_from(cli(args, {}, Ms(10000)));
}

std::vector<Json> TempHome::events() const {
  RunResult r = cli({"events", "--json"});
  if (r.exit_code != 0) throw std::runtime_error("events --json failed: " + r.describe());
  std::vector<Json> out;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("events --json printed a line that is not JSON: " + line);
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<Json> TempHome::events(const std::string& kind, const std::string& bottle) const {
  std::vector<Json> out;
  for (Json& e : events()) {
    if (e.value("kind", "") == kind && (bottle.empty() || e.value("bottle", "") == bottle)) out.push_back(e);
  }
  return out;
}

std::optional<StoredRow> TempHome::row(const std::string& machine) const { return read_row(db_path(), machine); }

std::string TempHome::write_rogue_boot_config(const std::string& machine) const {
  const std::string path = smolvm_paths().boot_config(machine);
  fs::create_directories(fs::path(path).parent_path());
  test::write_file(path, R"({"resources":{"allowed_cidrs":null}})", 0600);
  return path;
}

std::optional<Json> TempHome::booted_policy(std::int64_t pid) const {
  // As smolvm records it: agent.config.json of the VM's data dir, while agent.pid names the VM
  // (boot-config.json is deleted by the VM once read).
  auto cmdline = platform::read_cmdline(pid);
  if (!cmdline) return std::nullopt;
  auto config = smolvm::boot_config_from_cmdline(*cmdline);
  if (!config) return std::nullopt;
  auto dir = smolvm::data_dir_of_boot_config(*config);
  if (!dir) return std::nullopt;
  auto agent = smolvm::parse_agent_pid(read_file(*dir + "/agent.pid"));
  if (!agent || agent->pid != pid) return std::nullopt;
  Json j = Json::parse(read_file(*dir + "/agent.config.json"), nullptr, false);
  if (!j.is_object() || !j.contains("resources") || !j["resources"].contains("allowed_cidrs")) return std::nullopt;
  return j["resources"]["allowed_cidrs"];
}

std::string TempHome::diagnostics() const {
  std::ostringstream s;
  Status st = status();
  s << "--- last status --json ---\n" << (st.doc.is_null() ? st.raw : st.doc.dump(2)) << "\n";
  if (!daemon_log_.empty()) s << "--- daemon log (tail) ---\n" << tail_lines(read_file(daemon_log_), 40) << "\n";
  return s.str();
}

void TempHome::wait_until(const std::string& what, const std::function<bool()>& pred, Ms timeout) const {
  if (!poll_until(pred, timeout)) {
    FAIL("timed out after " << timeout.count() << " ms waiting for: " << what << "\n" << diagnostics());
  }
}

Json TempHome::wait_verified(const std::string& bottle, Ms timeout) const {
  Json last;
  wait_until("bottle '" + bottle + "' running, verified and converged", [&] {
    last = status().bottle(bottle);
    return verified_running(last) && last.value("converged", false);
  }, timeout);
  return last;
}

std::string TempHome::next_log_path(const std::string& stem) {
  return dir() + "/" + stem + "-" + std::to_string(++log_counter_) + ".log";
}

}  // namespace bs::integ
