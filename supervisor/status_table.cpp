#include "supervisor/status_table.h"
#include "supervisor/machine_table.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <vector>

namespace bs::supervisor {
namespace {

using nlohmann::json;

constexpr const char* kRed = "\x1b[31m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kReset = "\x1b[0m";

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The first `columns` display columns of s, with "…" as the last one when something was cut.
std::string truncate(const std::string& s, std::size_t columns) {
  if (display_width(s) <= columns) return s;
  if (columns == 0) return {};
  std::size_t keep = columns - 1, seen = 0, i = 0;
  for (; i < s.size(); ++i) {
    if (!is_continuation(static_cast<unsigned char>(s[i]))) {
      if (seen == keep) break;
      ++seen;
    }
  }
  return s.substr(0, i) + "…";
}

std::string pad(const std::string& s, std::size_t columns) {
  std::size_t w = display_width(s);
  return w >= columns ? s : s + std::string(columns - w, ' ');
}

std::string text_of(const json& obj, const char* key) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "-";
  if (it->is_string()) {
    std::string s = terminal_safe(it->get_ref<const std::string&>());
    return s.empty() ? "-" : s;
  }
  if (it->is_number_integer() || it->is_number_unsigned() || it->is_boolean()) return it->dump();
  if (it->is_number_float()) return std::to_string(it->get<double>());
  return terminal_safe(it->dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string ago(const json& obj, const char* key, std::int64_t now_ms) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  auto at = parse_rfc3339(it->get_ref<const std::string&>());
  if (!at) return {};
  return format_age(std::max<std::int64_t>(0, now_ms - *at)) + " ago";
}

std::string summary_line(const json& status, const TableStyle& style) {
  const json empty = json::object();
  const json& sup = status.is_object() && status.contains("supervisor") ? status["supervisor"] : empty;
  std::string line = "bottle-supervisor " + text_of(sup, "version") + "  pid " + text_of(sup, "pid");
  if (sup.is_object() && sup.contains("uptime_s") && sup["uptime_s"].is_number()) {
    line += "  up " + format_age(static_cast<std::int64_t>(sup["uptime_s"].get<double>() * 1000.0));
  }
  std::string kvm = text_of(sup, "kvm");
  if (kvm != "ok" && kvm != "n/a" && kvm != "-") line += "  kvm " + kvm;
  std::string resync = ago(sup, "last_resync", style.now_ms);
  line += resync.empty() ? "  no resync yet" : "  last resync " + resync;
  // The counters get a line of their own: with the rest they would not fit 100 columns.
  const json& counters = sup.is_object() && sup.contains("counters") ? sup["counters"] : empty;
  static constexpr std::array<std::pair<const char*, const char*>, 5> kCounters = {{
      {"patches", "patches"}, {"drift_kills", "drift-kills"}, {"starts", "starts"},
      {"stops", "stops"}, {"errors", "errors"}}};
  std::string counts;
  for (const auto& [key, label] : kCounters) {
    counts += std::string(counts.empty() ? "" : "  ") + label + " " + text_of(counters, key);
  }
  std::string out = truncate(line, style.width) + "\n" + truncate(counts, style.width);
  // Not truncated: it says why nothing is being done.
  if (sup.is_object() && sup.contains("spec_folder_problem") && sup["spec_folder_problem"].is_string()) {
    out += "\nspec folder: " + terminal_safe(sup["spec_folder_problem"].get<std::string>()) +
           " (every bottle held)";
  }
  return out;
}

const char* colour_of(const std::string& confinement) {
  if (confinement == "verified") return kGreen;
  if (confinement == "pending") return kYellow;
  if (confinement == "drifted" || confinement == "unverifiable") return kRed;
  return nullptr;
}

enum Col : std::size_t { kName, kMachine, kAddress, kDesired, kActual, kConfinement, kPid, kDetail, kCols };
constexpr std::array<const char*, kCols> kHeaders = {"NAME", "MACHINE", "ADDRESS", "DESIRED",
                                                     "ACTUAL", "CONFINEMENT", "PID", "DETAIL"};

struct Row {
  std::array<std::string, kCols> cells;
  bool error = false;
};

Row row_of(const json& b, std::int64_t now_ms) {
  Row r;
  r.cells[kName] = text_of(b, "name");
  r.cells[kMachine] = text_of(b, "machine");
  r.cells[kAddress] = text_of(b, "address");
  r.cells[kDesired] = text_of(b, "desired");
  r.cells[kActual] = text_of(b, "actual");
  r.cells[kConfinement] = text_of(b, "confinement");
  r.cells[kPid] = text_of(b, "pid");
  r.error = text_of(b, "error") != "-";
  r.cells[kDetail] = detail_of(b, now_ms);
  return r;
}

std::string ordinal(std::int64_t n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    else if (n % 10 == 2) suffix = "nd";
    else if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

// Natural widths, then the free-text columns (NAME, MACHINE, DETAIL) give up a column at a time,
// widest first, until the table fits: no single column is starved while another stays wide.
// When even their floors do not fit, MACHINE (width 0: not shown) goes first: it is derived
// from NAME in the usual case, and `status NAME` shows it.
std::array<std::size_t, kCols> column_widths(const std::vector<Row>& rows, std::size_t budget) {
  // The fixed columns hold short words; the caps only matter for a malformed document, and make
  // the width budget hold whatever the daemon sent.
  constexpr std::array<std::size_t, kCols> kCaps = {0, 0, 15, 7, 7, 12, 10, 0};
  // Below these a free-text cell says too little to be worth its column.
  constexpr std::array<std::size_t, kCols> kFloors = {8, 10, 0, 0, 0, 0, 0, 16};
  std::array<std::size_t, kCols> w{};
  for (std::size_t c = 0; c < kCols; ++c) {
    w[c] = display_width(kHeaders[c]);
    for (const auto& r : rows) w[c] = std::max(w[c], display_width(r.cells[c]));
    if (kCaps[c] != 0) w[c] = std::min(w[c], std::max(kCaps[c], display_width(kHeaders[c])));
  }
  auto total = [&] {
    std::size_t t = 0, shown = 0;
    for (auto x : w) {
      t += x;
      shown += x != 0 ? 1 : 0;
    }
    return t + 2 * (shown - 1);
  };
  constexpr std::array<Col, 3> kFlexible = {kName, kMachine, kDetail};
  auto floor_of = [&](Col c) {
    return std::min(w[c], std::max(kFloors[c], display_width(kHeaders[c])));
  };
  auto floors_total = [&] {
    std::size_t t = total();
    for (Col c : kFlexible) t -= w[c] - floor_of(c);
    return t;
  };
  if (w[kMachine] != 0 && floors_total() > budget) w[kMachine] = 0;
  while (total() > budget) {
    std::optional<Col> widest;
    for (Col c : kFlexible) {
      if (w[c] == 0 || w[c] <= display_width(kHeaders[c])) continue;
      if (!widest || w[c] > w[*widest] || (w[c] == w[*widest] && c == kDetail)) widest = c;
    }
    if (!widest) break;  // at the headers: the line is as narrow as it gets
    --w[*widest];
  }
  return w;
}

std::string render_row(const std::array<std::string, kCols>& cells, const std::array<std::size_t, kCols>& w,
                       const std::array<const char*, kCols>& colours) {
  std::string line;
  for (std::size_t c = 0; c < kCols; ++c) {
    if (w[c] == 0) continue;  // a column left out
    std::string cell = truncate(cells[c], w[c]);
    std::string shown = c + 1 == kCols ? cell : pad(cell, w[c]);
    if (colours[c] != nullptr) {
      // Colour the text only, so the padding (and the width count) stays plain.
      shown = std::string(colours[c]) + cell + kReset + shown.substr(cell.size());
    }
    line += shown;
    if (c + 1 < kCols) line += "  ";
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}

}  // namespace

// Error texts come from smolvm's output: a stray escape sequence or newline must not reach the
// terminal. C0 and C1 controls become spaces (C1 U+0080..U+009F is C2 80..C2 9F in UTF-8).
std::string terminal_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      out += ' ';
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      out += ' ';
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == 0x1B && i + 1 < text.size() && text[i + 1] == '[') {
      i += 2;
      while (i < text.size() && !(text[i] >= '@' && text[i] <= '~')) ++i;
      continue;
    }
    if (!is_continuation(c)) ++width;
  }
  return width;
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
  auto digits = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  auto hour = digits(11, 2), minute = digits(14, 2), second = digits(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s.size() < 20) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':') {
    return std::nullopt;
  }
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t frac_ms = 0;
  if (s[pos] == '.') {
    std::int64_t scale = 100;
    ++pos;
    std::size_t start = pos;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
      frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
    if (!oh || !om || pos + 3 >= s.size() || s[pos + 3] != ':') return std::nullopt;
    offset_min = (s[pos] == '+' ? 1 : -1) * (*oh * 60 + *om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  // days_from_civil (H. Hinnant): proleptic Gregorian date -> days since 1970-01-01.
  std::int64_t y = *year - (*month <= 2 ? 1 : 0);
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  std::int64_t yoe = y - era * 400;
  std::int64_t mp = (*month + 9) % 12;
  std::int64_t doy = (153 * mp + 2) / 5 + *day - 1;
  std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  std::int64_t days = era * 146097 + doe - 719468;
  std::int64_t secs = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_min * 60;
  return secs * 1000 + frac_ms;
}

std::string format_age(std::int64_t ms) {
  std::int64_t s = std::max<std::int64_t>(0, ms / 1000);
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  else if (s < 3600) std::snprintf(buf, sizeof(buf), "%lldm", static_cast<long long>(s / 60));
  else if (s < 48 * 3600) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldd", static_cast<long long>(s / 86400));
  }
  return buf;
}

std::string message_first(const std::string& error, const std::string& spec_path) {
  if (spec_path.empty() || error.rfind(spec_path, 0) != 0) return error;
  std::size_t pos = spec_path.size();
  // An optional ":<line>" and ":<col>" after the path, then ": " before the message.
  std::size_t digits = pos;
  for (int part = 0; part < 2 && digits < error.size() && error[digits] == ':'; ++part) {
    std::size_t d = digits + 1;
    while (d < error.size() && error[d] >= '0' && error[d] <= '9') ++d;
    if (d == digits + 1) break;
    digits = d;
  }
  if (error.compare(digits, 2, ": ") != 0) {
    if (error.compare(pos, 2, ": ") != 0) return error;
    digits = pos;
  }
  std::string where = error.substr(0, digits);
  std::string message = error.substr(digits + 2);
  if (message.empty()) return error;
  return message + " (" + where + ")";
}

std::string detail_of(const json& b, std::int64_t now_ms) {
  std::string error = text_of(b, "error");
  std::string spec = text_of(b, "spec");
  if (error != "-" && spec != "-") error = message_first(error, spec);
  auto retry = b.is_object() ? b.find("retry") : b.end();
  if (b.is_object() && retry != b.end() && retry->is_object()) {
    auto next = retry->find("next_at");
    auto count = retry->find("count");
    std::optional<std::int64_t> at;
    if (next != retry->end() && next->is_string()) at = parse_rfc3339(next->get_ref<const std::string&>());
    if (at && count != retry->end() && count->is_number_integer()) {
      std::string reason = text_of(*retry, "reason");
      bool restart = reason.find("restart backoff") != std::string::npos;
      std::string backoff = std::string(restart ? "restarting" : "retrying") + " in " +
                            format_age(std::max<std::int64_t>(0, *at - now_ms)) + " (" +
                            ordinal(count->get<std::int64_t>()) + ")";
      // A restart backoff's error only repeats the reason; a failed step's says what failed.
      return restart || error == "-" ? backoff : backoff + ": " + error;
    }
  }
  if (error != "-") return error;
  std::string event = text_of(b, "last_event");
  std::string when = ago(b, "last_event_at", now_ms);
  return event == "-" ? "-" : (when.empty() ? event : event + " " + when);
}

std::string render_status_names(const json& status) {
  std::string out;
  if (status.is_object() && status.contains("bottles") && status["bottles"].is_array()) {
    for (const auto& b : status["bottles"]) {
      std::string name = text_of(b, "name");
      if (name != "-") out += name + "\n";
    }
  }
  return out;
}

std::string render_status_table(const json& status, const TableStyle& style) {
  std::string out = summary_line(status, style) + "\n";
  out += render_guard_warnings(status, style.width);  // machines no spec manages (machine_table.cpp)
  std::vector<Row> rows;
  if (status.is_object() && status.contains("bottles") && status["bottles"].is_array()) {
    for (const auto& b : status["bottles"]) rows.push_back(row_of(b, style.now_ms));
  }
  if (rows.empty()) {
    const json& sup = status.is_object() && status.contains("supervisor") ? status["supervisor"] : json::object();
    std::string specs = text_of(sup, "specs");
    return out + truncate(specs == "-" ? "no bottles" : "no bottles (specs in " + specs + ")", style.width) + "\n";
  }
  auto widths = column_widths(rows, style.width);
  std::array<const char*, kCols> plain{};
  std::array<std::string, kCols> headers;
  for (std::size_t c = 0; c < kCols; ++c) headers[c] = kHeaders[c];
  out += render_row(headers, widths, plain);
  for (const auto& r : rows) {
    std::array<const char*, kCols> colours{};
    if (style.color) {
      colours[kConfinement] = colour_of(r.cells[kConfinement]);
      if (r.error) colours[kDetail] = kRed;
    }
    out += render_row(r.cells, widths, colours);
  }
  return out;
}

}  // namespace bs::supervisor
