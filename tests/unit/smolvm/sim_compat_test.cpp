// The contract layer against smolvm-sim, the stand-in for real smolvm: the records the sim writes
// parse, the patches we write the sim reads back and boots with, and every CLI message the sim
// prints lands in the right outcome. Skipped (with a warning) only when the sim is not built.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "fixture_db.h"
#include "smolvm/boot_config.h"
#include "smolvm/running_vm.h"
#include "smolvm/cli.h"
#include "smolvm/paths.h"
#include "smolvm/vm_table.h"
#include "support/child_run.h"
#include "support/files.h"
#include "support/proc.h"
#include "support/vm_cleanup.h"

using namespace bs::smolvm;

namespace {

const std::string kSim = BS_BUILD_DIR "/smolvm-sim";

// Runs the sim the way the supervisor runs smolvm: argv, this process's environment without any
// SMOLVM_* or XDG_* variable plus `env`, stdin from /dev/null, both streams captured.
bs::test::RunResult run_sim(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  return bs::test::run(argv, {bs::test::inherited_env({"SMOLVM_", "XDG_"}, env), std::nullopt,
                              std::chrono::seconds(30)});
}

bool sim_built() {
  struct stat st {};
  if (::stat(kSim.c_str(), &st) != 0) return false;
  // The skeleton's placeholder binary also exists but is no smolvm.
  auto v = run_sim(version_argv(kSim), {});
  return parse_version(v.out).has_value();
}

// Kills, at scope exit, a VM the test started: by its pid, and only while that pid still has the
// recorded start time (so a recycled pid is never signalled).
class VmGuard {
 public:
  VmGuard() = default;
  VmGuard(const VmGuard&) = delete;
  VmGuard& operator=(const VmGuard&) = delete;
  ~VmGuard() {
    if (pid_ > 0 && start_) bs::test::kill_verified_and_reap(pid_, *start_);
  }
  void watch(std::int64_t pid) {
    pid_ = pid;
    start_ = bs::test::pid_start_time(pid);
  }

 private:
  std::int64_t pid_ = 0;
  std::optional<std::uint64_t> start_;
};

struct Sim {
  bs::test::TempDir root;
  Paths paths = derive_paths(bs::platform::map_env({{"SMOLVM_DATA_DIR", root.path()}}));

  bs::test::RunResult run(std::vector<std::string> argv, std::map<std::string, std::string> env = {}) {
    env["SMOLVM_DATA_DIR"] = root.path();
    return run_sim(argv, env);
  }
  VmTable table() {
    auto t = VmTable::open(paths.db);
    if (!t) FAIL(t.error().message);
    return std::move(t).value();
  }
  MachineRow row(VmTable& t, const std::string& name) {
    auto r = t.read_one(name);
    REQUIRE(r.has_value());
    REQUIRE(r->has_value());
    return **r;
  }
};

CreateArgs bottle(const std::string& name, std::vector<std::string> cidrs) {
  return CreateArgs{name, std::string("alpine:3.20"), std::nullopt, 1, 512, std::move(cidrs)};
}

#define SKIP_WITHOUT_SIM()                                                            \
  do {                                                                                \
    if (!sim_built()) {                                                               \
      WARN("smolvm-sim is not built at " << kSim << "; skipping this sim test");     \
      return;                                                                         \
    }                                                                                 \
  } while (0)

}  // namespace

TEST_CASE("sim: a patched row is read back, booted with and survives stop", "[smolvm]") {
  SKIP_WITHOUT_SIM();
  Sim sim;
  VmGuard vm;

  auto created = sim.run(create_argv(kSim, bottle("sb1", {"127.0.0.16/32"})));
  REQUIRE(parse_create(created.exit_code, created.out, created.err).outcome == CliOutcome::Ok);

  VmTable table = sim.table();
  MachineRow fresh = sim.row(table, "sb1");
  REQUIRE(fresh.problem == MachineRow::Problem::None);
  CHECK(fresh.record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});
  CHECK(fresh.record.network);
  CHECK(fresh.record.state == "created");
  CHECK(fresh.record.cpus == 1);
  CHECK(fresh.record.mem == 512);

  RecordPatch patch;
  patch.allowed_cidrs = std::vector<std::string>{"127.0.0.17/32"};
  auto patched = table.patch("sb1", patch);
  INFO(patched.message);
  REQUIRE(patched.outcome == PatchOutcome::Patched);
  {
    bs::test::FixtureDb check(sim.paths.db, false);
    CHECK(check.type_of_data("sb1") == "blob");
  }
  auto ls = sim.run({kSim, "machine", "ls", "--json"});
  INFO(ls.err);
  CHECK(ls.exit_code == 0);

  auto started = sim.run(start_argv(kSim, "sb1"));
  INFO(started.out << started.err);
  CliResult start = parse_start(started.exit_code, started.out, started.err);
  REQUIRE(start.outcome == CliOutcome::Ok);
  REQUIRE(start.pid.has_value());
  vm.watch(*start.pid);

  MachineRow running = sim.row(table, "sb1");
  REQUIRE(running.problem == MachineRow::Problem::None);
  CHECK(running.record.state == "running");
  CHECK(running.record.pid == start.pid);
  CHECK(running.record.pid_start_time == bs::test::pid_start_time(*start.pid));
  CHECK(running.record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.17/32"});

  std::string cmdline = bs::test::read_file("/proc/" + std::to_string(*start.pid) + "/cmdline");
  CHECK(boot_config_from_cmdline(cmdline) == sim.paths.boot_config("sb1"));
  CHECK(sim.paths.vm_command_line("sb1").matches(cmdline));
  // As smolvm 1.32.2: the VM deleted boot-config.json; agent.pid names it and agent.config.json
  // holds what it booted with.
  auto agent = bs::smolvm::read_agent_pid(sim.paths.vm_data_dir("sb1"));
  REQUIRE(agent.has_value());
  REQUIRE(agent->has_value());
  CHECK((*agent)->pid == *start.pid);
  CHECK((*agent)->start_time == bs::test::pid_start_time(*start.pid));
  auto booted = bs::smolvm::read_running_policy(sim.paths.vm_data_dir("sb1"));
  REQUIRE(booted.has_value());
  CHECK(booted->kind == AllowedCidrs::Kind::List);
  CHECK(booted->cidrs == std::vector<std::string>{"127.0.0.17/32"});

  auto again = sim.run(start_argv(kSim, "sb1"));
  CliResult already = parse_start(again.exit_code, again.out, again.err);
  CHECK(already.outcome == CliOutcome::AlreadyRunning);
  CHECK(already.pid == start.pid);

  auto stopped = sim.run(stop_argv(kSim, "sb1"));
  INFO(stopped.out << stopped.err);
  CHECK(parse_stop(stopped.exit_code, stopped.out, stopped.err).outcome == CliOutcome::Ok);
  MachineRow after_stop = sim.row(table, "sb1");
  REQUIRE(after_stop.problem == MachineRow::Problem::None);
  CHECK(after_stop.record.state == "stopped");
  CHECK_FALSE(after_stop.record.pid.has_value());
  CHECK(after_stop.record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.17/32"});

  auto stop_again = sim.run(stop_argv(kSim, "sb1"));
  CHECK(parse_stop(stop_again.exit_code, stop_again.out, stop_again.err).outcome == CliOutcome::NotRunning);
}

TEST_CASE("sim: every CLI outcome the supervisor relies on", "[smolvm]") {
  SKIP_WITHOUT_SIM();
  Sim sim;

  auto version = sim.run(version_argv(kSim));
  auto v = parse_version(version.out);
  REQUIRE(v.has_value());
  CHECK(version_at_least(*v, 1, 8, 0));
  auto old = sim.run(version_argv(kSim), {{"SMOLVM_SIM_VERSION", "1.7.6"}});
  CHECK(parse_version(old.out) == std::optional<std::string>("1.7.6"));

  auto created = sim.run(create_argv(kSim, bottle("sb1", {"127.0.0.16/32"})));
  CHECK(parse_create(created.exit_code, created.out, created.err).outcome == CliOutcome::Ok);
  auto dup = sim.run(create_argv(kSim, bottle("sb1", {"127.0.0.16/32"})));
  CliResult dup_result = parse_create(dup.exit_code, dup.out, dup.err);
  CHECK(dup_result.outcome == CliOutcome::AlreadyExists);
  CHECK(dup_result.message == "config operation failed: create machine: machine 'sb1' already exists or is being created");

  auto bad_cidr = sim.run(create_argv(kSim, bottle("sb2", {"300.1.1.1"})));
  CliResult bad = parse_create(bad_cidr.exit_code, bad_cidr.out, bad_cidr.err);
  CHECK(bad_cidr.exit_code == 2);
  CHECK(bad.outcome == CliOutcome::Failed);
  CHECK_THAT(bad.message, Catch::StartsWith("smolvm rejected the arguments: ") &&
                              Catch::Contains("invalid CIDR '300.1.1.1'"));

  auto failing = sim.run(start_argv(kSim, "sb1"), {{"SMOLVM_SIM_FAIL_START", "kvm not available: boom"}});
  CliResult fail = parse_start(failing.exit_code, failing.out, failing.err);
  CHECK(fail.outcome == CliOutcome::Failed);
  CHECK(fail.message == "agent operation failed: start machine: kvm not available: boom");

  for (auto argv : {start_argv(kSim, "nope"), stop_argv(kSim, "nope"), delete_argv(kSim, "nope")}) {
    auto r = sim.run(argv);
    INFO(argv[2]);
    CliResult parsed = argv[2] == "start" ? parse_start(r.exit_code, r.out, r.err)
                       : argv[2] == "stop" ? parse_stop(r.exit_code, r.out, r.err)
                                           : parse_delete(r.exit_code, r.out, r.err);
    CHECK(parsed.outcome == CliOutcome::NotFound);
    CHECK(parsed.message == "vm not found: nope");
  }

  auto stop_created = sim.run(stop_argv(kSim, "sb1"));
  CHECK(parse_stop(stop_created.exit_code, stop_created.out, stop_created.err).outcome == CliOutcome::NotRunning);

  // Without -f and with stdin not a terminal, smolvm 1.32.2 refuses (1.9.2 printed Cancelled and
  // exited 0): either way nothing is deleted, and the supervisor always passes -f.
  auto cancelled = sim.run({kSim, "machine", "delete", "--name", "sb1"});
  CHECK(cancelled.exit_code == 1);
  CHECK(parse_delete(cancelled.exit_code, cancelled.out, cancelled.err).outcome != CliOutcome::Ok);
  VmTable table = sim.table();
  CHECK(table.read_one("sb1")->has_value());

  auto deleted = sim.run(delete_argv(kSim, "sb1"));
  CHECK(parse_delete(deleted.exit_code, deleted.out, deleted.err).outcome == CliOutcome::Ok);
  CHECK_FALSE(table.read_one("sb1")->has_value());
}

TEST_CASE("sim: a TEXT-typed row breaks smolvm and VmTable says so", "[smolvm]") {
  SKIP_WITHOUT_SIM();
  Sim sim;
  auto created = sim.run(create_argv(kSim, bottle("sb1", {"127.0.0.16/32"})));
  REQUIRE(created.exit_code == 0);
  VmTable table = sim.table();
  auto v0 = table.data_version();
  REQUIRE(v0.has_value());
  {
    bs::test::FixtureDb other(sim.paths.db, false);
    other.put_text("sb1", bs::test::smolvm_record_bytes("sb1"));
  }
  CHECK(*table.data_version() != *v0);

  auto ls = sim.run({kSim, "machine", "ls", "--json"});
  CHECK(ls.exit_code == 1);
  CHECK_THAT(ls.err, Catch::StartsWith("Error: database operation failed"));

  MachineRow row = sim.row(table, "sb1");
  CHECK(row.problem == MachineRow::Problem::TextTyped);
  RecordPatch patch;
  patch.allowed_cidrs = std::vector<std::string>{"127.0.0.16/32"};
  CHECK(table.patch("sb1", patch).outcome == PatchOutcome::RowUnreadable);
}

TEST_CASE("sim: the booted policy can differ from the row", "[smolvm]") {
  SKIP_WITHOUT_SIM();
  Sim sim;
  VmGuard vm;
  REQUIRE(sim.run(create_argv(kSim, bottle("sb1", {"127.0.0.16/32"}))).exit_code == 0);
  auto started = sim.run(start_argv(kSim, "sb1"), {{"SMOLVM_SIM_FORCE_POLICY", "[\"0.0.0.0/0\"]"}});
  CliResult start = parse_start(started.exit_code, started.out, started.err);
  REQUIRE(start.outcome == CliOutcome::Ok);
  REQUIRE(start.pid.has_value());
  vm.watch(*start.pid);

  VmTable table = sim.table();
  CHECK(sim.row(table, "sb1").record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});
  auto path = boot_config_from_cmdline(bs::test::read_file("/proc/" + std::to_string(*start.pid) + "/cmdline"));
  REQUIRE(path.has_value());
  auto booted = bs::smolvm::read_running_policy(bs::smolvm::data_dir_of_boot_config(*path).value_or(""));
  REQUIRE(booted.has_value());
  CHECK(booted->cidrs == std::vector<std::string>{"0.0.0.0/0"});
}

TEST_CASE("sim: a machine created with the bottle label carries it, as real smolvm stores it", "[smolvm]") {
  SKIP_WITHOUT_SIM();
  Sim sim;
  CreateArgs args = bottle("sb-label", {"127.0.0.16/32"});
  args.labels = {{kBottleLabel, "agent-1"}};
  auto created = sim.run(create_argv(kSim, args));
  REQUIRE(parse_create(created.exit_code, created.out, created.err).outcome == CliOutcome::Ok);
  auto plain = sim.run(create_argv(kSim, bottle("sb-plain", {"127.0.0.17/32"})));
  REQUIRE(parse_create(plain.exit_code, plain.out, plain.err).outcome == CliOutcome::Ok);

  auto ls = sim.run({kSim, "machine", "ls", "--json"});
  REQUIRE(ls.exit_code == 0);
  const auto machines = nlohmann::json::parse(ls.out);
  std::map<std::string, nlohmann::json> labels;
  for (const auto& m : machines) labels[m.at("name").get<std::string>()] = m.at("labels");
  CHECK(labels.at("sb-label") == nlohmann::json{{"bottle-supervisor.bottle", "agent-1"}});
  CHECK(labels.at("sb-plain") == nlohmann::json::object());
  // The row reads back as a normal, confined machine: the label changes nothing the supervisor checks.
  VmTable table = sim.table();
  MachineRow row = sim.row(table, "sb-label");
  CHECK(row.problem == MachineRow::Problem::None);
  CHECK(row.record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});
}
