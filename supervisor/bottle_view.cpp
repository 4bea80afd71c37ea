#include "supervisor/bottle_view.h"

#include <algorithm>

#include "supervisor/status_table.h"

namespace bs::supervisor {
namespace {

using nlohmann::json;

std::string field(const json& b, const char* key) {
  auto it = b.find(key);
  if (it == b.end() || it->is_null()) return "-";
  if (it->is_string()) {
    std::string s = terminal_safe(it->get_ref<const std::string&>());
    return s.empty() ? "-" : s;
  }
  return terminal_safe(it->dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string line(const char* label, const std::string& value) {
  std::string l = std::string(label) + ":";
  l += std::string(l.size() < 14 ? 14 - l.size() : 1, ' ');
  return l + value + "\n";
}

}  // namespace

std::string render_bottle_view(const json& b, const std::vector<store::Event>& events, std::int64_t now_ms) {
  if (!b.is_object()) return "-\n";
  std::string out;
  out += line("Name", field(b, "name"));
  out += line("Spec", field(b, "spec"));
  out += line("Machine", field(b, "machine"));
  out += line("Desired", field(b, "desired"));
  std::string actual = field(b, "actual");
  out += line("Actual", actual);
  out += line("Address", field(b, "address"));
  std::string allow;
  if (auto a = b.find("allowlist"); a != b.end() && a->is_array()) {
    for (const auto& cidr : *a) {
      allow += (allow.empty() ? "" : ", ") + (cidr.is_string() ? terminal_safe(cidr.get<std::string>()) : "?");
    }
  }
  out += line("Allowlist", allow.empty() ? "(none)" : allow);
  if (actual == "running") {
    std::string pid = field(b, "pid");
    // Uptime from the last start the log saw; an adopted VM started before has none.
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == "started") {
        pid += "  up " + format_age(std::max<std::int64_t>(0, now_ms - it->ts_ms));
        break;
      }
    }
    out += line("Pid", pid);
    out += line("Booted with", field(b, "booted"));
  }
  out += line("Confinement", field(b, "confinement"));
  auto converged = b.find("converged");
  bool is_converged = converged != b.end() && converged->is_boolean() && converged->get<bool>();
  out += line("Converged", is_converged ? "yes" : "no");
  if (std::string in_flight = field(b, "in_flight"); in_flight != "-") out += line("In flight", "smolvm " + in_flight);
  if (std::string error = field(b, "error"); error != "-") {
    out += line("Error", message_first(error, field(b, "spec")));
  }
  if (auto r = b.find("retry"); r != b.end() && r->is_object()) {
    out += line("Retry", field(*r, "reason") + "; failure " + field(*r, "count") + ", next try at " +
                             field(*r, "next_at"));
  }
  if (auto e = b.find("last_exit"); e != b.end() && e->is_object()) {
    std::string when = field(*e, "at");
    out += line("Last exit", "pid " + field(*e, "pid") + ", " +
                                 (field(*e, "status") == "-" ? std::string("status unknown") : field(*e, "status")) +
                                 ", at " + when);
  }
  out += "\nLast events:\n";
  if (events.empty()) out += "  (none)\n";
  for (const auto& e : events) {
    out += "  " + store::format_rfc3339(e.ts_ms) + "  " + terminal_safe(e.kind) + "  " + terminal_safe(e.detail) + "\n";
  }
  return out;
}

}  // namespace bs::supervisor
