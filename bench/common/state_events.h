// Reads the daemon's own audit log (the events table of its state DB) after a run, for
// per-bottle completion times when many specs were written at once.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "reconcile/expected.h"

namespace bs::bench {

// bottle -> the wall-clock time (ms since the epoch) of its latest event of `kind`.
bs::Expected<std::map<std::string, std::int64_t>, std::string> latest_event_ms(const std::string& state_db,
                                                                               const std::string& kind);

// Wall-clock milliseconds since the epoch, the clock the event log uses.
std::int64_t wall_ms();

}  // namespace bs::bench
