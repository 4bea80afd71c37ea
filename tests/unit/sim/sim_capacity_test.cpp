// The VM stand-in must be cheap: hundreds of "running VMs" in a few hundred MiB.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/proc.h"
#include "support/spawn.h"
#include "unit/sim/sim_fixture.h"

using bs::test::SimHome;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Starts `_boot-vm` directly and waits for its ready byte, the same handshake `machine start` uses.
pid_t spawn_vm(const std::string& config) {
  int ready[2];
  REQUIRE(pipe2(ready, O_CLOEXEC) == 0);
  bs::test::SpawnPlan plan;
  plan.open(0, "/dev/null", O_RDONLY);
  plan.open(1, "/dev/null", O_WRONLY);
  plan.open(2, "/dev/null", O_WRONLY);
  plan.dup(ready[1], 3);
  pid_t pid = -1;
  try {
    // No simulated boot time: 200 of them.
    pid = bs::test::spawn({bs::test::sim_binary(), "_boot-vm", config},
                          {{"SMOLVM_SIM_READY_FD", "3"}, {"SMOLVM_SIM_READY_MS", "0"}}, plan);
  } catch (const std::exception& e) {
    close(ready[0]);
    close(ready[1]);
    FAIL(e.what());
  }
  close(ready[1]);
  char c = 0;
  ssize_t n = read(ready[0], &c, 1);  // blocks only until the stand-in is up (or dies: EOF)
  close(ready[0]);
  REQUIRE(n == 1);
  return pid;
}

}  // namespace

TEST_CASE("200 VM stand-ins fit in 300 MiB of private memory", "[sim]") {
  SimHome home;
  constexpr int kVms = 200;
  std::vector<pid_t> pids;
  for (int i = 0; i < kVms; ++i) {
    // One config each: a stand-in deletes its config once it has parsed it, as smolvm's does.
    const std::string config = home.root() + "/boot-config-" + std::to_string(i) + ".json";
    bs::test::write_file(config, R"({"resources":{"allowed_cidrs":null}})");
    pid_t pid = spawn_vm(config);
    CHECK_FALSE(bs::test::file_exists(config));
    auto st = bs::test::pid_start_time(pid);
    REQUIRE(st.has_value());
    home.track_vm(pid, *st);  // killed (after a start-time check) even if an assertion below fails
    pids.push_back(pid);
  }
  std::uint64_t total_kib = 0;
  for (pid_t pid : pids) {
    REQUIRE(bs::test::pid_alive(pid));
    total_kib += bs::test::private_kb(pid).value_or(0);
  }
  const double mib = static_cast<double>(total_kib) / 1024.0;
  WARN("private memory of " << kVms << " VM stand-ins: " << mib << " MiB (" << mib / kVms << " MiB each)");
  // A sanitizer runtime adds a few MiB of shadow and allocator state to every process; the budget
  // is for the real build, so a sanitized build only gets a looser sanity bound.
  CHECK(mib < (kSanitized ? 4096.0 : 300.0));

  // SIGTERM is a clean exit (status 0).
  kill(pids[0], SIGTERM);
  int status = 0;
  REQUIRE(waitpid(pids[0], &status, 0) == pids[0]);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
