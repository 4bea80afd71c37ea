// macOS: smolvm's VMs run on Hypervisor.framework, not KVM. Compiled only on Apple hosts.
#include "platform/kvm.h"

namespace bs::platform {

KvmCheck check_kvm(const std::string& /*device*/) {
  return {KvmState::NotApplicable, "not applicable on macOS (smolvm uses Hypervisor.framework)", ""};
}

}  // namespace bs::platform
