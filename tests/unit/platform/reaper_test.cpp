#include <sys/wait.h>

#include <string>

#include <catch2/catch.hpp>

#include "platform/reaper.h"
#include "support/forked_child.h"
#include "support/poll.h"

using bs::platform::reap_zombie_children;
using bs::test::ForkedChild;
using namespace std::chrono_literals;

namespace {

// Exec'd, so no child holds another's release pipe (it is close-on-exec).
ForkedChild exiting_with(int code) {
  return ForkedChild::exec({"/bin/sh", "-c", "read x; exit " + std::to_string(code)});
}

// True while pid is our exited, unreaped child.
bool is_zombie_child(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

bool is_reaped(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD;
}

}  // namespace

TEST_CASE("reap_zombie_children reaps exited children and leaves the kept and the living", "[platform]") {
  ForkedChild kept = exiting_with(3);
  ForkedChild living = exiting_with(0);
  ForkedChild first = exiting_with(1);
  ForkedChild second = exiting_with(2);
  first.release();
  second.release();
  REQUIRE(bs::test::poll_until([&] { return is_zombie_child(first.pid()) && is_zombie_child(second.pid()); }, 10s));

  reap_zombie_children({kept.pid()});
  CHECK(is_reaped(first.pid()));
  CHECK(is_reaped(second.pid()));
  first.reaped_elsewhere();
  second.reaped_elsewhere();
  CHECK_FALSE(is_zombie_child(living.pid()));
  CHECK_FALSE(is_reaped(living.pid()));

  // A kept child that has exited is someone else's to wait for.
  kept.release();
  REQUIRE(bs::test::poll_until([&] { return is_zombie_child(kept.pid()); }, 10s));
  reap_zombie_children({kept.pid()});
  CHECK(is_zombie_child(kept.pid()));
  CHECK(WEXITSTATUS(kept.wait()) == 3);
}
