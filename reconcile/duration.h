// Durations as written in the config file: a whole number and a unit, "50ms", "2s", "5m", "1h".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "reconcile/expected.h"

namespace bs {

// Units ms, s, m, h, lowercase, no space, no sign, one unit only ("1m30s" is refused: write "90s").
// Fractions are refused too ("1.5s": write "1500ms"), so every value is an exact number of
// milliseconds. "0s" parses; whether zero makes sense is each config key's call. At most 1000000h.
// Errors name the value: "\"12x\" is not a duration (use ms, s, m, h, e.g. \"<example>\")".
Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view s,
                                                                std::string_view example = "30s");

// The shortest exact form: 50ms, 2s, 5m, 1h, 90s, 0s.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace bs
