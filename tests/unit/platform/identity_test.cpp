#include <poll.h>

#include <catch2/catch.hpp>

#include "platform/identity.h"
#include "platform/pidfd.h"
#include "unit/platform/child.h"

using namespace bs::platform;
using bs::platform::test::Child;
using bs::platform::test::eventually;
using bs::platform::test::unique_marker;

namespace {

std::uint64_t start_time_of(pid_t pid) {
  auto st = read_proc_stat(pid);
  REQUIRE(st);
  return st->start_time;
}

// A child whose command line names a boot-config.json, like smolvm's `_boot-vm`.
Child boot_vm_like(const std::string& boot_config) {
  auto child = Child::exec({"/bin/sh", "-c", "read line", "_boot-vm", boot_config});
  REQUIRE(eventually([&] {
    auto cmd = read_cmdline(child.pid());
    return cmd && cmd->find(boot_config) != std::string::npos;
  }));
  return child;
}

bool readable_within(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace

TEST_CASE("identity by start time: Match, and Mismatch when off by one", "[platform]") {
  auto child = Child::blocked();
  const auto start = start_time_of(child.pid());
  CHECK(check_identity(child.pid(), start, "") == Identity::Match);
  CHECK(check_identity(child.pid(), start + 1, "") == Identity::Mismatch);
  CHECK(check_identity(child.pid(), start - 1, "") == Identity::Mismatch);
  // A known start time decides alone: a matching command line cannot rescue a wrong one.
  CHECK(check_identity(child.pid(), start + 1, "/") == Identity::Mismatch);
}

TEST_CASE("identity of a reaped child is Gone, of an unreaped one Zombie", "[platform]") {
  auto child = Child::blocked();
  const pid_t pid = child.pid();
  const auto start = start_time_of(pid);
  child.release();
  REQUIRE(eventually([&] { return child.exited_unreaped(); }));
  CHECK(check_identity(pid, start, "") == Identity::Zombie);
  CHECK(check_identity(pid, std::nullopt, "/") == Identity::Zombie);
  child.wait();
  CHECK(check_identity(pid, start, "") == Identity::Gone);
  CHECK(check_identity(pid, std::nullopt, "/") == Identity::Gone);
  CHECK(check_identity(0, std::nullopt, "/") == Identity::Gone);
}

TEST_CASE("identity without a start time goes by the command line", "[platform]") {
  const std::string boot_config = "/tmp/" + unique_marker("vm") + "/boot-config.json";
  auto child = boot_vm_like(boot_config);
  CHECK(check_identity(child.pid(), std::nullopt, boot_config) == Identity::Match);
  CHECK(check_identity(child.pid(), std::nullopt, "/tmp/other-vm/boot-config.json") == Identity::Mismatch);
  // Nothing to compare is not a match.
  CHECK(check_identity(child.pid(), std::nullopt, "") == Identity::Mismatch);
}

TEST_CASE("classify_identity treats dead states as gone", "[platform]") {
  ProcStat st{10, 'X', 5, "exe"};
  CHECK(classify_identity(st, std::string("x"), 5, "") == Identity::Gone);
  st.state = 'S';
  CHECK(classify_identity(st, std::string("a\0b", 3), std::nullopt, "a b") == Identity::Match);
  CHECK(classify_identity(st, std::nullopt, std::nullopt, "a") == Identity::Gone);
  CHECK(classify_identity(std::nullopt, std::string("a"), std::nullopt, "a") == Identity::Gone);
}

TEST_CASE("kill_verified kills a child that matches", "[platform]") {
  SECTION("by start time") {
    auto child = Child::blocked();
    auto result = kill_verified(child.pid(), start_time_of(child.pid()), "");
    CHECK(result.outcome == KillOutcome::Killed);
    CHECK_THAT(result.message, Catch::Contains(std::to_string(child.pid())));
    const int status = child.wait();
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  }
  SECTION("by command line") {
    const std::string boot_config = "/tmp/" + unique_marker("vm") + "/boot-config.json";
    auto child = boot_vm_like(boot_config);
    CHECK(kill_verified(child.pid(), std::nullopt, boot_config).outcome == KillOutcome::Killed);
    const int status = child.wait();
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
  }
}

TEST_CASE("kill_verified refuses a child that does not match, and it survives", "[platform]") {
  auto child = Child::blocked(7);
  const auto start = start_time_of(child.pid());

  auto result = kill_verified(child.pid(), start + 1, "");
  CHECK(result.outcome == KillOutcome::Mismatch);
  CHECK_THAT(result.message, Catch::Contains("not signalled"));
  result = kill_verified(child.pid(), std::nullopt, "/tmp/not-this-vm/boot-config.json");
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
  auto child = Child::blocked();
  const pid_t pid = child.pid();
  const auto start = start_time_of(pid);
  child.release();
  REQUIRE(eventually([&] { return child.exited_unreaped(); }));
  CHECK(kill_verified(pid, start, "").outcome == KillOutcome::Gone);
  child.wait();
  CHECK(kill_verified(pid, start, "").outcome == KillOutcome::Gone);
  CHECK(kill_verified(0, std::nullopt, "x").outcome == KillOutcome::Gone);
  CHECK(kill_verified(-1, std::nullopt, "x").outcome == KillOutcome::Gone);
}

TEST_CASE("a PidFd becomes readable when the process exits", "[platform]") {
  auto child = Child::blocked();
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
