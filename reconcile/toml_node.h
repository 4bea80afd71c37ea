// Internal to reconcile/*.cpp (spec and config parsing): how a toml++ node is described in a
// message and where it is. Public headers never include toml++; this header is not public.
#pragma once

#include <string>

#include <toml++/toml.h>

namespace bs::toml_node {

struct Position {
  int line = 1;
  int column = 1;
};

// 1-based; 1:1 when toml++ recorded no position.
Position position_of(const toml::source_region& r);
inline Position position_of(const toml::node& n) { return position_of(n.source()); }
inline Position position_of(const toml::key& k) { return position_of(k.source()); }

// "an integer 5", "a string \"x\"", "a float 2.5", "a boolean true", "an array", "a table", ...
// For "'cpus' must be an integer (1..64), got a string \"2\"".
std::string describe(const toml::node& n);

// 'name' with control characters escaped, for keys and names in messages.
std::string single_quoted(std::string_view s);

// toml++'s description of a syntax error, with control characters escaped: it quotes the
// offending character verbatim, and a newline there would split a diagnostic (and a log line).
std::string syntax_error_message(const toml::parse_error& e);

}  // namespace bs::toml_node
