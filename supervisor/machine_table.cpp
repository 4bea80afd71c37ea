#include "supervisor/machine_table.h"

#include <algorithm>
#include <array>
#include <vector>

namespace bs::supervisor {
namespace {

using nlohmann::json;

std::string text(const json& obj, const char* key) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_string()) return terminal_safe(it->get<std::string>());
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  if (it->is_array()) {
    std::string out;
    for (const auto& e : *it) {
      if (e.is_string()) out += (out.empty() ? "" : ",") + terminal_safe(e.get<std::string>());
    }
    return out.empty() ? "[]" : out;
  }
  return "-";
}

// A policy cell: null is what matters most, so it says so.
std::string policy(const json& obj, const char* key) {
  if (obj.is_object() && obj.contains(key) && obj[key].is_null() && obj.contains("pid") && !obj["pid"].is_null() &&
      std::string(key) == "booted") {
    return "null (unconfined)";
  }
  return text(obj, key);
}

const json& section(const json& status, const char* key) {
  static const json empty = json::array();
  if (!status.is_object()) return empty;
  auto it = status.find(key);
  return it != status.end() && it->is_array() ? *it : empty;
}

std::string cut(std::string s, std::size_t width) {
  if (display_width(s) <= width) return s;
  std::string out;
  for (char c : s) {
    if (display_width(out + c) + 1 > width) break;
    out += c;
  }
  return out + "…";
}

}  // namespace

std::string render_guard_warnings(const json& status, std::size_t width) {
  std::string out;
  for (const auto& m : section(status, "guarded")) {
    const std::string name = text(m, "name"), verdict = text(m, "verdict"), detail = text(m, "detail");
    if (verdict == "unconfined") {
      out += cut("warning: machine " + name + " (no spec, no [[guard]] rule) runs unconfined: " + detail, width) + "\n";
    } else if (verdict == "violation") {
      out += cut("warning: guarded machine " + name + " breaks its rule (" + text(m, "action") + "): " + detail,
                 width) + "\n";
    }
    if (m.is_object() && m.contains("lease_conflicts") && m["lease_conflicts"].is_array()) {
      for (const auto& c : m["lease_conflicts"]) {
        out += cut("warning: lease conflict: machine " + name + " allows " + text(c, "address") + ", leased to bottle " +
                       text(c, "bottle"),
                   width) + "\n";
      }
    }
  }
  return out;
}

std::string render_machine_table(const json& status, const TableStyle& style) {
  using Row = std::array<std::string, 7>;
  std::vector<Row> rows = {{"MACHINE", "KIND", "STATE", "PID", "BOOTED", "ALLOWLIST", "VERDICT"}};
  for (const auto& b : section(status, "bottles")) {
    if (text(b, "machine") == "-" || text(b, "machine").empty()) continue;
    rows.push_back({text(b, "machine"), "managed", text(b, "actual"), text(b, "pid"), "-", text(b, "allowlist"),
                    text(b, "confinement")});
  }
  for (const auto& m : section(status, "guarded")) {
    std::string verdict = text(m, "verdict");
    if (text(m, "kind") == "guarded" && verdict == "ok") verdict = "guarded-ok";
    rows.push_back({text(m, "name"), text(m, "kind"), text(m, "state"), text(m, "pid"), policy(m, "booted"),
                    text(m, "allowlist"), verdict});
  }
  std::array<std::size_t, 7> w{};
  for (const Row& r : rows) {
    for (std::size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], std::min<std::size_t>(display_width(r[c]), 28));
  }
  std::string out = "\n";
  for (const Row& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      std::string cell = cut(r[c], 28);
      line += cell;
      if (c + 1 < r.size()) line += std::string(w[c] - display_width(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += cut(line, style.width) + "\n";
  }
  return out;
}

}  // namespace bs::supervisor
