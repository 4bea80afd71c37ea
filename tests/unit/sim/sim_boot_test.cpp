// `machine start` as smolvm 1.32.2 does it: the VM deletes boot-config.json once parsed, the CLI
// writes agent.config.json and agent.pid before the readiness wait, and the row says running only
// after the agent answered. A VM that dies before that fails the start and leaves the row alone.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>

#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;
using namespace std::chrono_literals;

namespace {

void create_with_cidr(const SimHome& home, const std::string& name) {
  auto r = home.sim({"machine", "create", "--name", name, "--allow-cidr", "127.0.0.16/32"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("during the readiness wait the files are there and the row still says created", "[sim]") {
  SimHome home;
  create_with_cidr(home, "w");
  const std::string dir = home.vm_dir("w");
  auto starting = home.sim_background({"machine", "start", "--name", "w"}, {{"SMOLVM_SIM_READY_MS", "1500"}});
  // The sim writes agent.pid in place, as smolvm does: wait for its whole line, not its creation.
  std::string pid_file;
  REQUIRE(bs::test::poll_until([&] {
    if (!bs::test::file_exists(dir + "/agent.pid")) return false;
    pid_file = bs::test::read_file(dir + "/agent.pid");
    return pid_file.find('\n') != std::string::npos;
  }, 10s));
  const pid_t pid = std::stoi(pid_file.substr(0, pid_file.find('\n')));
  auto st = bs::test::pid_start_time(pid);
  REQUIRE(st.has_value());
  home.track_vm(pid, *st);
  CHECK(pid_file == std::to_string(pid) + "\n" + std::to_string(*st));  // no trailing newline
  CHECK(bs::test::file_exists(dir + "/agent.config.json"));
  CHECK(bs::test::poll_until([&] { return !bs::test::file_exists(dir + "/boot-config.json"); }, 10s));
  CHECK(home.row("w")["state"] == "created");
  CHECK(home.row("w")["pid"].is_null());

  auto r = starting->wait();
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Machine 'w' running (PID: " + std::to_string(pid) + ")\n");
  CHECK(home.row("w")["state"] == "running");
  CHECK(home.row("w")["pid"] == pid);
  CHECK(home.row("w")["pid_start_time"] == *st);

  REQUIRE(home.sim({"machine", "stop", "--name", "w"}).exit_code == 0);
  CHECK_FALSE(bs::test::file_exists(dir + "/agent.pid"));
  CHECK_FALSE(bs::test::file_exists(dir + "/agent.config.json"));
}

TEST_CASE("SMOLVM_SIM_READY_MS is how long a start waits for the agent", "[sim]") {
  SimHome home;
  create_with_cidr(home, "slow");
  const auto t0 = std::chrono::steady_clock::now();
  auto r = home.sim({"machine", "start", "--name", "slow"}, {{"SMOLVM_SIM_READY_MS", "700"}});
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(r.exit_code == 0);
  home.track_vm(home.row("slow")["pid"].get<pid_t>(), home.row("slow")["pid_start_time"].get<std::uint64_t>());
  CHECK(took >= 700ms);
}

TEST_CASE("a VM killed before its agent answers fails the start as 1.32.2 does", "[sim]") {
  SimHome home;
  create_with_cidr(home, "k");
  const std::string dir = home.vm_dir("k");
  const auto before = home.row_bytes("k");
  auto starting = home.sim_background({"machine", "start", "--name", "k"}, {{"SMOLVM_SIM_READY_MS", "5000"}});
  // The sim writes agent.pid in place, as smolvm does: wait for its whole line, not its creation.
  std::string pid_file;
  REQUIRE(bs::test::poll_until([&] {
    if (!bs::test::file_exists(dir + "/agent.pid")) return false;
    pid_file = bs::test::read_file(dir + "/agent.pid");
    return pid_file.find('\n') != std::string::npos;
  }, 10s));
  const pid_t pid = std::stoi(pid_file.substr(0, pid_file.find('\n')));
  auto st = bs::test::pid_start_time(pid);
  REQUIRE(st.has_value());
  REQUIRE(std::to_string(*st) == pid_file.substr(pid_file.find('\n') + 1));  // verified: it is our VM
  REQUIRE(kill(pid, SIGKILL) == 0);

  auto r = starting->wait();
  CHECK(r.exit_code == 1);
  // tracing's line, coloured as 1.32.2 colours it on a pipe.
  CHECK(r.err.find("\x1b[33m WARN\x1b[0m VMM killed by SIGKILL \x1b[3mpid\x1b[0m\x1b[2m=\x1b[0m" + std::to_string(pid) +
                   " \x1b[3mcause\x1b[0m\x1b[2m=\x1b[0mKilled\n") != std::string::npos);
  CHECK(r.err.find("Error: agent operation failed: start machine: agent operation failed: monitor agent: boot process "
                   "was killed by SIGKILL (a crash in the VMM or a library it loaded)\n") != std::string::npos);
  CHECK(home.row_bytes("k") == before);
  // What the real binary leaves: no agent.pid, agent.config.json kept, vmm-exit.json written.
  CHECK_FALSE(bs::test::file_exists(dir + "/agent.pid"));
  CHECK(bs::test::file_exists(dir + "/agent.config.json"));
  auto exit = nlohmann::json::parse(bs::test::read_file(dir + "/vmm-exit.json"));
  CHECK(exit["pid"] == pid);
  CHECK(exit["cause"] == "killed");
  CHECK(exit["signal"] == 9);
  CHECK(exit["signal_name"] == "SIGKILL");
}

TEST_CASE("a VM that exits during its boot fails the start with its exit code", "[sim]") {
  SimHome home;
  create_with_cidr(home, "e");
  const auto before = home.row_bytes("e");
  auto r = home.sim({"machine", "start", "--name", "e"},
                    {{"SMOLVM_SIM_READY_MS", "2000"}, {"SMOLVM_SIM_VM_EXIT_AFTER_MS", "50"}});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "Starting machine 'e'...\nError: agent operation failed: start machine: agent operation failed: "
                 "monitor agent: boot process exited (code 1) before the agent was ready\n");
  CHECK(home.row_bytes("e") == before);
  auto exit = nlohmann::json::parse(bs::test::read_file(home.vm_dir("e") + "/vmm-exit.json"));
  CHECK(exit["cause"] == "exited");
  CHECK(exit["exit_code"] == 1);
}

TEST_CASE("FORCE_POLICY is what boot-config.json and agent.config.json both say", "[sim]") {
  SimHome home;
  create_with_cidr(home, "fp");
  const std::string dir = home.vm_dir("fp");
  auto starting = home.sim_background({"machine", "start", "--name", "fp"},
                                      {{"SMOLVM_SIM_FORCE_POLICY", R"(["0.0.0.0/0"])"}, {"SMOLVM_SIM_READY_MS", "1500"}});
  // The VM parses boot-config.json at once; the CLI's view of what it got is agent.config.json.
  REQUIRE(bs::test::poll_until([&] { return bs::test::file_exists(dir + "/agent.config.json"); }, 10s));
  auto running = nlohmann::json::parse(bs::test::read_file(dir + "/agent.config.json"));
  CHECK(running["resources"]["allowed_cidrs"] == nlohmann::json::parse(R"(["0.0.0.0/0"])"));
  REQUIRE(starting->wait().exit_code == 0);
  home.track_vm(home.row("fp")["pid"].get<pid_t>(), home.row("fp")["pid_start_time"].get<std::uint64_t>());
  CHECK(home.row("fp")["allowed_cidrs"] == nlohmann::ordered_json::parse(R"(["127.0.0.16/32"])"));
}
