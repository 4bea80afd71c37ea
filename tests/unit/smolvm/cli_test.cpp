#include <catch2/catch.hpp>

#include "smolvm/cli.h"

using namespace bs::smolvm;
using Argv = std::vector<std::string>;

TEST_CASE("argv builders spell the smolvm CLI subset", "[smolvm]") {
  CreateArgs image{"bottle-a", std::string("alpine:3.20"), std::nullopt, 1, 512, {"127.0.0.16/32", "10.0.0.0/8"}};
  CHECK(create_argv("smolvm", image) ==
        Argv{"smolvm", "machine", "create", "--name", "bottle-a", "--image", "alpine:3.20", "--cpus", "1",
             "--mem", "512", "--net", "--allow-cidr", "127.0.0.16/32", "--allow-cidr", "10.0.0.0/8"});
  CreateArgs from{"bottle-b", std::nullopt, std::string("/abs/a.smolmachine"), 2, 1024, {"127.0.0.17/32"}};
  CHECK(create_argv("/usr/bin/smolvm", from) ==
        Argv{"/usr/bin/smolvm", "machine", "create", "--name", "bottle-b", "--from", "/abs/a.smolmachine",
             "--cpus", "2", "--mem", "1024", "--net", "--allow-cidr", "127.0.0.17/32"});
  CreateArgs labelled{"bottle-c", std::string("alpine:3.20"), std::nullopt, 1, 512, {"127.0.0.18/32"},
                      {{kBottleLabel, "agent-1"}}};
  CHECK(create_argv("smolvm", labelled) ==
        Argv{"smolvm", "machine", "create", "--name", "bottle-c", "--image", "alpine:3.20", "--cpus", "1", "--mem",
             "512", "--net", "--allow-cidr", "127.0.0.18/32", "--label", "bottle-supervisor.bottle=agent-1"});
  CHECK(start_argv("smolvm", "m") == Argv{"smolvm", "machine", "start", "--name", "m"});
  CHECK(stop_argv("smolvm", "m") == Argv{"smolvm", "machine", "stop", "--name", "m"});
  CHECK(delete_argv("smolvm", "m") == Argv{"smolvm", "machine", "delete", "--name", "m", "-f"});
  CHECK(version_argv("smolvm") == Argv{"smolvm", "--version"});
}

namespace {

struct Row {
  int exit_code;
  std::string out, err;
  CliOutcome outcome;
  std::string message;
  std::optional<std::int64_t> pid = std::nullopt;
};

void check_table(CliResult (*parse)(int, std::string_view, std::string_view), const std::vector<Row>& rows) {
  for (const auto& r : rows) {
    INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CliResult got = parse(r.exit_code, r.out, r.err);
    CHECK(to_string(got.outcome) == std::string(to_string(r.outcome)));
    CHECK(got.message == r.message);
    CHECK(got.pid == r.pid);
  }
}

const std::string kKvmMissing =
    "kvm not available: KVM not available. Ensure KVM kernel module is loaded.\n"
    "Try: sudo modprobe kvm && sudo modprobe kvm_intel  # (or kvm_amd)";
const std::string kKvmDenied =
    "kvm permission denied: Cannot access /dev/kvm (permission denied).\nAdd your user to the 'kvm' group:\n\n"
    "sudo usermod -aG kvm $USER\n\nThen log out and log back in for the change to take effect.";

}  // namespace

TEST_CASE("parse_create", "[smolvm]") {
  check_table(parse_create, {
      {0, "Created machine: sb1\n  CPUs: 1, Memory: 512 MiB\n\nhint one\nhint two\n", "", CliOutcome::Ok,
       "Created machine: sb1"},
      {0, "Extracting .smolmachine assets...\nCreated machine: sb1\n  CPUs: 4, Memory: 8192 MiB\n", "",
       CliOutcome::Ok, "Created machine: sb1"},
      {1, "", "Error: config operation failed: create machine: machine 'sb1' already exists or is being created\n",
       CliOutcome::AlreadyExists,
       "config operation failed: create machine: machine 'sb1' already exists or is being created"},
      {1, "", "Error: config operation failed: validate resources: CPU count must be at least 1\n", CliOutcome::Failed,
       "config operation failed: validate resources: CPU count must be at least 1"},
      {1, "", "Error: config operation failed: create from .smolmachine: file not found: /x.smolmachine\n",
       CliOutcome::Failed, "config operation failed: create from .smolmachine: file not found: /x.smolmachine"},
      {1, "", "Error: database operation failed: insert vm: database is locked\n", CliOutcome::Failed,
       "database operation failed: insert vm: database is locked"},
      {1, "", "Error: database not available: open database: unable to open database file\n", CliOutcome::Failed,
       "database not available: open database: unable to open database file"},
      {2, "",
       "error: invalid value '300.1.1.1' for '--allow-cidr <CIDR>': invalid CIDR '300.1.1.1': expected format like "
       "10.0.0.0/8 or 1.1.1.1\n\nFor more information, try '--help'.\n",
       CliOutcome::Failed,
       "smolvm rejected the arguments: invalid value '300.1.1.1' for '--allow-cidr <CIDR>': invalid CIDR "
       "'300.1.1.1': expected format like 10.0.0.0/8 or 1.1.1.1"},
      {2, "", "error: unexpected argument '--bogus' found\n\nUsage: smolvm machine create [OPTIONS]\n",
       CliOutcome::Failed, "smolvm rejected the arguments: unexpected argument '--bogus' found"},
      {2, "", "", CliOutcome::Failed, "smolvm rejected the arguments (exit status 2)"},
      {1, "", "something odd\n", CliOutcome::Failed, "smolvm exited with status 1: something odd"},
      {-1, "", "", CliOutcome::Failed, "smolvm did not finish (killed or timed out)"},
  });
}

TEST_CASE("parse_start", "[smolvm]") {
  check_table(parse_start, {
      {0, "Machine 'sb1' running (PID: 4242)\n", "Starting machine 'sb1'...\n", CliOutcome::Ok,
       "Machine 'sb1' running (PID: 4242)", 4242},
      {0, "Machine 'sb1' already running (PID: 77)\n", "", CliOutcome::AlreadyRunning,
       "Machine 'sb1' already running (PID: 77)", 77},
      {0, "Machine 'sb1' is unreachable (PID 50 alive but agent unresponsive); cleaning up.\nMachine 'sb1' running (PID: 51)\n",
       "Killing orphaned _boot-vm process (PID 40) for machine 'sb1'\nStarting machine 'sb1'...\nPulling alpine:3.20...\n",
       CliOutcome::Ok, "Machine 'sb1' running (PID: 51)", 51},
      {0, "Machine 'sb1' running (PID: x)\n", "", CliOutcome::Ok, "Machine 'sb1' running (PID: x)"},
      {0, "", "", CliOutcome::Ok, ""},
      {1, "", "Error: vm not found: sb1\n", CliOutcome::NotFound, "vm not found: sb1"},
      {1, "", "Starting machine 'sb1'...\nError: agent operation failed: start machine: " + kKvmMissing + "\n",
       CliOutcome::Failed, "agent operation failed: start machine: " + kKvmMissing},
      {1, "", "Error: agent operation failed: start machine: " + kKvmDenied + "\n", CliOutcome::Failed,
       "agent operation failed: start machine: " + kKvmDenied},
      {1, "", "Error: agent operation failed: start machine: kvm not available: Failed to access /dev/kvm: I/O error\n",
       CliOutcome::Failed, "agent operation failed: start machine: kvm not available: Failed to access /dev/kvm: I/O error"},
      {1, "", "Error: agent operation failed: start machine: another process is already starting or running this VM\n",
       CliOutcome::Failed,
       "agent operation failed: start machine: another process is already starting or running this VM"},
      {1, "", "Error: invalid vm state: expected stopped, got Running\n", CliOutcome::Failed,
       "invalid vm state: expected stopped, got Running"},
  });
}

TEST_CASE("parse_stop", "[smolvm]") {
  check_table(parse_stop, {
      {0, "Stopping machine 'sb1'...\nStopped machine: sb1\n", "", CliOutcome::Ok, "Stopped machine: sb1"},
      {0, "Machine 'sb1' is not running (state: stopped)\n", "", CliOutcome::NotRunning,
       "Machine 'sb1' is not running (state: stopped)"},
      {0, "Machine 'sb1' is not running (state: created)\n", "", CliOutcome::NotRunning,
       "Machine 'sb1' is not running (state: created)"},
      {1, "", "Error: vm not found: sb1\n", CliOutcome::NotFound, "vm not found: sb1"},
      {1, "Stopping machine 'sb1'...\n",
       "Error: agent operation failed: stop agent: process 4242 still alive after stop attempts\n", CliOutcome::Failed,
       "agent operation failed: stop agent: process 4242 still alive after stop attempts"},
      {1, "", "Error: database operation failed: deserialize vm record 'x': invalid type\n", CliOutcome::Failed,
       "database operation failed: deserialize vm record 'x': invalid type"},
  });
}

TEST_CASE("parse_delete", "[smolvm]") {
  check_table(parse_delete, {
      {0, "Cleaning up data directory for vm: sb1\nDeleted machine: sb1\n", "", CliOutcome::Ok, "Deleted machine: sb1"},
      {0, "Stopping machine 'sb1'...\nDeleted machine: sb1\n", "", CliOutcome::Ok, "Deleted machine: sb1"},
      {0, "Cancelled\n", "Delete machine 'sb1'? [y/N] ", CliOutcome::Cancelled,
       "smolvm cancelled the delete at its confirmation prompt (nothing deleted)"},
      {1, "", "Error: vm not found: sb1\n", CliOutcome::NotFound, "vm not found: sb1"},
      {1, "Stopping machine 'sb1'...\n",
       "Error: agent operation failed: delete machine: machine 'sb1' process is still alive after stop\n",
       CliOutcome::Failed, "agent operation failed: delete machine: machine 'sb1' process is still alive after stop"},
  });
}

TEST_CASE("an Error: line is found after other stderr output, not inside it", "[smolvm]") {
  auto r = parse_stop(1, "", "note: Error: is not at line start\nError: vm not found: a\n");
  CHECK(r.outcome == CliOutcome::NotFound);
  CHECK(r.message == "vm not found: a");
  r = parse_stop(1, "", "warning: Error: vm not found: b\n");
  CHECK(r.outcome == CliOutcome::Failed);
  CHECK(r.message == "smolvm exited with status 1: warning: Error: vm not found: b");
}

TEST_CASE("parse_version and version_at_least", "[smolvm]") {
  CHECK(parse_version("smolvm 1.9.2\n") == std::optional<std::string>("1.9.2"));
  CHECK(parse_version("smolvm 1.10.0") == std::optional<std::string>("1.10.0"));
  CHECK(parse_version("smolvm 1.8.0-rc1\nmore\n") == std::optional<std::string>("1.8.0-rc1"));
  CHECK_FALSE(parse_version("").has_value());
  CHECK_FALSE(parse_version("other 1.9.2").has_value());
  CHECK_FALSE(parse_version("smolvm\n").has_value());
  CHECK_FALSE(parse_version("smolvm v1.9.2").has_value());

  CHECK(version_at_least("1.9.2", 1, 8, 0));
  CHECK(version_at_least("1.8.0", 1, 8, 0));
  CHECK(version_at_least("1.8.0", 1, 8));
  CHECK(version_at_least("1.10.0", 1, 9, 9));
  CHECK(version_at_least("2.0.0", 1, 99, 99));
  CHECK(version_at_least("1.8.0+build.5", 1, 8, 0));
  CHECK_FALSE(version_at_least("1.7.6", 1, 8, 0));
  CHECK_FALSE(version_at_least("0.9.9", 1, 8, 0));
  CHECK_FALSE(version_at_least("1.8.0-rc1", 1, 8, 0));
  CHECK(version_at_least("1.8.1-rc1", 1, 8, 0));
  CHECK_FALSE(version_at_least("1.8", 1, 8, 0));
  CHECK_FALSE(version_at_least("", 0, 0, 0));
  CHECK_FALSE(version_at_least("1.8.x", 1, 8, 0));
  CHECK_FALSE(version_at_least("1.8.0garbage", 1, 8, 0));
  CHECK_FALSE(version_at_least("99999999999.0.0", 1, 0, 0));
}
