// Where each member of a top-level JSON object sits in the text, so a record can be patched by
// splicing one value and leaving every other byte as smolvm (or anyone else) wrote it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/expected.h"

namespace bs::smolvm {

struct JsonMember {
  std::string key;            // decoded (escapes resolved), as a JSON reader sees it
  std::size_t key_begin = 0;  // offset of the key's opening quote
  std::size_t value_begin = 0;
  std::size_t value_end = 0;  // one past the value's last byte
};

struct JsonObjectLayout {
  std::vector<JsonMember> members;  // in text order
  std::size_t open_brace = 0;
  std::size_t close_brace = 0;
};

// Scans the top-level object of `text`. Nested values are skipped, not validated: callers check
// validity with a real parser first. Never reads out of bounds, whatever the input.
bs::Expected<JsonObjectLayout, std::string> scan_object_members(std::string_view text);

}  // namespace bs::smolvm
