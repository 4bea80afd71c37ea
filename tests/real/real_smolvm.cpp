#include "real/real_smolvm.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <sstream>

namespace bs::real {
namespace fs = std::filesystem;

namespace {

std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

RealSmolvm locate() {
  RealSmolvm r;
  const char* env = std::getenv("BS_REAL_SMOLVM");
  r.path = env != nullptr && *env != '\0' ? env : find_on_path("smolvm");
  if (r.path.empty()) {
    r.problem = "real smolvm not found (set BS_REAL_SMOLVM or put smolvm on PATH; scripts/install-smolvm.sh installs it)";
    return r;
  }
  if (!fs::path(r.path).is_absolute()) r.path = fs::absolute(r.path).string();
  // In a throw-away HOME: even --version must not touch the user's smolvm state.
  RunResult v;
  try {
    const test::TempDir home("bsr-version", "/tmp");
    v = run({r.path, "--version"}, {{"HOME", home.path()}, {"PATH", "/usr/bin:/bin"}}, "", Ms(30000));
  } catch (const std::exception& e) {
    r.problem = e.what();
    return r;
  }
  std::smatch m;
  static const std::regex kVersion(R"(smolvm (\d+\.\d+\.\d+))");
  if (v.exit_code != 0 || !std::regex_search(v.out, m, kVersion)) {
    r.problem = r.path + " --version did not name a smolvm version: " + v.describe();
    return r;
  }
  r.version = m[1];
  if (r.version.rfind("1.32.", 0) != 0) {
    r.problem = r.path + " is smolvm " + r.version + "; these tests are written against 1.32.x";
  }
  return r;
}

}  // namespace

const RealSmolvm& real_smolvm() {
  static const RealSmolvm r = locate();
  return r;
}

void skip(const std::string& reason) {
  std::cout << "\nSKIP: " << reason << std::endl;
  std::fflush(nullptr);
  std::_Exit(77);  // before any temp HOME exists: nothing to clean up
}

void require_real_smolvm() {
  if (!real_smolvm().problem.empty()) skip(real_smolvm().problem);
}

std::string probe_result_path() { return BS_BUILD_DIR "/real-smolvm-probe.json"; }

void write_probe_result(const ProbeResult& r) {
  Json j = {{"ok", r.ok}, {"reason", r.reason}, {"from", r.from}, {"boot_ms", r.boot_ms}};
  test::write_file_atomic(probe_result_path(), j.dump() + "\n", 0644);
}

ProbeResult require_bootable() {
  require_real_smolvm();
  Json j = Json::parse(read_file(probe_result_path()), nullptr, false);
  if (!j.is_object()) {
    skip("the boot probe has not run (" + probe_result_path() +
         " is missing; ctest runs 'real: probe' before the tests that need a booted VM)");
  }
  ProbeResult r;
  r.ok = j.value("ok", false);
  r.reason = j.value("reason", "");
  r.from = j.value("from", "");
  r.boot_ms = j.value("boot_ms", -1LL);
  if (!r.ok) skip("real smolvm cannot boot a VM here: " + r.reason);
  return r;
}

std::string without_notes(const std::string& err) {
  std::istringstream lines(err);
  std::string line, out;
  while (std::getline(lines, line)) {
    if (line.rfind("note: no packed assets found", 0) == 0) continue;
    out += line + "\n";
  }
  return out;
}

ConfigOptions RealHome::real_config() {
  ConfigOptions o;
  o.resync_interval = "1h";
  // A real start waits for the guest agent (seconds; ~14 s to fail where VMs cannot boot).
  o.command_timeout = "90s";
  return o;
}

RealHome::RealHome(ConfigOptions o) {
  const std::string bin = real_smolvm().path;
  fs::remove(dir() + "/bin/smolvm");
  fs::create_symlink(bin, dir() + "/bin/smolvm");
  std::string text = config_toml(o);
  const std::string section = "[smolvm]\n";
  text.insert(text.find(section) + section.size(), "bin = " + Json(bin).dump() + "\n");
  write_config_text(text);
}

RunResult RealHome::smolvm(const std::vector<std::string>& args, Ms timeout) const {
  std::vector<std::string> argv = {real_smolvm().path};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env(), "", timeout);
}

Json RealHome::machine_ls() const {
  RunResult r = smolvm({"machine", "ls", "--json"});
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  Json j = Json::parse(r.out, nullptr, false);
  REQUIRE(j.is_array());
  return j;
}

bool RealHome::listed(const std::string& machine) const {
  for (const Json& m : machine_ls()) {
    if (m.value("name", "") == machine) return true;
  }
  return false;
}

std::string RealHome::data_dir(const std::string& machine) const {
  RunResult r = smolvm({"machine", "data-dir", "--name", machine});
  if (r.exit_code != 0) return "";
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::optional<std::int64_t> RealHome::agent_pid(const std::string& machine) const {
  const std::string dir = data_dir(machine);
  if (dir.empty()) return std::nullopt;
  std::istringstream in(read_file(dir + "/agent.pid"));
  std::int64_t pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return pid;
}

std::optional<Json> RealHome::agent_policy(const std::string& machine) const {
  const std::string dir = data_dir(machine);
  if (dir.empty()) return std::nullopt;
  Json j = Json::parse(read_file(dir + "/agent.config.json"), nullptr, false);
  if (!j.is_object() || !j.contains("resources") || !j["resources"].contains("allowed_cidrs")) return std::nullopt;
  return j["resources"]["allowed_cidrs"];
}

Json RealHome::wait_confined_stopped(const std::string& bottle, Ms timeout) const {
  Json last;
  wait_until("bottle '" + bottle + "' stopped, verified and converged", [&] {
    last = status().bottle(bottle);
    return last.is_object() && last.value("actual", "") == "stopped" && last.value("confinement", "") == "verified" &&
           last.value("converged", false);
  }, timeout);
  return last;
}

std::string boot_spec(const ProbeResult& probe, const std::string& extra) {
  return "from = " + Json(probe.from).dump() + "\n" + extra + (extra.empty() || extra.back() == '\n' ? "" : "\n");
}

}  // namespace bs::real
