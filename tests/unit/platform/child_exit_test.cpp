// reap_child says how a child of ours ended, and nothing about other processes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "platform/reaper.h"
#include "support/poll.h"

using bs::platform::reap_child;

namespace {

// Polls until the child has ended and reap_child reaped it.
std::optional<bs::platform::ChildExit> reap_when_ended(pid_t pid) {
  std::optional<bs::platform::ChildExit> how;
  bs::test::poll_until([&] { return (how = reap_child(pid)).has_value(); }, std::chrono::seconds(10));
  return how;
}

}  // namespace

TEST_CASE("reap_child: an exit status, a fatal signal, and nothing for processes not ours", "[platform]") {
  pid_t exits = ::fork();
  REQUIRE(exits >= 0);
  if (exits == 0) ::_exit(3);
  auto how = reap_when_ended(exits);
  REQUIRE(how);
  CHECK_FALSE(how->signalled);
  CHECK(how->value == 3);
  CHECK(how->str() == "exit code 3");
  CHECK_FALSE(reap_child(exits));  // reaped once only

  pid_t killed = ::fork();
  REQUIRE(killed >= 0);
  if (killed == 0) {
    ::pause();
    ::_exit(0);
  }
  REQUIRE(::kill(killed, SIGKILL) == 0);
  how = reap_when_ended(killed);
  REQUIRE(how);
  CHECK(how->signalled);
  CHECK(how->str() == "killed by SIGKILL");

  CHECK_FALSE(reap_child(1));  // init is not our child
  CHECK_FALSE(reap_child(0));
}
