#include "smolvm/json_members.h"

#include <nlohmann/json.hpp>

namespace bs::smolvm {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::size_t pos() const { return pos_; }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void skip_ws() {
    while (!at_end() && is_ws(text_[pos_])) ++pos_;
  }
  bool consume(char c) {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  // At an opening quote: moves past the closing quote. False if the string never ends.
  bool skip_string() {
    if (!consume('"')) return false;
    while (!at_end()) {
      char c = text_[pos_++];
      if (c == '\\') {
        if (at_end()) return false;
        ++pos_;  // the escaped byte; \uXXXX digits are plain bytes to skip
      } else if (c == '"') {
        return true;
      }
    }
    return false;
  }

  // Skips one value of any kind. Nesting is tracked with a counter, not recursion, so hostile
  // depth cannot exhaust the stack.
  bool skip_value() {
    std::size_t depth = 0;
    do {
      skip_ws();
      if (at_end()) return false;
      char c = peek();
      if (c == '"') {
        if (!skip_string()) return false;
      } else if (c == '{' || c == '[') {
        ++depth;
        ++pos_;
      } else if (c == '}' || c == ']') {
        if (depth == 0) return false;
        --depth;
        ++pos_;
      } else if (c == ',' || c == ':') {
        if (depth == 0) return false;
        ++pos_;
      } else {
        // number or literal: runs until a delimiter
        std::size_t start = pos_;
        while (!at_end() && !is_ws(peek()) && peek() != ',' && peek() != ':' && peek() != '}' &&
               peek() != ']' && peek() != '{' && peek() != '[' && peek() != '"') {
          ++pos_;
        }
        if (pos_ == start) return false;
      }
    } while (depth > 0);
    return true;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bs::Expected<std::string, std::string> decode_key(std::string_view quoted) {
  try {
    auto j = nlohmann::json::parse(quoted);
    if (j.is_string()) return j.get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return bs::unexpected(std::string("not valid JSON: malformed object key"));
}

}  // namespace

bs::Expected<JsonObjectLayout, std::string> scan_object_members(std::string_view text) {
  const std::string not_object = "not a JSON object";
  Scanner s(text);
  JsonObjectLayout layout;
  s.skip_ws();
  layout.open_brace = s.pos();
  if (!s.consume('{')) return bs::unexpected(not_object);
  s.skip_ws();
  if (!s.consume('}')) {
    for (;;) {
      s.skip_ws();
      JsonMember m;
      m.key_begin = s.pos();
      if (!s.skip_string()) return bs::unexpected(std::string("not valid JSON: expected a key"));
      auto key = decode_key(text.substr(m.key_begin, s.pos() - m.key_begin));
      if (!key) return bs::unexpected(key.error());
      m.key = std::move(*key);
      s.skip_ws();
      if (!s.consume(':')) return bs::unexpected(std::string("not valid JSON: expected ':'"));
      s.skip_ws();
      m.value_begin = s.pos();
      if (!s.skip_value()) return bs::unexpected(std::string("not valid JSON: bad value"));
      m.value_end = s.pos();
      layout.members.push_back(std::move(m));
      s.skip_ws();
      if (s.consume(',')) continue;
      if (s.peek() == '}' && !s.at_end()) break;
      return bs::unexpected(std::string("not valid JSON: expected ',' or '}'"));
    }
    s.consume('}');
  }
  layout.close_brace = s.pos() - 1;
  s.skip_ws();
  if (!s.at_end()) return bs::unexpected(std::string("not valid JSON: text after the object"));
  return layout;
}

}  // namespace bs::smolvm
