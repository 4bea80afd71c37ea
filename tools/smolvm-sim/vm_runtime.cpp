#include "tools/smolvm-sim/vm_runtime.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "tools/smolvm-sim/vm_process.h"

namespace bs::sim {
namespace {

constexpr std::chrono::seconds kAgentStopTimeout{2};
constexpr std::chrono::seconds kSigkillTimeout{3};

}  // namespace

VmFiles VmFiles::of(const smolvm::Paths& paths, const std::string& machine) {
  VmFiles f;
  f.dir = paths.vm_data_dir(machine);
  f.boot_config = f.dir + "/boot-config.json";
  f.agent_config = f.dir + "/agent.config.json";
  f.agent_pid = f.dir + "/agent.pid";
  f.agent_sock = f.dir + "/agent.sock";
  f.vmm_exit = f.dir + "/vmm-exit.json";
  f.vm_lock = f.dir + "/vm.lock";
  f.name_file = f.dir + "/name";
  return f;
}

std::string resolve_state(const VmRecord& record) {
  const std::string stored = record.state();
  if (stored != "running") return stored;
  auto pid = record.pid();
  if (pid && is_our_process(*pid, record.pid_start_time())) return "running";
  return "stopped";
}

Done ensure_vm_dir(const VmFiles& files, const std::string& machine) {
  std::error_code ec;
  std::filesystem::create_directories(files.dir, ec);
  if (ec) return agent_error("create agent manager", os_error_text(ec.value()));
  std::ifstream in(files.name_file, std::ios::binary);
  if (in) {
    std::ostringstream existing;
    existing << in.rdbuf();
    if (existing.str() == machine) return std::nullopt;
    std::string other = existing.str();
    while (!other.empty() && (other.back() == '\n' || other.back() == ' ')) other.pop_back();
    return agent_error("create agent manager",
                       "VM directory hash collision: requested name '" + machine +
                           "' hashes to the same directory as existing VM '" + other + "' at " + files.dir +
                           ". Rename one of them.");
  }
  std::ofstream out(files.name_file, std::ios::binary | std::ios::trunc);
  out << machine;
  if (!out) return agent_error("create agent manager", "write " + files.name_file);
  return std::nullopt;
}

void cleanup_marker_files(const VmFiles& files) {
  unlink(files.agent_pid.c_str());
  unlink(files.agent_config.c_str());
  unlink(files.agent_sock.c_str());
}

void kill_orphaned_boot_process(const VmFiles& files, const std::string& machine) {
  auto pf = read_pid_file(files.agent_pid);
  if (!pf) return;
  if (!is_alive(pf->pid)) {
    unlink(files.agent_pid.c_str());  // stale pid file
    return;
  }
  // A recycled pid belonging to something else never carries this VM's boot-config path.
  if (!cmdline_contains(pf->pid, files.boot_config)) return;
  std::fprintf(stderr, "Killing orphaned _boot-vm process (PID %d) for machine '%s'\n", pf->pid, machine.c_str());
  stop_vm_process(pf->pid, kAgentStopTimeout, kSigkillTimeout);
  unlink(files.agent_pid.c_str());
}

Done stop_agent(const VmFiles& files) {
  if (auto pf = read_pid_file(files.agent_pid)) {
    const bool identity_ok =
        is_our_process_strict(pf->pid, pf->start_time) || cmdline_contains(pf->pid, files.boot_config);
    if (identity_ok) stop_vm_process(pf->pid, kAgentStopTimeout, kSigkillTimeout);
    if (is_alive(pf->pid)) {
      // Unverified or unkillable: keep the pid file so the next attempt still knows the pid.
      return agent_error("stop agent", "process " + std::to_string(pf->pid) + " still alive after stop attempts");
    }
  }
  cleanup_marker_files(files);
  return std::nullopt;
}

}  // namespace bs::sim
