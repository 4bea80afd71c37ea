#include "reconcile/toml_nesting.h"

#include <string>

namespace bs {
namespace {

enum class Lex { Code, Comment, Basic, Literal, MultiBasic, MultiLiteral };

bool starts_with(std::string_view text, std::size_t i, std::string_view what) {
  return text.substr(i, what.size()) == what;
}

}  // namespace

std::optional<TomlNestingExcess> find_excess_toml_nesting(std::string_view text, std::size_t max_depth) {
  Lex state = Lex::Code;
  std::size_t brackets = 0;  // open '[' and '{' in code
  std::size_t dots = 0;      // segments beyond the first of the dotted key being read
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size(); ++i, ++column) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      column = 0;  // the increment makes the next character column 1
      dots = 0;
      // Single-line strings and comments end at the newline (toml++ rejects an unterminated
      // single-line string there anyway, so nothing after it is parsed).
      if (state == Lex::Comment || state == Lex::Basic || state == Lex::Literal) state = Lex::Code;
      continue;
    }
    switch (state) {
      case Lex::Comment: continue;
      case Lex::Basic:
        if (c == '\\') {
          ++i, ++column;  // the escaped character cannot end the string
          if (i < text.size() && text[i] == '\n') ++line, column = 0;  // (not valid TOML; keep counting lines)
        } else if (c == '"') {
          state = Lex::Code;
        }
        continue;
      case Lex::Literal:
        if (c == '\'') state = Lex::Code;
        continue;
      case Lex::MultiBasic:
        if (c == '\\') {
          if (i + 1 < text.size() && text[i + 1] == '\n') continue;  // line-ending backslash: the newline counts
          ++i, ++column;
        } else if (starts_with(text, i, "\"\"\"")) {
          // Up to two more quotes right before the delimiter belong to the string.
          std::size_t end = i + 3;
          while (end < text.size() && end < i + 5 && text[end] == '"') ++end;
          column += static_cast<int>(end - i - 1);
          i = end - 1;
          state = Lex::Code;
        }
        continue;
      case Lex::MultiLiteral:
        if (starts_with(text, i, "'''")) {
          std::size_t end = i + 3;
          while (end < text.size() && end < i + 5 && text[end] == '\'') ++end;
          column += static_cast<int>(end - i - 1);
          i = end - 1;
          state = Lex::Code;
        }
        continue;
      case Lex::Code: break;
    }
    std::size_t depth = brackets + dots;
    switch (c) {
      case '#': state = Lex::Comment; break;
      case '"':
        if (starts_with(text, i, "\"\"\"")) {
          state = Lex::MultiBasic;
          i += 2, column += 2;
        } else {
          state = Lex::Basic;
        }
        break;
      case '\'':
        if (starts_with(text, i, "'''")) {
          state = Lex::MultiLiteral;
          i += 2, column += 2;
        } else {
          state = Lex::Literal;
        }
        break;
      case '[':
      case '{':
        ++brackets;
        ++depth;
        break;
      case ']':
      case '}':
        if (brackets > 0) --brackets;
        break;
      case '.':
        ++dots;
        ++depth;
        break;
      case '=':
      case ',': dots = 0; break;
      default: break;
    }
    if (depth > max_depth) {
      return TomlNestingExcess{line, column,
                               "nested more than " + std::to_string(max_depth) +
                                   " levels deep (dotted keys, tables, arrays or inline tables); refusing to parse"};
    }
  }
  return std::nullopt;
}

}  // namespace bs
