// The `preflight` KVM check: smolvm needs /dev/kvm present and read-writable on Linux.
#pragma once

#include <string>

namespace bs::platform {

enum class KvmState { Ok, Missing, NoAccess, NotApplicable };

struct KvmCheck {
  KvmState state;
  std::string message;  // what is wrong ("/dev/kvm is missing")
  std::string hint;     // how to fix it; empty when nothing is wrong
};

// Opens `device` read-write: ENOENT (and a node without a driver) -> Missing with the
// modprobe/firmware hint, EACCES/EPERM -> NoAccess with the kvm-group hint. NotApplicable where
// VMs do not use KVM (macOS).
KvmCheck check_kvm(const std::string& device = "/dev/kvm");

}  // namespace bs::platform
