// `machine create` argument handling and errors, and the global CLI surface.
#include <catch2/catch.hpp>

#include <unistd.h>

#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;

TEST_CASE("the version flag and the vm alias", "[sim]") {
  SimHome home;
  auto v = home.sim({"--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out == "smolvm 1.32.2\n");
  auto custom = home.sim({"--version"}, {{"SMOLVM_SIM_VERSION", "1.7.9"}});
  CHECK(custom.out == "smolvm 1.7.9\n");
  auto ls = home.sim({"vm", "ls", "--json"});
  CHECK(ls.exit_code == 0);
  CHECK(ls.out == "[]\n");
}

TEST_CASE("a duplicate create fails with smolvm's message and changes nothing", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "create", "--name", "dup", "--image", "alpine", "--net"}).exit_code == 0);
  auto before = home.row_bytes("dup");
  auto r = home.sim({"machine", "create", "--name", "dup", "--image", "debian", "--net", "--cpus", "1"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "Error: config operation failed: create machine: machine 'dup' already exists or is being created\n");
  CHECK(home.row_bytes("dup") == before);
  CHECK(home.sql_column("SELECT count(*) FROM vm_create_reservations") == std::vector<std::string>{"0"});
}

TEST_CASE("a live reservation holds the name and a dead owner's does not", "[sim]") {
  SimHome home;
  REQUIRE(home.sim({"machine", "ls"}).exit_code == 0);
  // Our own (live) pid owns a fresh reservation: the name is "being created".
  home.sql_column("INSERT INTO vm_create_reservations VALUES ('held', 'tok', " + std::to_string(getpid()) +
                  ", strftime('%s','now'))");
  auto r = home.sim({"machine", "create", "--name", "held", "--image", "alpine", "--net"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("machine 'held' already exists or is being created") != std::string::npos);
  // A reservation whose owner is gone is reaped.
  home.sql_column("UPDATE vm_create_reservations SET owner_pid = 999999999");
  CHECK(home.sim({"machine", "create", "--name", "held", "--image", "alpine", "--net"}).exit_code == 0);
}

TEST_CASE("allow-cidr values are normalised like ipnet and turn networking on", "[sim]") {
  SimHome home;
  auto r = home.sim({"machine", "create", "--name", "c", "--image", "alpine", "--allow-cidr", "127.0.0.16",
                     "--allow-cidr", "10.1.2.3/8", "--allow-cidr", "::1"});
  REQUIRE(r.exit_code == 0);
  auto rec = home.row("c");
  CHECK(rec["allowed_cidrs"].dump() == R"(["127.0.0.16/32","10.1.2.3/8","::1/128"])");
  CHECK(rec["network"] == true);

  REQUIRE(home.sim({"machine", "create", "--name", "plain", "--image", "alpine", "--net"}).exit_code == 0);
  CHECK(home.row("plain")["allowed_cidrs"].is_null());
}

TEST_CASE("argument errors are clap's: error: ... and exit 2", "[sim]") {
  SimHome home;
  auto bad_cidr = home.sim({"machine", "create", "--name", "x", "--allow-cidr", "10.0.0.300/8"});
  CHECK(bad_cidr.exit_code == 2);
  CHECK(bad_cidr.err.rfind("error: invalid value '10.0.0.300/8' for '--allow-cidr <CIDR>': invalid CIDR "
                           "'10.0.0.300/8': expected format like 10.0.0.0/8 or 1.1.1.1\n",
                           0) == 0);
  auto unknown = home.sim({"machine", "create", "--name", "x", "--bogus"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.rfind("error: unexpected argument '--bogus' found\n", 0) == 0);
  auto missing_value = home.sim({"machine", "start", "--name"});
  CHECK(missing_value.exit_code == 2);
  CHECK(missing_value.err.rfind("error: a value is required for '--name <NAME>' but none was supplied", 0) == 0);
  auto required = home.sim({"machine", "delete", "-f"});
  CHECK(required.exit_code == 2);
  CHECK(required.err.find("the following required arguments were not provided:\n  --name <NAME>") !=
        std::string::npos);
  auto conflict = home.sim({"machine", "create", "--name", "x", "--image", "a", "--from", "/etc/hostname"});
  CHECK(conflict.exit_code == 2);
  auto bad_cpus = home.sim({"machine", "create", "--name", "x", "--cpus", "300"});
  CHECK(bad_cpus.exit_code == 2);
  CHECK(bad_cpus.err.rfind("error: invalid value '300' for '--cpus <N>': 300 is not in 0..=255", 0) == 0);
  // Nothing above got far enough to create the DB.
  CHECK_FALSE(bs::test::file_exists(home.db_path()));
}

TEST_CASE("runtime validation errors are Error: ... and exit 1", "[sim]") {
  SimHome home;
  auto name = home.sim({"machine", "create", "--name", "bad/name", "--image", "alpine", "--net"});
  CHECK(name.exit_code == 1);
  CHECK(name.err == "Error: config operation failed: create machine: machine name cannot contain path separators\n");
  auto dash = home.sim({"machine", "create", "--name", "-x", "--image", "alpine", "--net"});
  CHECK(dash.exit_code == 2);  // clap reads "-x" as a flag
  auto lead = home.sim({"machine", "create", "--name=_x", "--image", "alpine", "--net"});
  CHECK(lead.err ==
        "Error: config operation failed: create machine: machine name must start with a letter or digit (got: \"_x\")\n");
  auto cpus = home.sim({"machine", "create", "--name", "z", "--image", "alpine", "--net", "--cpus", "0"});
  CHECK(cpus.err == "Error: config operation failed: validate resources: CPU count must be at least 1\n");
  auto mem = home.sim({"machine", "create", "--name", "z", "--image", "alpine", "--net", "--mem", "32"});
  CHECK(mem.err == "Error: config operation failed: validate resources: memory must be at least 64 MiB (got 32 MiB)\n");
  CHECK(home.sql_column("SELECT count(*) FROM vms") == std::vector<std::string>{"0"});
  // 1.32.2 creates a registry-image machine without networking (the pull is the start's problem).
  auto offline = home.sim({"machine", "create", "--name", "z", "--image", "alpine:3.20"});
  CHECK(offline.exit_code == 0);
  CHECK(home.row("z")["network"] == false);
}
