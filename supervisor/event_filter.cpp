#include "supervisor/event_filter.h"

#include <algorithm>

namespace bs::supervisor {

bool EventFilter::matches(const store::Event& e) const {
  if (!bottle.empty() && e.bottle != bottle) return false;
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), e.kind) == kinds.end()) return false;
  if (e.ts_ms < since_ms) return false;
  if (until_ms && e.ts_ms >= *until_ms) return false;
  return true;
}

std::vector<store::Event> select_events(const std::vector<store::Event>& batch, const EventFilter& filter,
                                        std::optional<std::size_t> tail) {
  std::vector<store::Event> out;
  for (const auto& e : batch) {
    if (filter.matches(e)) out.push_back(e);
  }
  if (tail && out.size() > *tail) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(*tail));
  return out;
}

}  // namespace bs::supervisor
