#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "platform/kvm.h"
#include "support/forked_child.h"
#include "support/temp_dir.h"

using namespace bs::platform;
using bs::test::ForkedChild;
using bs::test::TempDir;

TEST_CASE("check_kvm: a missing device is Missing, with the module hint", "[platform]") {
  TempDir tmp;
  auto check = check_kvm(tmp / "kvm");
  CHECK(check.state == KvmState::Missing);
  CHECK(check.message == tmp / "kvm" + " is missing");
  CHECK(check.hint ==
        "load kvm_intel or kvm_amd (sudo modprobe kvm_intel) and enable virtualization (VT-x/AMD-V) in the firmware");
}

TEST_CASE("check_kvm: a device this user cannot open is NoAccess, with the group hint", "[platform]") {
  TempDir tmp;
  REQUIRE(::chmod(tmp.path().c_str(), 0755) == 0);  // nobody may look inside, but not open the file
  const std::string device = tmp / "kvm";
  { std::ofstream(device) << ""; }
  REQUIRE(::chmod(device.c_str(), 0000) == 0);

  // As nobody (root opens anything); the child reports the state through its exit code.
  auto child = ForkedChild::spawn([device]() {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(100);
    const auto check = check_kvm(device);
    const bool hint_ok = check.hint == "sudo usermod -aG kvm $USER, then log out and in again";
    ::_exit(static_cast<int>(check.state) + (hint_ok ? 0 : 50));
  });
  const int status = child.wait();
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 100) {
    WARN("skipped: cannot switch to user nobody (not root?)");
    return;
  }
  CHECK(WEXITSTATUS(status) == static_cast<int>(KvmState::NoAccess));
}

TEST_CASE("check_kvm: /dev/kvm on this machine is Ok", "[platform]") {
  if (::access("/dev/kvm", F_OK) != 0) {
    WARN("skipped: /dev/kvm does not exist on this machine");
    return;
  }
  auto check = check_kvm();
  CHECK(check.state == KvmState::Ok);
  CHECK(check.hint.empty());
}
