#include "supervisor/event_filter.h"

#include <algorithm>

#include <nlohmann/json.hpp>

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

std::string event_json_line(const store::Event& e) {
  nlohmann::ordered_json j;
  j["ts"] = store::format_rfc3339(e.ts_ms);
  j["bottle"] = e.bottle;
  j["machine"] = e.machine;
  j["kind"] = e.kind;
  j["detail"] = e.detail;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace bs::supervisor
