// The kill path's host side: after a SIGKILL, wait_gone returns once the kernel has torn the
// process down, and reaps it when it is our child (the supervisor is the VMs' subreaper).
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include <cerrno>

#include "supervisor/vm_kill.h"
#include "support/forked_child.h"

using bs::supervisor::HostProcesses;
using bs::test::ForkedChild;

TEST_CASE("host processes: wait_gone returns once a killed child is gone, and reaps it", "[supervisor]") {
  auto child = ForkedChild::blocked();
  REQUIRE(::kill(child.pid(), SIGKILL) == 0);  // our own forked child, not yet reaped
  HostProcesses host;
  host.wait_gone(child.pid());
  // Reaped: there is nothing left to wait for.
  errno = 0;
  CHECK(::waitpid(child.pid(), nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);
  child.reaped_elsewhere();
}
