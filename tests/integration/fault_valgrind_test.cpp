// Memcheck over the daemon's whole lifecycle (start -> a bottle verified -> SIGTERM) and over
// `reconcile --once`: no invalid reads or writes, no use of uninitialised values, no definite
// leaks. Hidden tests ([.valgrind]): tests/CMakeLists.txt registers them only in a build without
// sanitizers (valgrind cannot run an ASan binary), with BS_VALGRIND naming the valgrind binary.
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <regex>

#include "harness.h"

using namespace bs::integ;

namespace {

constexpr int kValgrindError = 99;

std::string valgrind_bin() {
  const char* v = std::getenv("BS_VALGRIND");
  return v != nullptr && *v != '\0' ? v : "/usr/bin/valgrind";
}

// valgrind's own report goes to `report` (the daemon's stderr stays in the ChildProcess log).
std::vector<std::string> under_memcheck(const std::string& report, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {valgrind_bin(),
                                   "--error-exitcode=" + std::to_string(kValgrindError),
                                   "--leak-check=full",
                                   "--errors-for-leak-kinds=definite",
                                   "--show-leak-kinds=definite",
                                   "--num-callers=30",
                                   "--log-file=" + report,
                                   kSupervisorBin};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The exit code says it all (99 = an error or a definite leak); the report's summary lines are
// checked too, so a valgrind that did not run the check cannot pass.
void check_report(const std::string& report_path, int exit_code) {
  const std::string report = read_file(report_path);
  INFO("valgrind report:\n" << tail_lines(report, 80));
  CHECK(exit_code != kValgrindError);
  CHECK(std::regex_search(report, std::regex("ERROR SUMMARY: 0 errors from 0 contexts")));
  const bool no_leak = contains(report, "All heap blocks were freed") ||
                       std::regex_search(report, std::regex("definitely lost: 0 bytes in 0 blocks"));
  CHECK(no_leak);
  CHECK_FALSE(contains(report, "Invalid read"));
  CHECK_FALSE(contains(report, "Invalid write"));
}

}  // namespace

TEST_CASE("valgrind: run until a bottle is verified then SIGTERM - no memory errors or definite leaks",
          "[integration][.valgrind]") {
  // Valgrind slows the daemon down ~30x: generous timeouts, nothing else changes.
  ConfigOptions opts;
  opts.command_timeout = "60s";
  opts.resync_interval = "5s";
  TempHome home(opts);
  home.write_spec("vg", spec_toml());
  const std::string report = home.dir() + "/valgrind-run.txt";
  const std::string log = home.next_log_path("daemon-valgrind");
  ChildProcess daemon(under_memcheck(report, {"run"}), home.env(), log);
  home.set_daemon_log(log);

  Json b = home.wait_verified("vg", Ms(180000));
  CHECK(b["allowlist"] == kFirstAllowlist);
  CHECK(home.booted_policy(b["pid"].get<std::int64_t>()) == kFirstAllowlist);

  daemon.signal(SIGTERM);
  auto code = daemon.wait_exit(Ms(120000));
  REQUIRE(code.has_value());
  INFO("daemon log:\n" << tail_lines(read_file(log), 30));
  CHECK(*code == 0);
  check_report(report, *code);
  // SIGTERM leaves VMs running (CONTRACT §7).
  CHECK(pid_alive(b["pid"].get<std::int64_t>()));
}

TEST_CASE("valgrind: reconcile --once - no memory errors or definite leaks", "[integration][.valgrind]") {
  ConfigOptions opts;
  opts.command_timeout = "60s";
  TempHome home(opts);
  home.write_spec("vg", spec_toml());
  home.write_spec("vg-stopped", spec_toml("state = \"stopped\""));
  const std::string report = home.dir() + "/valgrind-once.txt";
  RunResult r = run(under_memcheck(report, {"reconcile", "--once"}), home.env(), "", Ms(300000));
  INFO(r.describe());
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.exit_code == 0);  // converged in one pass
  check_report(report, r.exit_code);

  auto row = home.row("bottle-vg");
  REQUIRE(row);
  CHECK(row->blob);
  CHECK(row->json()["allowed_cidrs"] == kFirstAllowlist);
  CHECK(row->json()["state"] == "running");
  REQUIRE(home.row("bottle-vg-stopped"));
  CHECK(home.row("bottle-vg-stopped")->json()["state"] != "running");
}
