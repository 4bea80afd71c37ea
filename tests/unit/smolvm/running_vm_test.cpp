// The VM data dir's record of a running VM, as smolvm 1.32.2 writes it (checked against the real
// binary): agent.pid "<pid>\n<start ticks>" without a trailing newline, agent.config.json with
// resources.allowed_cidrs.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "smolvm/cli.h"
#include "smolvm/running_vm.h"
#include "support/files.h"
#include "support/temp_dir.h"

using bs::smolvm::AgentPid;
using bs::smolvm::data_dir_of_boot_config;
using bs::smolvm::parse_agent_pid;

TEST_CASE("parse_agent_pid reads smolvm's agent.pid", "[smolvm]") {
  CHECK(parse_agent_pid("4382\n22479") == AgentPid{4382, 22479});
  CHECK(parse_agent_pid("4382\n22479\n") == AgentPid{4382, 22479});
  CHECK(parse_agent_pid("4382") == AgentPid{4382, std::nullopt});
  CHECK(parse_agent_pid("4382\n") == AgentPid{4382, std::nullopt});
  CHECK_FALSE(parse_agent_pid(""));
  CHECK_FALSE(parse_agent_pid("0\n5"));
  CHECK_FALSE(parse_agent_pid("-3\n5"));
  CHECK_FALSE(parse_agent_pid("abc"));
  CHECK_FALSE(parse_agent_pid("12 \n5"));
  CHECK_FALSE(parse_agent_pid("12\nx"));
  CHECK_FALSE(parse_agent_pid("12\n5\n6"));
  CHECK_FALSE(parse_agent_pid("99999999999999999999999\n1"));
}

TEST_CASE("data_dir_of_boot_config takes the folder of <dir>/boot-config.json only", "[smolvm]") {
  CHECK(data_dir_of_boot_config("/h/.cache/smolvm/vms/628b49d96dcde97a/boot-config.json") ==
        "/h/.cache/smolvm/vms/628b49d96dcde97a");
  CHECK_FALSE(data_dir_of_boot_config("/boot-config.json"));
  CHECK_FALSE(data_dir_of_boot_config("boot-config.json"));
  CHECK_FALSE(data_dir_of_boot_config("/tmp/elsewhere.json"));
  CHECK_FALSE(data_dir_of_boot_config("/tmp/x/boot-config.json.bak"));
}

TEST_CASE("read_agent_pid and read_running_policy read a data dir", "[smolvm]") {
  bs::test::TempDir d("bs-agent");
  auto none = bs::smolvm::read_agent_pid(d.path());
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
  bs::test::write_file(d / "agent.pid", "4382\n22479");
  auto some = bs::smolvm::read_agent_pid(d.path());
  REQUIRE(some.has_value());
  CHECK(*some == AgentPid{4382, 22479});
  bs::test::write_file(d / "agent.pid", "garbage");
  CHECK_FALSE(bs::smolvm::read_agent_pid(d.path()).has_value());

  CHECK_FALSE(bs::smolvm::read_running_policy(d.path()).has_value());  // no agent.config.json
  // Exactly what smolvm 1.32.2 wrote for `--allow-cidr 127.0.0.16/32`.
  bs::test::write_file(d / "agent.config.json",
        R"({"version":1,"mounts":[],"ports":[],"resources":{"cpus":1,"memory_mib":512,"network":true,"gpu":false,"gpu_vram_mib":null,"cuda":false,"nested_virt":false,"rosetta":false,"storage_gib":null,"overlay_gib":null,"block_io":"sync","disk_durability":"full","allowed_cidrs":["127.0.0.16/32"],"dns":null,"dns_options":[],"shm_size":null},"forkable":false})");
  auto policy = bs::smolvm::read_running_policy(d.path());
  REQUIRE(policy.has_value());
  CHECK(policy->kind == bs::smolvm::AllowedCidrs::Kind::List);
  CHECK(policy->cidrs == std::vector<std::string>{"127.0.0.16/32"});
  bs::test::write_file(d / "agent.config.json", R"({"version":1,"resources":{"allowed_cidrs":null}})");
  CHECK(bs::smolvm::read_running_policy(d.path())->kind == bs::smolvm::AllowedCidrs::Kind::Null);

  // A FIFO planted as agent.pid neither hangs nor counts.
  ::unlink((d.path() + "/agent.pid").c_str());
  REQUIRE(::mkfifo((d.path() + "/agent.pid").c_str(), 0600) == 0);
  auto fifo = bs::smolvm::read_agent_pid(d.path());
  REQUIRE_FALSE(fifo.has_value());
  CHECK_THAT(fifo.error(), Catch::Contains("not a regular file"));
}

TEST_CASE("withheld_from_smolvm keeps every SMOLVM_ variable from smolvm but its own parts", "[smolvm]") {
  CHECK(bs::smolvm::withheld_from_smolvm("SMOLVM_MACHINE_NAME"));
  CHECK(bs::smolvm::withheld_from_smolvm("SMOLVM_DATA_DIR"));
  CHECK(bs::smolvm::withheld_from_smolvm("SMOLVM_EGRESS_FLOOR"));
  CHECK(bs::smolvm::withheld_from_smolvm("SMOLVM_EGRESS_ALLOW_PRIVATE"));
  CHECK(bs::smolvm::withheld_from_smolvm("SMOLVM_CONFIG"));
  CHECK_FALSE(bs::smolvm::withheld_from_smolvm("SMOLVM_LIB_DIR"));
  CHECK_FALSE(bs::smolvm::withheld_from_smolvm("SMOLVM_AGENT_ROOTFS"));
  CHECK_FALSE(bs::smolvm::withheld_from_smolvm("SMOLVM_SIM_HANG_SECS"));
  CHECK_FALSE(bs::smolvm::withheld_from_smolvm("HOME"));
  CHECK_FALSE(bs::smolvm::withheld_from_smolvm("PATH"));
}
