#include "tools/smolvm-sim/machine_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>
#include <thread>

#include "tools/smolvm-sim/vm_process.h"
#include "tools/smolvm-sim/vm_runtime.h"

namespace bs::sim {
namespace {

const std::map<std::string, std::pair<std::string, const Subcommand*>>& commands() {
  // alias -> (canonical name, subcommand); SMOLVM_SIM_HANG_COMMANDS matches the canonical name.
  static const std::map<std::string, std::pair<std::string, const Subcommand*>> table = {
      {"create", {"create", &kCreate}}, {"start", {"start", &kStart}},   {"stop", {"stop", &kStop}},
      {"delete", {"delete", &kDelete}}, {"rm", {"delete", &kDelete}},    {"ls", {"ls", &kLs}},
      {"list", {"ls", &kLs}},           {"status", {"status", &kStatus}}, {"data-dir", {"data-dir", &kDataDir}},
      {"update", {"update", &kUpdate}},
  };
  return table;
}

void print_error(const SimError& e) {
  std::fprintf(stderr, "%s: %s\n", e.exit_code == 2 ? "error" : "Error", e.display.c_str());
}

void print_subcommand_help(const Subcommand& sc) {
  std::printf("%s\n\nUsage: %s\n\nOptions:\n", sc.about, sc.spec.usage.c_str());
  for (const auto& f : sc.spec.flags) {
    std::string left = f.short_name != 0 ? std::string("-") + f.short_name + ", " : "    ";
    left += "--" + f.long_name;
    if (!f.value_name.empty()) left += " <" + f.value_name + ">";
    std::printf("  %s\n", left.c_str());
  }
  std::printf("  -h, --help  Print help\n");
}

constexpr const char* kMachineUsage = "smolvm machine <COMMAND>";

void print_machine_help(FILE* to) {
  std::fprintf(to,
               "Manage machines\n\nUsage: %s\n\nCommands:\n"
               "  create    Create a new named machine configuration\n"
               "  start     Start a machine\n"
               "  stop      Stop a running machine\n"
               "  delete    Delete a machine configuration [aliases: rm]\n"
               "  status    Show machine status\n"
               "  ls        List all machines [aliases: list]\n"
               "  update    Modify settings on a stopped machine (mounts, ports, resources, disks)\n"
               "  data-dir  Print the on-disk data directory for a named machine\n"
               "  help      Print this message\n\n"
               "Options:\n  -h, --help  Print help\n",
               kMachineUsage);
}

// cleanup_orphaned_ephemeral_vms: ephemeral records whose VM is gone (or never had a pid) lose their
// row and data dir. Best effort, like smolvm: any error just skips the sweep.
void sweep_orphaned_ephemeral(const Machine& m) {
  auto db = m.open_db();
  if (!db) return;
  auto vms = db->list_vms();
  if (!vms) return;
  for (const auto& [name, record] : *vms) {
    if (!record.ephemeral()) continue;
    auto pid = record.pid();
    if (pid && is_alive(*pid)) continue;
    (void)db->remove_vm(name);
    std::error_code ec;
    std::filesystem::remove_all(VmFiles::of(m.paths, name).dir, ec);
  }
}

// clap's `env = "SMOLVM_MACHINE_NAME"` on every subcommand's --name: the variable fills it in when
// the command line has none.
std::vector<std::string> with_env_name(std::vector<std::string> args, const CommandSpec& spec,
                                       const platform::EnvLookup& env) {
  bool takes_name = false;
  for (const auto& f : spec.flags) takes_name = takes_name || f.long_name == "name";
  auto from_env = env("SMOLVM_MACHINE_NAME");
  if (!takes_name || !from_env || from_env->empty()) return args;
  for (const auto& arg : args) {
    if (arg == "--") break;
    if (arg == "--name" || arg.rfind("--name=", 0) == 0 || arg.rfind("-n", 0) == 0) return args;
  }
  args.insert(args.begin(), {"--name", *from_env});
  return args;
}

}  // namespace

int run_machine(const std::vector<std::string>& args, const Machine& machine) {
  if (args.empty()) {
    print_machine_help(stderr);
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_machine_help(stdout);
    return 0;
  }
  auto it = commands().find(args[0]);
  if (it == commands().end()) {
    std::fprintf(stderr,
                 "error: unrecognized subcommand '%s'\n\nUsage: %s\n\nFor more information, try '--help'.\n",
                 args[0].c_str(), kMachineUsage);
    return 2;
  }
  const auto& [canonical, sc] = it->second;
  auto parsed =
      parse_args(with_env_name(std::vector<std::string>(args.begin() + 1, args.end()), sc->spec, machine.env), sc->spec);
  if (!parsed) {
    print_error(parsed.error());
    return parsed.error().exit_code;
  }
  if (parsed->help) {
    print_subcommand_help(*sc);
    return 0;
  }
  if (sc->check_values != nullptr) {
    if (auto e = sc->check_values(*parsed)) {
      print_error(*e);
      return e->exit_code;
    }
  }
  if (machine.knobs.hangs(canonical)) {
    // Before the DB is touched: a hung smolvm holds nothing, it just does not answer.
    std::this_thread::sleep_for(std::chrono::seconds(machine.knobs.hang_secs));
  }
  sweep_orphaned_ephemeral(machine);
  Done result = sc->run(machine, *parsed);
  std::fflush(stdout);
  if (!result) return 0;
  print_error(*result);
  return result->exit_code;
}

}  // namespace bs::sim
