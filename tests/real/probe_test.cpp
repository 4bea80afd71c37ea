// The boot probe (ctest FIXTURES_SETUP of the tests that need a booted VM): tries once to boot a
// tiny VM with real smolvm in its own temp HOME, packs it as the .smolmachine those tests create
// their bottles from, and writes the verdict (ok, or why not) to the build dir. Passes only when
// a VM booted; skips (77) with the reason otherwise, so the run shows why the boot tests skip.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "real/real_smolvm.h"

namespace bs::real {
namespace {

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

std::string failure(const std::string& step, const RunResult& r, long long ms) {
  std::string why = last_line(without_notes(r.err));
  if (why.empty()) why = last_line(r.out);
  return step + " failed (exit " + std::to_string(r.exit_code) + (r.timed_out ? ", timed out" : "") + ", after " +
         std::to_string(ms) + " ms): " + why;
}

// Why no VM can start here before even trying, or "".
std::string kvm_problem() {
  if (::access("/dev/kvm", F_OK) != 0) return "/dev/kvm is missing (no KVM on this host)";
  if (::access("/dev/kvm", R_OK | W_OK) != 0) return "/dev/kvm is not read-writable by uid " + std::to_string(::getuid());
  struct stat st {};
  // As root, smolvm runs each VM under a uid of its own that reaches /dev/kvm through its group.
  if (::getuid() == 0 && ::stat("/dev/kvm", &st) == 0 && (st.st_mode & 0060) != 0060) {
    return "/dev/kvm is not group read-writable, so smolvm's per-VM uids cannot open it (scripts/install-smolvm.sh fixes it)";
  }
  return "";
}

ProbeResult probe() {
  ProbeResult r;
  if (!real_smolvm().problem.empty()) {
    r.reason = real_smolvm().problem;
    return r;
  }
  if (std::string why = kvm_problem(); !why.empty()) {
    r.reason = why;
    return r;
  }
  RealHome home;
  auto step = [&](const std::string& what, const std::vector<std::string>& args, Ms timeout) {
    auto t0 = Clock::now();
    RunResult res = home.smolvm(args, timeout);
    long long ms = elapsed_ms(t0);
    WARN("probe: smolvm " << what << ": exit " << res.exit_code << " in " << ms << " ms");
    return std::make_pair(res, ms);
  };
  auto [created, create_ms] = step("create", {"machine", "create", "--name", "probe", "--cpus", "1", "--mem", "256"}, Ms(60000));
  if (created.exit_code != 0) {
    r.reason = failure("machine create", created, create_ms);
    return r;
  }
  auto [started, start_ms] = step("start", {"machine", "start", "--name", "probe"}, Ms(120000));
  r.boot_ms = start_ms;
  if (started.exit_code != 0) {
    r.reason = failure("machine start", started, start_ms);
  } else if (auto [ran, exec_ms] = step("exec", {"machine", "exec", "--name", "probe", "--", "true"}, Ms(60000));
             ran.exit_code != 0) {
    r.reason = failure("machine exec -- true", ran, exec_ms);
  } else {
    // The boot tests' bottles need something to boot that is not pulled from a registry (their
    // /32 allowlist forbids the pull): this agent-only machine, packed.
    step("stop", {"machine", "stop", "--name", "probe"}, Ms(60000));
    const std::string stub = BS_BUILD_DIR "/real-smolvm-bottle";
    std::error_code ec;
    std::filesystem::remove(stub, ec);
    std::filesystem::remove(stub + ".smolmachine", ec);
    auto [packed, pack_ms] = step("pack", {"pack", "create", "--from-vm", "probe", "-o", stub}, Ms(300000));
    if (packed.exit_code != 0 || !std::filesystem::exists(stub + ".smolmachine")) {
      r.reason = "VMs boot, but " + failure("pack create --from-vm probe", packed, pack_ms);
    } else {
      r.ok = true;
      r.from = stub + ".smolmachine";
    }
  }
  step("delete", {"machine", "delete", "--name", "probe", "-f"}, Ms(60000));
  return r;
}

}  // namespace

// Hidden from the default run: ctest runs it by name, as the fixture's setup.
TEST_CASE("probe: real smolvm boots a tiny VM", "[.probe]") {
  // Written first, so a probe that crashes leaves a verdict rather than a stale one.
  write_probe_result({false, "the boot probe did not finish", "", -1});
  ProbeResult r = probe();
  write_probe_result(r);
  if (!r.ok) skip("VMs cannot boot here: " + r.reason);
  print_metric("probe-boot-ms", r.boot_ms);
}

}  // namespace bs::real
