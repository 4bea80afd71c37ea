// What smolvm cleans up on its own: orphaned ephemeral records, and a leftover _boot-vm that the
// row no longer knows about. Plus the opt-in /dev/kvm check.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;
using namespace std::chrono_literals;

TEST_CASE("every machine subcommand sweeps ephemeral records whose VM is gone", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "keep", "--image", "alpine", "--net"}).exit_code == 0);
  REQUIRE(home.sim({"machine", "create", "--name", "eph", "--image", "alpine", "--net"}).exit_code == 0);
  auto rec = home.row("eph");
  rec["ephemeral"] = true;  // as `machine run` records are
  home.put_row_blob("eph", rec.dump());
  std::filesystem::create_directories(home.vm_dir("eph"));  // as its first start would have
  REQUIRE(bs::test::file_exists(home.vm_dir("eph")));

  auto ls = home.sim({"machine", "ls", "--json"});
  REQUIRE(ls.exit_code == 0);
  auto arr = nlohmann::json::parse(ls.out);
  REQUIRE(arr.size() == 1);
  CHECK(arr[0]["name"] == "keep");
  CHECK_FALSE(home.row_bytes("eph").has_value());
  CHECK_FALSE(bs::test::file_exists(home.vm_dir("eph")));
}

TEST_CASE("start kills a leftover _boot-vm named by agent.pid before booting a new one", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "o", "--image", "alpine", "--net"}).exit_code == 0);
  REQUIRE(home.sim({"machine", "start", "--name", "o"}).exit_code == 0);
  const auto old_pid = home.row("o")["pid"].get<pid_t>();
  const auto old_start = home.row("o")["pid_start_time"].get<std::uint64_t>();
  home.track_vm(old_pid, old_start);
  // The row forgets the VM (as a stale write-back can make it), agent.pid still names it.
  auto rec = home.row("o");
  rec["state"] = "stopped";
  rec["pid"] = nullptr;
  rec["pid_start_time"] = nullptr;
  home.put_row_blob("o", rec.dump());

  auto r = home.sim({"machine", "start", "--name", "o"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.rfind("Killing orphaned _boot-vm process (PID " + std::to_string(old_pid) + ") for machine 'o'\n", 0) ==
        0);
  CHECK_FALSE(bs::test::pid_alive(old_pid));
  const auto new_pid = home.row("o")["pid"].get<pid_t>();
  CHECK(new_pid != old_pid);
  CHECK(bs::test::pid_alive(new_pid));
}

TEST_CASE("SMOLVM_SIM_CHECK_KVM makes start check /dev/kvm like smolvm", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "k", "--image", "alpine", "--net"}).exit_code == 0);
  auto r = home.sim({"machine", "start", "--name", "k"}, {{"SMOLVM_SIM_CHECK_KVM", "1"}});
  if (access("/dev/kvm", F_OK) != 0) {
    CHECK(r.exit_code == 1);
    CHECK(r.err.rfind("Error: agent operation failed: start machine: kvm not available: KVM not available. Ensure KVM "
                      "kernel module is loaded.\nTry: sudo modprobe kvm && sudo modprobe kvm_intel  # (or kvm_amd)\n",
                      0) == 0);
    CHECK(home.row("k")["state"] == "created");
  } else if (int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC); fd >= 0) {
    close(fd);
    CHECK(r.exit_code == 0);
    CHECK(home.row("k")["state"] == "running");
  } else {
    CHECK(r.exit_code == 1);
    CHECK(r.err.rfind("Error: agent operation failed: start machine: kvm ", 0) == 0);  // denied, or another error
  }
}
