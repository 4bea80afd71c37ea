// A bound on how deeply a TOML document nests, checked on the raw text BEFORE toml++ sees it:
// toml++ builds (and destroys) nested tables recursively, so `a.a.a....a = 1` with 50,000
// segments overflows the stack. Spec and config files nest two or three levels; anything past
// kMaxTomlNesting is refused with the place where the bound was crossed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bs {

inline constexpr std::size_t kMaxTomlNesting = 64;

struct TomlNestingExcess {
  int line = 1;    // 1-based, where the (kMax + 1)-th level opens
  int column = 1;  // 1-based, in bytes
  std::string message;
};

// Counts, outside strings and comments, the open `[` and `{` plus the dots of the dotted key
// being read (a dotted key is reset at '=', ',' and end of line). This over-counts a little
// (a float's dot, a table header's brackets); what it admits nests at most about 2 x max_depth
// (a header's path plus the keys and values under it), which toml++ handles easily.
std::optional<TomlNestingExcess> find_excess_toml_nesting(std::string_view text,
                                                          std::size_t max_depth = kMaxTomlNesting);

}  // namespace bs
