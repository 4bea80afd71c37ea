// `machine stop`: snapshot every record, stop the VM named by agent.pid, then write the
// *snapshot* back as a whole-record upsert (src/cli/vm_common.rs stop_vm_named). A change made to
// the row while the stop ran is lost, and a row deleted meanwhile comes back: supervisors must
// re-verify after a stop, and tests need this to be real.
#include <chrono>
#include <cstdio>
#include <thread>

#include "tools/smolvm-sim/machine_cli.h"
#include "tools/smolvm-sim/vm_runtime.h"

namespace bs::sim {
namespace {

Done stop(const Machine& m, const ParsedArgs& a);

}  // namespace

const Subcommand kStop = {"Stop a running machine", {"smolvm machine stop [OPTIONS]", {{"name", 'n', "NAME"}}, {}, false}, stop};

namespace {

Done stop(const Machine& m, const ParsedArgs& a) {
  const std::string name = a.one("name").value_or("default");
  auto db = m.open_db();
  if (!db) return db.error();
  auto all = db->list_vms();  // SmolvmConfig::load(): one unreadable row fails the command
  if (!all) return all.error();
  std::optional<VmRecord> snapshot;
  for (auto& [n, rec] : *all) {
    if (n == name) snapshot = std::move(rec);
  }
  if (!snapshot) return vm_not_found(name);

  const VmFiles files = VmFiles::of(m.paths, name);
  const std::string resolved = resolve_state(*snapshot);
  if (resolved != "running") {
    kill_orphaned_boot_process(files, name);
    std::printf("Machine '%s' is not running (state: %s)\n", name.c_str(), resolved.c_str());
    return std::nullopt;  // and no DB write: a stale "running" row stays as it is
  }

  std::printf("Stopping machine '%s'...\n", name.c_str());
  std::fflush(stdout);
  if (auto e = stop_agent(files)) return e;

  if (m.knobs.stop_window_ms > 0) {
    // SMOLVM_SIM_STOP_WINDOW_MS widens the gap between the snapshot read and the write-back.
    std::this_thread::sleep_for(std::chrono::milliseconds(m.knobs.stop_window_ms));
  }
  snapshot->set("state", "stopped");
  snapshot->set("pid", nullptr);
  snapshot->set("pid_start_time", nullptr);
  (void)db->insert_vm(name, *snapshot);  // SmolvmConfig::update_vm's result is ignored by stop
  std::printf("Stopped machine: %s\n", name.c_str());
  return std::nullopt;
}

}  // namespace
}  // namespace bs::sim
