#include "supervisor/lease_choice.h"

#include "platform/listeners.h"
#include "reconcile/lease_policy.h"

namespace bs::supervisor {

std::set<std::uint32_t> HostListeners::listening_addresses() { return platform::tcp_listeners(); }

bs::Expected<Ipv4, std::string> choose_lease(const LeaseRequest& r, ListenerTable& listeners) {
  LeaseWorld world;
  world.pool = r.pool;
  std::string holder;
  for (const store::Lease& l : r.stored) {
    if (l.bottle == r.bottle) continue;
    world.leased.insert(l.address.value);
    if (r.fixed && l.address == *r.fixed) holder = "bottle " + l.bottle;
  }
  // An address a machine outside the specs allows (a bot-bottle launch) is not leased anew; a
  // fixed address is the spec's to insist on: only another bottle's lease refuses it.
  if (!r.fixed) world.leased.insert(r.outside_held.begin(), r.outside_held.end());
  world.listeners = listeners.listening_addresses();
  if (r.own) world.listeners.erase(r.own->value);
  if (r.fixed) return check_fixed_address(world, *r.fixed, holder);
  if (r.launcher && world.leased.count(r.launcher->value) == 0) return *r.launcher;
  return choose_address(world);
}

}  // namespace bs::supervisor
