// VMs for the supervisor's /proc tests: this test binary re-executed exactly as smolvm runs its VM
// (`/proc/self/exe _boot-vm <data dir>/boot-config.json`, see tests/main.cpp), under a smolvm
// layout inside the test's temporary folder. Each runs until the test releases it, and every
// process signalled is the test's own unreaped child (support/forked_child.h).
#pragma once

#include <sys/types.h>

#include <string>

#include "platform/process.h"
#include "smolvm/paths.h"
#include "supervisor/observer.h"
#include "supervisor/process_table.h"
#include "support/forked_child.h"

namespace bs::vm_test {

// smolvm's paths with everything under `dir` (<dir>/smolvm/server/smolvm.db, <dir>/smolvm/vms).
inline bs::smolvm::Paths smolvm_paths_under(const std::string& dir) {
  bs::smolvm::Paths p;
  p.data_root = dir;
  p.server_dir = dir + "/smolvm/server";
  p.db = p.server_dir + "/smolvm.db";
  p.vms_dir = dir + "/smolvm/vms";
  return p;
}

// argv exactly as smolvm's VM process; it runs until released.
inline bs::test::ForkedChild fake_vm(const std::string& boot_config) {
  return bs::test::ForkedChild::exec({"/proc/self/exe", "_boot-vm", boot_config});
}

// Whether `pid`'s command line (as platform reads it) contains `needle`: a forked child shows
// its new command line only once its exec is done.
inline bool has_cmdline(pid_t pid, const std::string& needle) {
  auto c = bs::platform::read_cmdline(pid);
  return c && c->find(needle) != std::string::npos;
}

// A readable row of `machine` naming `pid` (nullopt: no pid).
inline bs::supervisor::RowSnapshot snapshot_with_pid(const std::string& machine, std::optional<std::int64_t> pid) {
  bs::smolvm::MachineRow row;
  row.name = machine;
  row.record.name = machine;
  row.record.pid = pid;
  bs::supervisor::RowSnapshot snap;
  snap.available = true;
  snap.rows[machine] = row;
  return snap;
}

// This host's /proc, with every process made older by `extra_ms`: a test sees a VM outgrow the
// boot pending window without waiting seconds for it.
struct AgedProcessTable final : bs::supervisor::ProcessTable {
  std::int64_t extra_ms = 0;
  std::optional<bs::platform::ProcStat> stat(std::int64_t pid) override { return host().stat(pid); }
  std::optional<std::string> cmdline(std::int64_t pid) override { return host().cmdline(pid); }
  std::vector<std::int64_t> pids() override { return host().pids(); }
  std::optional<std::int64_t> age_ms(std::uint64_t start_time) override {
    auto age = host().age_ms(start_time);
    return age ? std::optional<std::int64_t>(*age + extra_ms) : std::nullopt;
  }
  std::optional<bs::platform::PidFd> pin(std::int64_t pid) override { return host().pin(pid); }

 private:
  static bs::supervisor::ProcessTable& host() { return bs::supervisor::host_process_table(); }
};

}  // namespace bs::vm_test
