#include "reconcile/toml_node.h"

#include <charconv>
#include <cstdio>
#include <sstream>

#include "reconcile/quote.h"

namespace bs::toml_node {

Position position_of(const toml::source_region& r) {
  if (r.begin.line == 0) return {};
  return {static_cast<int>(r.begin.line), static_cast<int>(r.begin.column == 0 ? 1 : r.begin.column)};
}

namespace {

// Shortest round-trip form, so 0.1 reads "0.1" rather than toml++'s 17 digits.
std::string float_text(double d) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".eni") == std::string::npos) s += ".0";
  return s;
}

template <class T>
std::string streamed(const toml::value<T>& v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

std::string describe(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string " + bs::quoted(*n.value<std::string>());
    case toml::node_type::integer: return "an integer " + std::to_string(*n.value<std::int64_t>());
    case toml::node_type::floating_point: return "a float " + float_text(*n.value<double>());
    case toml::node_type::boolean: return std::string("a boolean ") + (*n.value<bool>() ? "true" : "false");
    case toml::node_type::date: return "a date " + streamed(*n.as_date());
    case toml::node_type::time: return "a time " + streamed(*n.as_time());
    case toml::node_type::date_time: return "a date-time " + streamed(*n.as_date_time());
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string single_quoted(std::string_view s) {
  const std::string q = bs::quoted(s);
  return "'" + q.substr(1, q.size() - 2) + "'";
}

std::string syntax_error_message(const toml::parse_error& e) {
  std::string out;
  for (char c : e.description()) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(u));
      out += buf;
    }
  }
  return out;
}

}  // namespace bs::toml_node
