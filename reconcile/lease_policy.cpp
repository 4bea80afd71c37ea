#include "reconcile/lease_policy.h"

namespace bs {

bs::Expected<Ipv4, std::string> choose_address(const LeaseWorld& w) {
  for (std::uint64_t i = 0; i < w.pool.size(); ++i) {
    Ipv4 a = w.pool.at(i);
    if (!w.pool.leasable(a) || w.leased.count(a.value) != 0) continue;
    // A listener on an address no lease of ours explains belongs to something else (e.g. a
    // bot-bottle launch outside the supervisor).
    if (w.listeners.count(a.value) != 0) continue;
    return a;
  }
  return bs::unexpected("loopback pool " + w.pool.str() + " exhausted");
}

bs::Expected<Ipv4, std::string> check_fixed_address(const LeaseWorld& w, Ipv4 wanted,
                                                    const std::string& holder) {
  if (!w.pool.leasable(wanted)) {
    return bs::unexpected("loopback " + wanted.str() + " is not a leasable address of the pool " +
                          w.pool.str());
  }
  if (w.leased.count(wanted.value) != 0) {
    return bs::unexpected("loopback " + wanted.str() + " is already leased by " + holder);
  }
  return wanted;
}

}  // namespace bs
