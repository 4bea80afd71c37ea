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

// How many distinct bottles have an event of `kind` whose detail starts with `detail_prefix`,
// at or after `since_ms`. Reading the daemon's WAL database costs the daemon nothing, unlike a
// status request (which re-observes every bottle): the benchmarks poll this while it works.
bs::Expected<std::size_t, std::string> bottles_with_event(const std::string& state_db, const std::string& kind,
                                                          const std::string& detail_prefix, std::int64_t since_ms);

// Wall-clock milliseconds since the epoch, the clock the event log uses.
std::int64_t wall_ms();

}  // namespace bs::bench
