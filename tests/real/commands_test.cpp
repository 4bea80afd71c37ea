// The supervisor's one-shot commands against real smolvm: `reconcile --once` and `preflight`.
#include <catch2/catch.hpp>

#include "real/real_smolvm.h"

using namespace bs::real;

TEST_CASE("real: reconcile --once creates and confines a stopped bottle, then has nothing to do", "[real]") {
  require_real_smolvm();
  RealHome h;
  h.write_spec("b1", spec_toml("state = \"stopped\""));

  RunResult once = h.cli({"reconcile", "--once"}, {}, Ms(60000));
  INFO(once.describe());
  CHECK(once.exit_code == 0);
  auto row = h.row("bottle-b1");
  REQUIRE(row);
  CHECK(row->blob);
  CHECK(row->json()["allowed_cidrs"] == kFirstAllowlist);
  CHECK(h.listed("bottle-b1"));
  CHECK(h.events("created", "b1").size() == 1);
  CHECK(h.events("lease-acquired", "b1").size() == 1);

  // Converged: a second pass changes nothing.
  RunResult again = h.cli({"reconcile", "--once"}, {}, Ms(60000));
  INFO(again.describe());
  CHECK(again.exit_code == 0);
  CHECK(h.row("bottle-b1")->data == row->data);
  CHECK(h.events("created", "b1").size() == 1);
  CHECK(h.events("patched", "b1").size() + h.events("verified", "b1").size() >= 1);
}

TEST_CASE("real: preflight reports real smolvm's version", "[real]") {
  require_real_smolvm();
  RealHome h;
  RunResult r = h.cli({"preflight"});
  INFO(r.describe());
  CHECK(contains(r.out, "ok    smolvm " + real_smolvm().version + " (" + real_smolvm().path + ")"));
  CHECK_FALSE(contains(r.out + r.err, "older than"));
  // /dev/kvm aside (a host matter preflight reports on its own), nothing about smolvm blocks.
  if (r.exit_code != 0) CHECK(contains(r.out + r.err, "kvm"));
}

// The supervisor derives a machine's VM data dir (where agent.pid and agent.config.json are, and
// what a VM's command line names) as smolvm 1.32.2 does: the real binary is the judge.
TEST_CASE("real: the supervisor's data dir of a machine is the one smolvm reports", "[real]") {
  require_real_smolvm();
  RealHome h;
  for (const std::string m : {"bottle-a", "x", "bottle-some-long-name-0123456789"}) {
    RunResult created = h.smolvm({"machine", "create", "--name", m, "--cpus", "1", "--mem", "256"});
    INFO(created.describe());
    REQUIRE(created.exit_code == 0);
    CHECK(h.data_dir(m) == h.smolvm_paths().vm_data_dir(m));
    CHECK(h.smolvm_paths().boot_config(m) == h.data_dir(m) + "/boot-config.json");
  }
}
