// Which address a bottle's AcquireLease takes (CONTRACT §5), from what the daemon knows when it
// holds the bot-bottle allocation lock: the stored leases, the addresses machines outside the
// specs allow, the host's TCP listeners, and the address the spec's existing machine allows.
// The listeners come through ListenerTable, the host seam, so the choice is tested with a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/expected.h"
#include "store/state_store.h"

namespace bs::supervisor {

// The loopback addresses something listens on (a bot-bottle launch outside the supervisor).
class ListenerTable {
 public:
  virtual ~ListenerTable() = default;
  // IPv4, host byte order, with a TCP socket listening on exactly that address.
  virtual std::set<std::uint32_t> listening_addresses() = 0;
};

// This host's (platform::tcp_listeners).
class HostListeners final : public ListenerTable {
 public:
  std::set<std::uint32_t> listening_addresses() override;
};

struct LeaseRequest {
  std::string bottle;
  Ipv4Pool pool;
  std::optional<Ipv4> fixed;     // the spec's `loopback`, if it names one
  std::optional<Ipv4> own;       // the bottle's lease as last known: its listener is its own
  std::optional<Ipv4> launcher;  // the pool /32 the spec's existing, unmanaged machine allows
  std::vector<store::Lease> stored;         // every bottle's, as stored
  std::set<std::uint32_t> outside_held;     // pool addresses rows outside the specs allow
};

// A fixed address must be leasable and not another bottle's; otherwise an existing machine's
// address is kept (taking it in does not restart its VM), else the lowest free one. Free: not
// leased, not held by a machine outside the specs, not listened on by anything but the bottle.
bs::Expected<Ipv4, std::string> choose_lease(const LeaseRequest& r, ListenerTable& listeners);

}  // namespace bs::supervisor
