// The human view of the status document (CONTRACT §8): two summary lines (the daemon, its
// counters), then one row per bottle
// in a table that fits the terminal budget (100 columns), long cells cut with "…". Pure: the
// caller passes the clock and decides on colour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bs::supervisor {

struct TableStyle {
  bool color = false;       // ANSI colours (only for a terminal, and only without NO_COLOR)
  std::size_t width = 100;  // no line is wider, in display columns
  std::int64_t now_ms = 0;  // for "12s ago"
};

// Every line ends with '\n'. Fields missing from the document show as "-".
std::string render_status_table(const nlohmann::json& status, const TableStyle& style);

// Columns a string takes on a terminal: UTF-8 code points, ANSI colour sequences excluded.
std::size_t display_width(std::string_view text);

// Text safe to print on a terminal: control characters (C0, DEL, C1; newlines included) become
// spaces, so a message that came from smolvm cannot move the cursor or change colours.
std::string terminal_safe(std::string_view text);

// "2026-11-29T12:00:00Z" (optionally with a fraction or a +hh:mm offset) -> ms since the epoch.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// A compact duration: "45s", "12m", "3h05m", "4d".
std::string format_age(std::int64_t ms);

}  // namespace bs::supervisor
