// A machine's runtime side, as smolvm's AgentManager and state probe see it: the per-VM data dir
// and its files, the resolved state of a record, and the agent.pid-based stop.
#pragma once

#include <string>

#include "smolvm/paths.h"
#include "tools/smolvm-sim/state_db.h"
#include "tools/smolvm-sim/vm_record.h"

namespace bs::sim {

struct VmFiles {
  std::string dir;           // <vms>/<sha256(name)[:16]>
  std::string boot_config;   // what _boot-vm boots with
  std::string agent_config;  // the running config (agent.config.json)
  std::string agent_pid;     // "<pid>\n<starttime>"
  std::string agent_sock;
  std::string vmm_exit;      // how the VM process ended, written when a start fails
  std::string vm_lock;       // per-VM flock held for a whole start
  std::string name_file;     // plaintext name, the hash-collision check

  static VmFiles of(const smolvm::Paths& paths, const std::string& machine);
};

// state_probe::resolve_state: a stored non-running state passes through unprobed; a stored
// "running" is "running" only while its pid is alive with a matching start time, else "stopped".
// (The sim has no agent to ping, so "unreachable" never arises.)
std::string resolve_state(const VmRecord& record);

// ensure_vm_dir: create the dir and write or verify its `name` file.
Done ensure_vm_dir(const VmFiles& files, const std::string& machine);

// kill_orphaned_boot_process: an agent.pid whose process is alive and whose command line names this
// VM's boot-config is a leftover VM; stop it (best effort) and remove the pid file.
void kill_orphaned_boot_process(const VmFiles& files, const std::string& machine);

// AgentManager::stop from a fresh CLI process: the pid comes from agent.pid (not the DB row); it is
// signalled only after an identity check; then the marker files go. Error if it survives.
Done stop_agent(const VmFiles& files);

// Removes agent.pid, agent.config.json and agent.sock.
void cleanup_marker_files(const VmFiles& files);

}  // namespace bs::sim
