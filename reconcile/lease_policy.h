// Which loopback address a bottle gets (CONTRACT §5). Pure: the caller holds the bot-bottle
// lock and passes in the leases and the listening sockets it read.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "reconcile/cidr.h"
#include "reconcile/expected.h"

namespace bs {

struct LeaseWorld {
  Ipv4Pool pool;
  std::set<std::uint32_t> leased;     // addresses leased by any bottle of ours
  std::set<std::uint32_t> listeners;  // addresses with a TCP listener bound to exactly them
};

// The lowest leasable pool address that is neither leased nor listened on by something our
// leases do not explain. Error: "loopback pool 127.0.0.16/28 exhausted".
bs::Expected<Ipv4, std::string> choose_address(const LeaseWorld& w);

// A fixed address requested by a spec: must be leasable and not leased by another bottle.
// `holder` names who holds it, for the message.
bs::Expected<Ipv4, std::string> check_fixed_address(const LeaseWorld& w, Ipv4 wanted,
                                                    const std::string& holder);

}  // namespace bs
