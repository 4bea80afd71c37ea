// `machine update` and SMOLVM_MACHINE_NAME, each checked against real smolvm 1.32.2 on a created
// (never started) machine.
#include <catch2/catch.hpp>

#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;

namespace {

nlohmann::ordered_json stored_cidrs(const SimHome& home, const std::string& name) { return home.row(name)["allowed_cidrs"]; }

}  // namespace

TEST_CASE("update adds and removes CIDRs and refuses to remove the last one", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "u", "--allow-cidr", "127.0.0.16/32"}).exit_code == 0);

  auto add = home.sim({"machine", "update", "--name", "u", "--allow-cidr", "10.0.0.0/8"});
  CHECK(add.exit_code == 0);
  CHECK(add.out == "Updated machine 'u':\n  allowed CIDRs: 127.0.0.16/32, 10.0.0.0/8\n\n"
                   "Start with: smolvm machine start --name u\n");
  CHECK(stored_cidrs(home, "u") == nlohmann::ordered_json::parse(R"(["127.0.0.16/32","10.0.0.0/8"])"));

  auto same = home.sim({"machine", "update", "--name", "u", "--allow-cidr", "10.0.0.0/8"});
  CHECK(same.out == "No changes specified.\n");

  REQUIRE(home.sim({"machine", "update", "--name", "u", "--remove-allow-cidr", "10.0.0.0/8"}).exit_code == 0);
  auto absent = home.sim({"machine", "update", "--name", "u", "--remove-allow-cidr", "10.9.9.9/32"});
  CHECK(absent.exit_code == 1);
  CHECK(absent.err == "Error: config operation failed: update: '10.9.9.9/32' is not in machine 'u''s allowed CIDRs\n");

  const auto before = home.row_bytes("u");
  auto last = home.sim({"machine", "update", "--name", "u", "--remove-allow-cidr", "127.0.0.16/32"});
  CHECK(last.exit_code == 1);
  CHECK(last.err == "Error: config operation failed: update: removing the last allowed host or CIDR would allow "
                    "egress to every host; say so explicitly (--net on the CLI, allowAll on the API), or turn "
                    "networking off instead\n");
  CHECK(home.row_bytes("u") == before);

  auto open = home.sim({"machine", "update", "--name", "u", "--remove-allow-cidr", "127.0.0.16/32", "--net"});
  CHECK(open.out == "Updated machine 'u':\n  network: enabled\n  allowed CIDRs: any\n\n"
                    "Start with: smolvm machine start --name u\n");
  CHECK(stored_cidrs(home, "u").is_null());
  CHECK(home.row("u")["network"] == true);
}

TEST_CASE("update --no-net clears the list, and the flags clap rejects exit 2", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "n", "--allow-cidr", "1.2.3.4"}).exit_code == 0);
  CHECK(stored_cidrs(home, "n") == nlohmann::ordered_json::parse(R"(["1.2.3.4/32"])"));
  auto off = home.sim({"machine", "update", "--name", "n", "--no-net"});
  CHECK(off.out == "Updated machine 'n':\n  network: disabled\n  cleared allow_cidrs\n\n"
                   "Start with: smolvm machine start --name n\n");
  CHECK(stored_cidrs(home, "n").is_null());
  CHECK(home.row("n")["network"] == false);

  auto both = home.sim({"machine", "update", "--name", "n", "--net", "--no-net"});
  CHECK(both.exit_code == 2);
  CHECK(both.err.rfind("error: the argument '--net' cannot be used with '--no-net'\n", 0) == 0);
  auto bogus = home.sim({"machine", "update", "--name", "n", "--allow-cidr", "bogus"});
  CHECK(bogus.exit_code == 2);
  CHECK(bogus.err.rfind("error: invalid value 'bogus' for '--allow-cidr <CIDR>': invalid CIDR 'bogus'", 0) == 0);
  auto missing = home.sim({"machine", "update", "--name", "zz", "--allow-cidr", "1.1.1.1/32"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "Error: config operation failed: update: machine 'zz' not found\n");

  auto reset = home.sim({"machine", "update", "--name", "n", "--reset-allow-list", "--allow-cidr", "5.5.5.5/32"});
  CHECK(reset.exit_code == 0);
  CHECK(stored_cidrs(home, "n") == nlohmann::ordered_json::parse(R"(["5.5.5.5/32"])"));
  CHECK(home.row("n")["network"] == true);
}

TEST_CASE("update refuses a running machine and leaves its row alone", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "r", "--allow-cidr", "1.1.1.1/32"}).exit_code == 0);
  REQUIRE(home.sim({"machine", "start", "--name", "r"}).exit_code == 0);
  home.track_vm(home.row("r")["pid"].get<pid_t>(), home.row("r")["pid_start_time"].get<std::uint64_t>());
  const auto before = home.row_bytes("r");
  auto live = home.sim({"machine", "update", "--name", "r", "--allow-cidr", "2.2.2.2/32"});
  CHECK(live.exit_code == 1);
  CHECK(live.err == "Error: config operation failed: egress policy: could not change machine 'r''s allow list while "
                    "it runs: No such file or directory (os error 2); a machine started before live changes were "
                    "supported needs a restart\n");
  auto cpus = home.sim({"machine", "update", "--name", "r", "--cpus", "2"});
  CHECK(cpus.exit_code == 1);
  CHECK(cpus.err == "Error: invalid vm state: expected stopped, got Running\n");
  CHECK(home.row_bytes("r") == before);
}

TEST_CASE("SMOLVM_MACHINE_NAME fills in --name", "[sim]") {
  SimHome home;
  auto created = home.sim({"machine", "create"}, {{"SMOLVM_MACHINE_NAME", "fromenv"}});
  CHECK(created.exit_code == 0);
  CHECK(created.out.rfind("Created machine: fromenv\n", 0) == 0);
  auto status = home.sim({"machine", "status"}, {{"SMOLVM_MACHINE_NAME", "fromenv"}});
  CHECK(status.out == "Machine 'fromenv': created\n");
  auto dir = home.sim({"machine", "data-dir"}, {{"SMOLVM_MACHINE_NAME", "fromenv"}});
  CHECK(dir.out == home.vm_dir("fromenv") + "\n");
  // An explicit --name wins.
  auto other = home.sim({"machine", "status", "-n", "nope"}, {{"SMOLVM_MACHINE_NAME", "fromenv"}});
  CHECK(other.err == "Error: vm not found: nope\n");
}
