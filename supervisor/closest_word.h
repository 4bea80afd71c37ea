// "Did you mean": the known word closest to a mistyped one, for usage errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bs::supervisor {

// The closest of `known` to `word` within two edits (Levenshtein), if any.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& known);

}  // namespace bs::supervisor
