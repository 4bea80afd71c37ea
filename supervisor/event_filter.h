// Which audit-log events `events` prints: by bottle, kind and time, and the last N of them.
// Pure, so the filtering is tested without a state DB.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/state_store.h"

namespace bs::supervisor {

struct EventFilter {
  std::string bottle;               // "" = every bottle
  std::vector<std::string> kinds;   // empty = every kind
  std::int64_t since_ms = 0;        // ts_ms >= since_ms
  std::optional<std::int64_t> until_ms;  // ts_ms < until_ms

  bool matches(const store::Event& e) const;
};

// The matching events of `batch` (oldest first), only the last `tail` of them when given.
std::vector<store::Event> select_events(const std::vector<store::Event>& batch, const EventFilter& filter,
                                        std::optional<std::size_t> tail);

// One event as a JSON Lines line (ts, bottle, machine, kind, detail), '\n' included.
std::string event_json_line(const store::Event& e);

}  // namespace bs::supervisor
