// Linux only: smolvm's VMs run on KVM.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/kvm.h"

namespace bs::platform {

KvmCheck check_kvm(const std::string& device) {
  const std::string load_hint =
      "load kvm_intel or kvm_amd (sudo modprobe kvm_intel) and enable virtualization (VT-x/AMD-V) "
      "in the firmware";
  int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return {KvmState::Ok, device + " is read-writable", ""};
  }
  const int err = errno;
  switch (err) {
    case ENOENT:
      return {KvmState::Missing, device + " is missing", load_hint};
    case EACCES:
    case EPERM:
    case EROFS:
      return {KvmState::NoAccess, device + " is not read-writable by this user (" + std::strerror(err) + ")",
              "sudo usermod -aG kvm $USER, then log out and in again"};
    default:
      // ENODEV/ENXIO: the node exists but no KVM driver backs it; the fix is the same as missing.
      return {KvmState::Missing, "cannot open " + device + ": " + std::strerror(err), load_hint};
  }
}

}  // namespace bs::platform
