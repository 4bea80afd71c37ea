// `machine delete`: stop a running VM first (no DB write), ask unless -f, then remove the data dir
// and the row (src/cli/vm_common.rs delete_vm). Without -f, 1.32.2 refuses when stdin is not a
// terminal (exit 1, nothing changed); on a terminal it asks, and without a "y" nothing is deleted
// and the exit code is still 0.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>

#include "tools/smolvm-sim/machine_cli.h"
#include "tools/smolvm-sim/vm_process.h"
#include "tools/smolvm-sim/vm_runtime.h"

namespace bs::sim {
namespace {

Done delete_machine(const Machine& m, const ParsedArgs& a);

}  // namespace

const Subcommand kDelete = {"Delete a machine configuration",
                            {"smolvm machine delete [OPTIONS] --name <NAME>",
                             {{"name", 'n', "NAME"}, {"force", 'f', ""}, {"cascade", 0, ""}},
                             {"name"},
                             false},
                            delete_machine};

namespace {

bool confirmed(const std::string& name) {
  std::fprintf(stderr, "Delete machine '%s'? [y/N] ", name.c_str());
  std::fflush(stderr);
  std::string line;
  if (!std::getline(std::cin, line)) return false;  // EOF: read_line gives "" -> Cancelled
  std::string t;
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return t == "y" || t == "yes";
}

Done delete_machine(const Machine& m, const ParsedArgs& a) {
  const std::string name = *a.one("name");
  const bool force = a.has("force") || a.has("cascade");
  auto db = m.open_db();
  if (!db) return db.error();
  auto all = db->list_vms();
  if (!all) return all.error();
  std::optional<VmRecord> record;
  for (auto& [n, rec] : *all) {
    if (n == name) record = std::move(rec);
  }
  if (!record) return vm_not_found(name);

  // Checked before anything is done (1.32.2's order relative to stopping a running VM is not
  // observed: no VM boots where the sim was compared with it).
  if (!force && isatty(STDIN_FILENO) == 0) {
    return agent_error("delete", "machine '" + name +
                                     "' needs confirmation but stdin is not a terminal; pass --force to delete it, "
                                     "or --cascade to remove it together with any machines branched from it");
  }

  const VmFiles files = VmFiles::of(m.paths, name);
  if (resolve_state(*record) == "running") {
    std::printf("Stopping machine '%s'...\n", name.c_str());
    std::fflush(stdout);
    if (auto e = stop_agent(files)) return e;
    if (auto pid = record->pid(); pid && is_alive(*pid)) {
      return agent_error("delete machine", "machine '" + name + "' process is still alive after stop");
    }
  }
  if (!force && !confirmed(name)) {
    std::printf("Cancelled\n");
    return std::nullopt;
  }

  std::error_code ec;
  if (std::filesystem::exists(files.dir, ec)) {
    std::printf("Cleaning up data directory for vm: %s\n", name.c_str());
    std::filesystem::remove_all(files.dir, ec);
    if (ec) return storage_error("delete machine data", files.dir + ": " + os_error_text(ec.value()));
  }
  auto removed = db->remove_vm(name);
  if (!removed) return removed.error();
  std::printf("Deleted machine: %s\n", name.c_str());
  return std::nullopt;
}

}  // namespace
}  // namespace bs::sim
