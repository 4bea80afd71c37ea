#include "smolvm/cli.h"

namespace bs::smolvm {

std::vector<std::string> create_argv(const std::string& bin, const CreateArgs& args) {
  std::vector<std::string> argv = {bin, "machine", "create", "--name", args.name};
  if (args.from) {
    argv.insert(argv.end(), {"--from", *args.from});
  } else if (args.image) {
    argv.insert(argv.end(), {"--image", *args.image});
  }
  argv.insert(argv.end(), {"--cpus", std::to_string(args.cpus), "--mem", std::to_string(args.mem_mib), "--net"});
  for (const auto& cidr : args.allow_cidrs) argv.insert(argv.end(), {"--allow-cidr", cidr});
  for (const auto& [key, value] : args.labels) argv.insert(argv.end(), {"--label", key + "=" + value});
  return argv;
}

std::vector<std::string> start_argv(const std::string& bin, const std::string& name) {
  return {bin, "machine", "start", "--name", name};
}

std::vector<std::string> stop_argv(const std::string& bin, const std::string& name) {
  return {bin, "machine", "stop", "--name", name};
}

// -f always: without it smolvm prompts, and with no terminal prints "Cancelled" and exits 0.
std::vector<std::string> delete_argv(const std::string& bin, const std::string& name) {
  return {bin, "machine", "delete", "--name", name, "-f"};
}

std::vector<std::string> version_argv(const std::string& bin) { return {bin, "--version"}; }

const char* to_string(CliOutcome outcome) {
  switch (outcome) {
    case CliOutcome::Ok: return "ok";
    case CliOutcome::AlreadyExists: return "already-exists";
    case CliOutcome::NotFound: return "not-found";
    case CliOutcome::AlreadyRunning: return "already-running";
    case CliOutcome::NotRunning: return "not-running";
    case CliOutcome::Cancelled: return "cancelled";
    case CliOutcome::Failed: return "failed";
  }
  return "unknown";
}

bool version_supported(std::string_view version) {
  return version_at_least(version, 1, 32, 0) && !version_at_least(version, 1, 33, 0);
}

bool withheld_from_smolvm(std::string_view v) {
  if (v.substr(0, 7) != "SMOLVM_") return false;
  if (v.substr(0, 11) == "SMOLVM_SIM_") return false;
  return v != "SMOLVM_LIB_DIR" && v != "SMOLVM_AGENT_ROOTFS";
}

}  // namespace bs::smolvm
