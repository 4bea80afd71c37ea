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
  std::size_t width = 100;  // no line is wider, in display columns (kUnlimited: nothing is cut)
  std::int64_t now_ms = 0;  // for "12s ago"
};

inline constexpr std::size_t kUnlimited = static_cast<std::size_t>(-1);

// Every line ends with '\n'. Fields missing from the document show as "-". When even the
// narrowest cells do not fit the width, MACHINE is left out first (`status NAME` shows it).
std::string render_status_table(const nlohmann::json& status, const TableStyle& style);

// `status -o name`: one bottle name per line, for scripts.
std::string render_status_names(const nlohmann::json& status);

// A bottle's DETAIL: the error with its message first and the spec path last, the restart or
// retry backoff from `retry` ("restarting in 16s (5th)"), else the last event and its age.
std::string detail_of(const nlohmann::json& bottle, std::int64_t now_ms);

// "/x/a.toml:3: key 'state': ..." -> "key 'state': ... (/x/a.toml:3)": the reader wants the
// message, and a cut line should lose the path, not the reason. Other texts are unchanged.
std::string message_first(const std::string& error, const std::string& spec_path);

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
