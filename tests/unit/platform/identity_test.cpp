#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "platform/identity.h"
#include "platform/pidfd.h"
#include "support/forked_child.h"
#include "support/poll.h"
#include "support/proc.h"

using namespace bs::platform;
using bs::test::ForkedChild;
using bs::test::unique_marker;
using namespace std::chrono_literals;

namespace {

std::uint64_t start_time_of(pid_t pid) {
  auto st = read_proc_stat(pid);
  REQUIRE(st);
  return st->start_time;
}

// A child whose command line names a boot-config.json, like smolvm's `_boot-vm`, and the exact
// rule for it (the platform rule is generic: argv[0] one of a set, then exact arguments).
ForkedChild boot_vm_like(const std::string& boot_config) {
  auto child = ForkedChild::exec({"/bin/sh", "-c", "read line", "_boot-vm", boot_config});
  REQUIRE(bs::test::poll_until([&] {
    auto cmd = read_cmdline(child.pid());
    return cmd && cmd->find(boot_config) != std::string::npos;
  }, 10s));
  return child;
}

ArgvRule rule_for(const std::string& boot_config) {
  return ArgvRule{{"/bin/sh"}, {"-c", "read line", "_boot-vm", boot_config}};
}

// Matches nothing: for tests of the start time and process state alone.
const ArgvRule kNoRule{};

std::string nul_joined(std::initializer_list<std::string> args) {
  std::string out;
  for (const auto& a : args) out += a + '\0';
  return out;
}

bool readable_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace

TEST_CASE("ArgvRule matches a VM's exact command line, never one that merely mentions it", "[platform]") {
  const std::string cfg = "/home/u/.cache/smolvm/vms/320983ce679b69a1/boot-config.json";
  const ArgvRule rule{{"/proc/self/exe", "/usr/bin/smolvm"}, {"_boot-vm", cfg}};
  CHECK(rule.matches(nul_joined({"/proc/self/exe", "_boot-vm", cfg})));
  CHECK(rule.matches(nul_joined({"/usr/bin/smolvm", "_boot-vm", cfg})));
  CHECK(rule.matches(nul_joined({"/proc/self/exe", "_boot-vm", cfg}) + std::string(1, '\0')));
  CHECK(rule.matches(nul_joined({"/proc/self/exe", "_boot-vm", cfg, "--later-flag"})));
  // What the adversarial review saw killed: editors, grep, watch, shell loops.
  CHECK_FALSE(rule.matches(nul_joined({"vim", "+/_boot-vm", cfg})));
  CHECK_FALSE(rule.matches(nul_joined({"grep", "_boot-vm", cfg})));
  CHECK_FALSE(rule.matches(nul_joined({"watch", "ps aux | grep _boot-vm; ls " + cfg})));
  CHECK_FALSE(rule.matches(nul_joined({"bash", "-c", "grep -r _boot-vm " + cfg})));
  CHECK_FALSE(rule.matches(nul_joined({"less", cfg})));
  CHECK_FALSE(rule.matches(nul_joined({"/proc/self/exe", "_boot-vm", "/tmp/elsewhere.json"})));
  CHECK_FALSE(rule.matches(nul_joined({"/proc/self/exe", "_boot-vm", cfg + ".bak"})));
  CHECK_FALSE(rule.matches(nul_joined({"/proc/self/exe", "_boot-vm"})));
  CHECK_FALSE(rule.matches("/proc/self/exe _boot-vm " + cfg));  // one argument with spaces
  CHECK_FALSE(rule.matches(""));
  CHECK_FALSE(ArgvRule{}.matches(nul_joined({"/proc/self/exe", "_boot-vm", cfg})));
}

TEST_CASE("identity needs the start time AND the command line", "[platform]") {
  const std::string boot_config = "/tmp/" + unique_marker("vm") + "/boot-config.json";
  auto child = boot_vm_like(boot_config);
  const auto start = start_time_of(child.pid());
  CHECK(check_identity(child.pid(), start, rule_for(boot_config)) == Identity::Match);
  CHECK(check_identity(child.pid(), std::nullopt, rule_for(boot_config)) == Identity::Match);
  CHECK(check_identity(child.pid(), start + 1, rule_for(boot_config)) == Identity::Mismatch);
  CHECK(check_identity(child.pid(), start - 1, rule_for(boot_config)) == Identity::Mismatch);
  // The right start time does not make a process that is not a VM one (a row pointed at an
  // innocent process of the user's, with its true start time).
  CHECK(check_identity(child.pid(), start, rule_for("/tmp/other-vm/boot-config.json")) == Identity::Mismatch);
  CHECK(check_identity(child.pid(), start, kNoRule) == Identity::Mismatch);
  auto plain = ForkedChild::blocked();
  CHECK(check_identity(plain.pid(), start_time_of(plain.pid()), rule_for(boot_config)) == Identity::Mismatch);
}

TEST_CASE("identity of a reaped child is Gone, of an unreaped one Zombie", "[platform]") {
  auto child = ForkedChild::blocked();
  const pid_t pid = child.pid();
  const auto start = start_time_of(pid);
  child.release();
  REQUIRE(bs::test::poll_until([&] { return child.exited_unreaped(); }, 10s));
  CHECK(check_identity(pid, start, kNoRule) == Identity::Zombie);
  CHECK(check_identity(pid, std::nullopt, kNoRule) == Identity::Zombie);
  child.wait();
  CHECK(check_identity(pid, start, kNoRule) == Identity::Gone);
  CHECK(check_identity(pid, std::nullopt, kNoRule) == Identity::Gone);
  CHECK(check_identity(0, std::nullopt, kNoRule) == Identity::Gone);
}

TEST_CASE("classify_identity treats dead states as gone", "[platform]") {
  const ArgvRule rule{{"a"}, {"b"}};
  ProcStat st{10, 'X', 5, "exe"};
  CHECK(classify_identity(st, std::string("a\0b", 3), 5, rule) == Identity::Gone);
  st.state = 'S';
  CHECK(classify_identity(st, std::string("a\0b", 3), std::nullopt, rule) == Identity::Match);
  CHECK(classify_identity(st, std::string("a\0b", 3), 5, rule) == Identity::Match);
  CHECK(classify_identity(st, std::string("a\0b", 3), 6, rule) == Identity::Mismatch);
  CHECK(classify_identity(st, std::string("a b"), std::nullopt, rule) == Identity::Mismatch);
  CHECK(classify_identity(st, std::nullopt, std::nullopt, rule) == Identity::Gone);
  CHECK(classify_identity(std::nullopt, std::string("a\0b", 3), std::nullopt, rule) == Identity::Gone);
}

TEST_CASE("kill_verified kills a child that matches", "[platform]") {
  const std::string boot_config = "/tmp/" + unique_marker("vm") + "/boot-config.json";
  auto child = boot_vm_like(boot_config);
  auto result = kill_verified(child.pid(), start_time_of(child.pid()), rule_for(boot_config));
  CHECK(result.outcome == KillOutcome::Killed);
  CHECK_THAT(result.message, Catch::Contains(std::to_string(child.pid())));
  const int status = child.wait();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("kill_verified refuses a child that does not match, and it survives", "[platform]") {
  auto child = ForkedChild::blocked(7);
  const auto start = start_time_of(child.pid());

  // Its true start time, but not a VM's command line: never signalled.
  auto result = kill_verified(child.pid(), start, rule_for("/tmp/not-this-vm/boot-config.json"));
  CHECK(result.outcome == KillOutcome::Mismatch);
  CHECK_THAT(result.message, Catch::Contains("not signalled"));
  result = kill_verified(child.pid(), start + 1, kNoRule);
  CHECK(result.outcome == KillOutcome::Mismatch);

  CHECK(process_alive(child.pid()));
  CHECK_FALSE(child.exited_unreaped());
  // It exits on its own terms, not from a signal.
  child.release();
  const int status = child.wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 7);
}

TEST_CASE("kill_verified reports Gone for a dead pid and a zombie", "[platform]") {
  auto child = ForkedChild::blocked();
  const pid_t pid = child.pid();
  const auto start = start_time_of(pid);
  child.release();
  REQUIRE(bs::test::poll_until([&] { return child.exited_unreaped(); }, 10s));
  CHECK(kill_verified(pid, start, kNoRule).outcome == KillOutcome::Gone);
  child.wait();
  CHECK(kill_verified(pid, start, kNoRule).outcome == KillOutcome::Gone);
  CHECK(kill_verified(0, std::nullopt, kNoRule).outcome == KillOutcome::Gone);
  CHECK(kill_verified(-1, std::nullopt, kNoRule).outcome == KillOutcome::Gone);
}

TEST_CASE("kill_own_child goes by the start time alone, for harnesses", "[platform]") {
  auto child = ForkedChild::blocked();
  const auto start = start_time_of(child.pid());
  CHECK(kill_own_child(child.pid(), start + 1).outcome == KillOutcome::Mismatch);
  CHECK(kill_own_child(child.pid(), start).outcome == KillOutcome::Killed);
  const int status = child.wait();
  CHECK(WIFSIGNALED(status));
}

TEST_CASE("a PidFd becomes readable when the process exits", "[platform]") {
  auto child = ForkedChild::blocked();
  auto pidfd = PidFd::open(child.pid());
  REQUIRE(pidfd);
  CHECK(pidfd->fd() >= 0);
  CHECK_FALSE(readable_within(pidfd->fd(), 0));

  PidFd moved = std::move(*pidfd);
  CHECK(pidfd->fd() == -1);
  child.release();
  CHECK(readable_within(moved.fd(), 10'000));
  child.wait();

  CHECK_FALSE(PidFd::open(child.pid()));
  CHECK_FALSE(PidFd::open(0));
}

TEST_CASE("PidFd::wait_exited waits for the exit, no longer than its timeout for a live process", "[platform]") {
  auto child = ForkedChild::blocked();
  auto pidfd = PidFd::open(child.pid());
  REQUIRE(pidfd);
  CHECK_FALSE(pidfd->wait_exited(std::chrono::milliseconds(0)));
  CHECK_FALSE(pidfd->wait_exited(std::chrono::milliseconds(20)));  // alive: the timeout ends the wait
  child.release();
  CHECK(pidfd->wait_exited(std::chrono::milliseconds(10'000)));  // returns at the exit, not the timeout
  CHECK(child.exited_unreaped());  // exited means a zombie counts: the kernel has torn it down
  child.wait();
}
