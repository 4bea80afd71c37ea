#include "smolvm/strict_json.h"

#include <set>
#include <vector>

namespace bs::smolvm {
namespace {

struct DuplicateKey {
  std::string key;
};

// nlohmann prefixes its messages with "[json.exception.parse_error.101] "; users need the rest.
std::string strip_exception_id(const std::string& what) {
  if (!what.empty() && what[0] == '[') {
    auto end = what.find("] ");
    if (end != std::string::npos) return what.substr(end + 2);
  }
  return what;
}

// serde_json refuses input nested deeper than 128 levels, so smolvm cannot read such a record
// either; refusing it up front also keeps nlohmann's recursive copy and compare off deep input.
constexpr std::size_t kMaxDepth = 128;

bool nested_too_deep(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace

bs::Expected<nlohmann::json, std::string> parse_strict_json(std::string_view text) {
  // nlohmann's lexer takes a NUL byte for the end of the input, so `{...}\0<anything>` would
  // parse as the object before it; serde_json (and JSON) refuse a raw NUL anywhere.
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    return bs::unexpected("not valid JSON: a NUL byte at offset " + std::to_string(nul));
  }
  // nlohmann skips a UTF-8 byte-order mark; serde_json does not, so smolvm cannot read such a
  // record.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return bs::unexpected(std::string("not valid JSON: starts with a byte-order mark"));
  }
  if (nested_too_deep(text)) {
    return bs::unexpected(std::string("not valid JSON: nested deeper than 128 levels"));
  }
  std::vector<std::set<std::string>> open_objects;
  auto reject_duplicates = [&open_objects](int /*depth*/, nlohmann::json::parse_event_t event,
                                           nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Event::key && !open_objects.empty() && parsed.is_string()) {
      if (!open_objects.back().insert(parsed.get_ref<const std::string&>()).second) {
        throw DuplicateKey{parsed.get<std::string>()};
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), reject_duplicates);
  } catch (const DuplicateKey& d) {
    return bs::unexpected("duplicate key '" + printable(d.key) + "'");
  } catch (const nlohmann::json::exception& e) {
    return bs::unexpected("not valid JSON: " + printable(strip_exception_id(e.what()), 300));
  } catch (const std::bad_alloc&) {
    return bs::unexpected(std::string("not valid JSON: too large to parse"));
  }
}

AllowedCidrs allowed_cidrs_from(const nlohmann::json* value) {
  AllowedCidrs out;
  if (value == nullptr || value->is_null()) return out;
  if (!value->is_array()) {
    out.kind = AllowedCidrs::Kind::Invalid;
    return out;
  }
  std::vector<std::string> cidrs;
  cidrs.reserve(value->size());
  for (const auto& item : *value) {
    if (!item.is_string()) {
      out.kind = AllowedCidrs::Kind::Invalid;
      return out;
    }
    cidrs.push_back(item.get<std::string>());
  }
  out.kind = AllowedCidrs::Kind::List;
  out.cidrs = std::move(cidrs);
  return out;
}

std::string printable(std::string_view bytes, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes.substr(0, max)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  if (bytes.size() > max) out += "...";
  return out;
}

}  // namespace bs::smolvm
