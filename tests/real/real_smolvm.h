// The end-to-end tests against the real smolvm CLI (label real-smolvm): the integration harness's
// temp HOME and daemon, with the real binary in place of smolvm-sim.
//
// Real smolvm is BS_REAL_SMOLVM, else `smolvm` on the test's PATH; it must say `smolvm 1.32.x`.
// Tests that need it skip without it; tests that need a booted VM also read the boot probe's
// result (probe_test.cpp, a ctest fixture run once before them) and skip when VMs cannot boot.
// A skip prints `SKIP: <reason>` on a line of its own and exits 77 (ctest SKIP_RETURN_CODE).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "integration/harness.h"

namespace bs::real {

using namespace bs::integ;

// Where the real binary is and what it says, or why it cannot be used.
struct RealSmolvm {
  std::string path;     // as found (a symlink is fine: smol-vmm resolves /proc/self/exe itself)
  std::string version;  // "1.32.2"
  std::string problem;  // empty when usable
};
const RealSmolvm& real_smolvm();

[[noreturn]] void skip(const std::string& reason);
// Skips unless real smolvm 1.32.x is there.
void require_real_smolvm();

// The boot probe's verdict, written to the build dir for the tests that need a booted VM.
struct ProbeResult {
  bool ok = false;
  std::string reason;      // why VMs cannot boot (when !ok)
  std::string from;        // a .smolmachine the bottles of boot tests are created from
  long long boot_ms = -1;  // how long the probe's `machine start` took
};
std::string probe_result_path();
void write_probe_result(const ProbeResult& r);
// Skips unless real smolvm is there and the probe booted a VM; returns the probe's result.
ProbeResult require_bootable();

// smolvm's stderr without its `note: no packed assets found ...` line.
std::string without_notes(const std::string& err);

// A temp HOME whose `smolvm` is the real binary: bin/smolvm links to it and the config names it
// (`[smolvm] bin`), with a resync longer than any wait (events drive everything).
class RealHome : public TempHome {
 public:
  explicit RealHome(ConfigOptions o = real_config());
  static ConfigOptions real_config();

  RunResult smolvm(const std::vector<std::string>& args, Ms timeout = Ms(60000)) const;
  // `machine ls --json`, parsed (fails the test when it does not answer with a JSON array).
  Json machine_ls() const;
  bool listed(const std::string& machine) const;
  // `machine data-dir --name M`, or "" when smolvm does not know M.
  std::string data_dir(const std::string& machine) const;
  // The VM the data dir's agent.pid names ("<pid>\n<start ticks>"), when it is there.
  std::optional<std::int64_t> agent_pid(const std::string& machine) const;
  // resources.allowed_cidrs of the data dir's agent.config.json: the policy the VM booted with.
  std::optional<Json> agent_policy(const std::string& machine) const;
  // Waits until the bottle is converged with no VM and its row verified; returns it.
  Json wait_confined_stopped(const std::string& bottle, Ms timeout = Ms(30000)) const;
};

// A spec for the boot tests: created from the probe's .smolmachine (a registry image would be
// pulled inside the guest, which a /32-only bottle cannot do), plus `extra` lines.
std::string boot_spec(const ProbeResult& probe, const std::string& extra = "");

}  // namespace bs::real
