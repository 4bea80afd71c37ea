// start / stop / delete: the VM process and its identity, the booted policy, and the DB writes
// (including stop's stale-copy write-back).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "smolvm/sha256.h"
#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;
using namespace std::chrono_literals;

namespace {

void create(const SimHome& home, const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"machine", "create", "--name", name, "--image", "alpine:3.20", "--net"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = home.sim(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

pid_t start(const SimHome& home, const std::string& name, const std::map<std::string, std::string>& env = {}) {
  auto r = home.sim({"machine", "start", "--name", name}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto pid = home.row(name)["pid"].get<pid_t>();
  REQUIRE(r.out == "Machine '" + name + "' running (PID: " + std::to_string(pid) + ")\n");
  return pid;
}

// The policy the VMM got: agent.config.json (boot-config.json is deleted by the VM at boot).
nlohmann::json booted_policy(const SimHome& home, const std::string& name) {
  return nlohmann::json::parse(bs::test::read_file(home.vm_dir(name) + "/agent.config.json"))["resources"]["allowed_cidrs"];
}

}  // namespace

TEST_CASE("start spawns a detached _boot-vm whose identity is in the row", "[sim]") {
  SimHome home;
  create(home, "sb1", {"--allow-cidr", "127.0.0.16/32"});
  auto r = home.sim({"machine", "start", "--name", "sb1"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err == "Starting machine 'sb1'...\nPulling alpine:3.20...\n");
  auto row = home.row("sb1");
  CHECK(row["state"] == "running");
  const auto pid = row["pid"].get<pid_t>();
  CHECK(r.out == "Machine 'sb1' running (PID: " + std::to_string(pid) + ")\n");

  // pid_start_time is /proc/<pid>/stat field 22, in clock ticks since boot.
  REQUIRE(bs::test::pid_start_time(pid).has_value());
  CHECK(row["pid_start_time"].get<std::uint64_t>() == *bs::test::pid_start_time(pid));

  const std::string dir = home.root() + "/.cache/smolvm/vms/" + bs::smolvm::sha256_hex("sb1").substr(0, 16);
  CHECK(dir.substr(dir.size() - 16) == "320983ce679b69a1");  // the reference's example hash
  CHECK(bs::test::proc_cmdline(pid) == "/proc/self/exe _boot-vm " + dir + "/boot-config.json ");
  CHECK(getpgid(pid) == pid);               // its own process group...
  CHECK(getsid(pid) == getsid(0));          // ...but not its own session
  CHECK(bs::test::read_file(dir + "/agent.pid") == std::to_string(pid) + "\n" + row["pid_start_time"].dump());

  CHECK_FALSE(bs::test::file_exists(dir + "/boot-config.json"));  // the VM deleted it once parsed
  // agent.config.json as real 1.32.2 writes it (RunningVmConfig, compact, this key order).
  CHECK(bs::test::read_file(dir + "/agent.config.json") ==
        R"({"version":1,"mounts":[],"ports":[],"resources":{"cpus":4,"memory_mib":8192,"network":true,"gpu":false,)"
        R"("gpu_vram_mib":null,"cuda":false,"nested_virt":false,"rosetta":false,"storage_gib":null,"overlay_gib":null,)"
        R"("block_io":"sync","disk_durability":"full","allowed_cidrs":["127.0.0.16/32"],"dns":null,"dns_options":[],)"
        R"("shm_size":null},"forkable":false})");
  CHECK(home.row_type("sb1") == "blob");
}

TEST_CASE("FORCE_POLICY boots another policy than the row's", "[sim]") {
  SimHome home;
  create(home, "f", {"--allow-cidr", "127.0.0.17/32"});
  const auto before = home.row_bytes("f");
  start(home, "f", {{"SMOLVM_SIM_FORCE_POLICY", R"(["0.0.0.0/0"])"}});
  CHECK(booted_policy(home, "f") == nlohmann::json::parse(R"(["0.0.0.0/0"])"));
  CHECK(home.row("f")["allowed_cidrs"] == nlohmann::ordered_json::parse(R"(["127.0.0.17/32"])"));

  REQUIRE(home.sim({"machine", "stop", "--name", "f"}).exit_code == 0);
  start(home, "f", {{"SMOLVM_SIM_FORCE_POLICY", "null"}});
  CHECK(booted_policy(home, "f").is_null());
}

TEST_CASE("starting a running machine is a no-op that says so", "[sim]") {
  SimHome home;
  create(home, "twice");
  const pid_t pid = start(home, "twice");
  const auto row = home.row_bytes("twice");
  bool written = home.db_written_during([&] {
    auto r = home.sim({"machine", "start", "--name", "twice"});
    CHECK(r.exit_code == 0);
    CHECK(r.out == "Machine 'twice' already running (PID: " + std::to_string(pid) + ")\n");
  });
  CHECK_FALSE(written);
  CHECK(home.row_bytes("twice") == row);
  CHECK(bs::test::pid_alive(pid));
}

TEST_CASE("a start loses to another holder of vm.lock", "[sim]") {
  SimHome home;
  create(home, "locked");
  REQUIRE(home.sim({"machine", "status", "--name", "locked"}).exit_code == 0);  // makes the data dir
  int fd = open((home.vm_dir("locked") + "/vm.lock").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(flock(fd, LOCK_EX | LOCK_NB) == 0);
  auto r = home.sim({"machine", "start", "--name", "locked"});
  close(fd);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "Error: agent operation failed: start machine: agent operation failed: start agent: another "
                 "process is already starting or running this VM\n");
  CHECK(home.row("locked")["state"] == "created");
}

TEST_CASE("stop kills the VM and writes stopped and a second stop writes nothing", "[sim]") {
  SimHome home;
  create(home, "s");
  const pid_t pid = start(home, "s");
  auto r = home.sim({"machine", "stop", "--name", "s"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Stopping machine 's'...\nStopped machine: s\n");
  CHECK_FALSE(bs::test::pid_alive(pid));
  auto row = home.row("s");
  CHECK(row["state"] == "stopped");
  CHECK(row["pid"].is_null());
  CHECK(row["pid_start_time"].is_null());
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("s") + "/agent.pid"));
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("s") + "/agent.config.json"));
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("s") + "/boot-config.json"));

  bool written = home.db_written_during([&] {
    auto again = home.sim({"machine", "stop", "--name", "s"});
    CHECK(again.exit_code == 0);
    CHECK(again.out == "Machine 's' is not running (state: stopped)\n");
  });
  CHECK_FALSE(written);

  auto missing = home.sim({"machine", "stop", "--name", "nope"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "Error: vm not found: nope\n");
}

TEST_CASE("stop writes back the copy it read first: a concurrent patch is lost", "[sim]") {
  SimHome home;
  create(home, "race", {"--allow-cidr", "127.0.0.16/32"});
  const pid_t pid = start(home, "race");

  SECTION("a patch to allowed_cidrs during the stop is overwritten") {
    auto stop = home.sim_background({"machine", "stop", "--name", "race"}, {{"SMOLVM_SIM_STOP_WINDOW_MS", "500"}});
    // The VM goes away before the write-back: the snapshot has been read, the window is open.
    REQUIRE(bs::test::poll_until([&] { return !bs::test::pid_alive(pid); }, 5s));
    auto patched = home.row("race");
    patched["allowed_cidrs"] = nlohmann::ordered_json::parse(R"(["10.0.0.0/8"])");
    home.put_row_blob("race", patched.dump());
    REQUIRE(home.row("race")["allowed_cidrs"][0] == "10.0.0.0/8");

    auto r = stop->wait();
    REQUIRE(r.exit_code == 0);
    auto row = home.row("race");
    CHECK(row["allowed_cidrs"] == nlohmann::ordered_json::parse(R"(["127.0.0.16/32"])"));
    CHECK(row["state"] == "stopped");
  }
  SECTION("a row deleted during the stop comes back") {
    auto stop = home.sim_background({"machine", "stop", "--name", "race"}, {{"SMOLVM_SIM_STOP_WINDOW_MS", "500"}});
    REQUIRE(bs::test::poll_until([&] { return !bs::test::pid_alive(pid); }, 5s));
    home.delete_row("race");
    REQUIRE_FALSE(home.row_bytes("race").has_value());
    REQUIRE(stop->wait().exit_code == 0);
    REQUIRE(home.row_bytes("race").has_value());
    CHECK(home.row("race")["state"] == "stopped");
  }
}

TEST_CASE("a VM that exits by itself resolves stopped but the row keeps saying running", "[sim]") {
  SimHome home;
  create(home, "crash");
  const pid_t pid = start(home, "crash", {{"SMOLVM_SIM_VM_EXIT_AFTER_MS", "200"}});
  REQUIRE(bs::test::poll_until([&] { return !bs::test::pid_alive(pid); }, 5s));

  auto ls = home.sim({"machine", "ls", "--json"});
  REQUIRE(ls.exit_code == 0);
  auto arr = nlohmann::json::parse(ls.out);
  CHECK(arr[0]["state"] == "stopped");
  CHECK(arr[0]["pid"] == pid);  // raw stored pid
  CHECK(home.row("crash")["state"] == "running");  // ls never writes back

  auto status = home.sim({"machine", "status", "--name", "crash"});
  CHECK(status.out == "Machine 'crash': stopped\n");
  const pid_t again = start(home, "crash");
  CHECK(again != pid);
  CHECK(bs::test::pid_alive(again));  // this VM has no exit knob
}

TEST_CASE("delete without -f and without a terminal is refused; delete -f removes everything", "[sim]") {
  SimHome home;
  create(home, "d");
  const pid_t pid = start(home, "d");
  const auto before = home.row_bytes("d");

  // 1.32.2 with stdin not a terminal (a pipe here, even with a "y" in it): exit 1, nothing done.
  for (const std::string& input : {std::string(), std::string("y\n")}) {
    auto refused = home.sim({"machine", "delete", "--name", "d"}, {}, input);
    CHECK(refused.exit_code == 1);
    CHECK(refused.out.empty());
    CHECK(refused.err ==
          "Error: agent operation failed: delete: machine 'd' needs confirmation but stdin is not a terminal; pass "
          "--force to delete it, or --cascade to remove it together with any machines branched from it\n");
    CHECK(bs::test::pid_alive(pid));
    CHECK(home.row_bytes("d") == before);
    CHECK(bs::test::file_exists(home.vm_dir("d") + "/agent.pid"));
  }
  auto missing_first = home.sim({"machine", "rm", "--name", "nope"});
  CHECK(missing_first.exit_code == 1);
  CHECK(missing_first.err == "Error: vm not found: nope\n");

  auto yes = home.sim({"machine", "delete", "--name", "d", "-f"});
  CHECK(yes.exit_code == 0);
  CHECK(yes.out == "Stopping machine 'd'...\nCleaning up data directory for vm: d\nDeleted machine: d\n");
  CHECK_FALSE(bs::test::pid_alive(pid));
  CHECK_FALSE(home.row_bytes("d").has_value());
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("d")));

  create(home, "e");
  const pid_t pe = start(home, "e");
  auto forced = home.sim({"machine", "delete", "--name", "e", "-f"});
  CHECK(forced.exit_code == 0);
  CHECK(forced.out == "Stopping machine 'e'...\nCleaning up data directory for vm: e\nDeleted machine: e\n");
  CHECK_FALSE(bs::test::pid_alive(pe));
  CHECK_FALSE(home.row_bytes("e").has_value());
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("e")));

  auto missing = home.sim({"machine", "delete", "--name", "e", "-f"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "Error: vm not found: e\n");
}

TEST_CASE("ls and status --json have smolvm's object shape", "[sim]") {
  SimHome home;
  create(home, "b", {"--cpus", "2", "--mem", "1024", "--label", "owner=bs", "--allow-cidr", "127.0.0.18/32"});
  create(home, "a");
  const pid_t pid = start(home, "b");

  auto ls = home.sim({"machine", "ls", "--json"});
  REQUIRE(ls.exit_code == 0);
  auto arr = nlohmann::json::parse(ls.out);
  REQUIRE(arr.size() == 2);
  // 1.32.2's keys, sorted; allowed_cidrs only when the machine has a list.
  const std::vector<std::string> keys = {
      "block_io", "branchable", "branchpoint_held", "cmd", "cpus", "created_at", "cuda", "cuda_branch_pool_size",
      "cuda_fork_pool_size", "cuda_vram_limit_mib", "detached", "disk_durability", "disks", "entrypoint",
      "ephemeral", "forkable", "forkpoint_held", "gpu", "gpu_vram_mib", "health_cmd", "health_interval_secs",
      "health_retries", "health_startup_grace_secs", "health_timeout_secs", "image", "labels", "memory_mib",
      "mounts", "name", "network", "overlay_gb", "parent_machine", "pid", "ports", "restart_count",
      "restart_max_retries", "restart_policy", "state", "state_reason", "storage_gb"};
  nlohmann::json b;
  for (const auto& o : arr) {
    std::vector<std::string> got;
    for (auto it = o.begin(); it != o.end(); ++it) {
      if (it.key() != "allowed_cidrs") got.push_back(it.key());
    }
    CHECK(got == keys);
    CHECK(o.contains("allowed_cidrs") == (o["name"] == "b"));
    if (o["name"] == "b") b = o;
  }
  CHECK(arr[0]["name"] == "a");  // by name
  CHECK(b["state"] == "running");
  CHECK(b["pid"] == pid);
  CHECK(b["memory_mib"] == 1024);
  CHECK(b["mounts"] == 0);
  CHECK(b["labels"] == nlohmann::json::parse(R"({"owner":"bs"})"));
  CHECK(b["gpu"] == false);
  // Pretty-printed with two spaces, keys in order, like serde_json::to_string_pretty.
  CHECK(ls.out.rfind("[\n  {\n    \"block_io\": \"sync\",\n    \"branchable\": ", 0) == 0);

  auto status = home.sim({"machine", "status", "--name", "b", "--json"});
  REQUIRE(status.exit_code == 0);
  CHECK(nlohmann::json::parse(status.out) == b);
  auto text = home.sim({"machine", "status", "--name", "b"});
  CHECK(text.out == "Machine 'b': running (PID: " + std::to_string(pid) + ")\n");
  auto created = home.sim({"machine", "status", "--name", "a"});
  CHECK(created.out == "Machine 'a': created\n");
  auto missing = home.sim({"machine", "status", "--name", "zz", "--json"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "Error: config operation failed: machine status: machine 'zz' not found\n");

  auto table = home.sim({"machine", "ls"});
  // The NAME column is as wide as the longest name, at least 4.
  CHECK(table.out.find("NAME STATE         CPUS     MEMORY  MOUNTS   PORTS  STORAGE  OVERLAY  BRANCHED FROM\n" +
                       std::string(83, '-') + "\n") == 0);
  CHECK(table.out.find("b    running          2   1024 MiB       0       0   20 GiB   10 GiB  -            \n") !=
        std::string::npos);

  auto dir = home.sim({"machine", "data-dir", "--name", "b"});
  CHECK(dir.out == home.vm_dir("b") + "\n");
  auto nodir = home.sim({"machine", "data-dir", "--name", "zz"});
  CHECK(nodir.exit_code == 1);
  CHECK(nodir.err == "Error: vm not found: zz\n");
}
