// apply_patch splices values into the record text instead of re-serialising it: smolvm ignores
// unknown keys but a newer smolvm's keys, odd number spellings and key order must survive our
// write untouched, and the smaller the write the smaller the chance of clobbering anything.
#include <algorithm>

#include "smolvm/json_members.h"
#include "smolvm/record.h"
#include "smolvm/strict_json.h"

namespace bs::smolvm {
namespace {

using Json = nlohmann::json;

struct PatchedKey {
  const char* key;
  const char* insert_after;  // smolvm's declaration order: the field before this one
  Json value;
};

std::vector<PatchedKey> patched_keys(const RecordPatch& patch) {
  std::vector<PatchedKey> keys;
  if (patch.network) keys.push_back({"network", "published_sockets", Json(*patch.network)});
  if (patch.allowed_cidrs) {
    keys.push_back({"allowed_cidrs", "overlay_gb", Json(*patch.allowed_cidrs)});
  }
  return keys;
}

struct Edit {
  std::size_t begin;
  std::size_t end;  // == begin for an insertion
  std::string text;
};

const JsonMember* member(const JsonObjectLayout& layout, std::string_view key) {
  for (const auto& m : layout.members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

bs::Expected<Json, std::string> parse_object(std::string_view bytes) {
  auto parsed = parse_strict_json(bytes);
  if (!parsed) return bs::unexpected(parsed.error());
  if (!parsed->is_object()) return bs::unexpected(std::string("not a JSON object"));
  return std::move(*parsed);
}

bs::Expected<std::string, std::string> splice_patch(std::string_view bytes, const RecordPatch& patch) {
  auto before = parse_object(bytes);
  if (!before) return bs::unexpected(before.error());
  auto layout = scan_object_members(bytes);
  if (!layout) return bs::unexpected(layout.error());

  std::vector<Edit> edits;
  Json expected = *before;
  for (const auto& k : patched_keys(patch)) {
    std::string value_text = k.value.dump();  // compact; ensure_ascii off keeps UTF-8 as is
    expected[k.key] = k.value;
    if (const JsonMember* m = member(*layout, k.key)) {
      edits.push_back({m->value_begin, m->value_end, value_text});
      continue;
    }
    std::string entry = "\"" + std::string(k.key) + "\":" + value_text;
    if (const JsonMember* prev = member(*layout, k.insert_after)) {
      edits.push_back({prev->value_end, prev->value_end, "," + entry});
    } else if (!layout->members.empty()) {
      std::size_t at = layout->members.back().value_end;
      edits.push_back({at, at, "," + entry});
    } else {
      // Empty object: the first inserted key needs no comma, later ones do.
      bool first = std::none_of(edits.begin(), edits.end(),
                                [&](const Edit& e) { return e.begin == layout->open_brace + 1; });
      std::size_t at = layout->open_brace + 1;
      edits.push_back({at, at, (first ? "" : ",") + entry});
    }
  }

  std::stable_sort(edits.begin(), edits.end(),
                   [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(bytes.size() + 64);
  std::size_t copied = 0;
  for (const auto& e : edits) {
    out.append(bytes.substr(copied, e.begin - copied));
    out += e.text;
    copied = e.end;
  }
  out.append(bytes.substr(copied));

  auto after = parse_object(out);
  if (!after) return bs::unexpected("patched record does not parse (" + after.error() + ")");
  if (*after != expected) {
    return bs::unexpected(std::string("patched record does not equal the intended record"));
  }
  return out;
}

}  // namespace

bs::Expected<std::string, std::string> apply_patch(std::string_view bytes, const RecordPatch& patch) {
  try {
    return splice_patch(bytes, patch);
  } catch (const nlohmann::json::exception& e) {
    // dump() refuses strings that are not UTF-8; only a caller's patch value can get here.
    return bs::unexpected("cannot encode the patch: " + printable(e.what()));
  }
}

bs::Expected<bool, std::string> patch_is_applied(std::string_view bytes, const RecordPatch& patch) {
  auto record = parse_object(bytes);
  if (!record) return bs::unexpected(record.error());
  for (const auto& k : patched_keys(patch)) {
    auto it = record->find(k.key);
    if (it == record->end() || *it != k.value) return false;
  }
  return true;
}

}  // namespace bs::smolvm
