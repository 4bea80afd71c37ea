// smolvm::parse_record + apply_patch on arbitrary bytes (a vms.data value anyone with write access
// to smolvm's DB can shape). Besides "no crash", the patcher's promise is checked byte for byte:
// a successful patch replaces the patched values and keeps every other byte of the record.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "smolvm/json_members.h"
#include "smolvm/record.h"
#include "smolvm/strict_json.h"

namespace {

using bs::smolvm::JsonObjectLayout;
using bs::smolvm::RecordPatch;
using Json = nlohmann::json;

struct NamedPatch {
  RecordPatch patch;
  std::vector<std::string> keys;  // the keys it sets
};

// What the supervisor writes: confine to its address, quarantine, and a network flip alone.
std::vector<NamedPatch> patches() {
  RecordPatch confine;
  confine.allowed_cidrs = std::vector<std::string>{"127.0.0.16/32", "10.0.0.0/8"};
  RecordPatch quarantine;
  quarantine.allowed_cidrs = std::vector<std::string>{};
  quarantine.network = false;
  RecordPatch network;
  network.network = true;
  return {{confine, {"allowed_cidrs"}}, {quarantine, {"allowed_cidrs", "network"}}, {network, {"network"}}};
}

Json patch_value(const RecordPatch& p, const std::string& key) {
  if (key == "allowed_cidrs") return Json(*p.allowed_cidrs);
  return Json(*p.network);
}

std::optional<std::size_t> find_member(const JsonObjectLayout& l, const std::string& key) {
  for (std::size_t i = 0; i < l.members.size(); ++i) {
    if (l.members[i].key == key) return i;
  }
  return std::nullopt;
}

std::string_view value_text(std::string_view text, const bs::smolvm::JsonMember& m) {
  return text.substr(m.value_begin, m.value_end - m.value_begin);
}

// The scanner's value boundaries are what the byte checks below trust: confirm them with a parser.
void check_layout(std::string_view in, const Json& object) {
  auto layout = bs::smolvm::scan_object_members(in);
  FUZZ_CHECK(layout.has_value(), "a JSON object scans");
  FUZZ_CHECK(layout->members.size() == object.size(), "the scan finds every member");
  for (const auto& m : layout->members) {
    auto v = Json::parse(value_text(in, m), nullptr, false);
    FUZZ_CHECK(!v.is_discarded() && v == object.at(m.key), "member boundaries hold exactly the value");
  }
}

void check_patch(std::string_view in, const NamedPatch& np, bool patchable, bool record_parsed) {
  auto out = bs::smolvm::apply_patch(in, np.patch);
  FUZZ_CHECK(out.has_value() == patchable, "a JSON object without duplicate keys is patchable, nothing else");
  if (record_parsed) FUZZ_CHECK(out.has_value(), "a record smolvm can read can be patched");
  if (!out) return;

  auto applied = bs::smolvm::patch_is_applied(*out, np.patch);
  FUZZ_CHECK(applied && *applied, "the patch reads back as applied");

  auto lin = bs::smolvm::scan_object_members(in);
  auto lout = bs::smolvm::scan_object_members(*out);
  FUZZ_CHECK(lin && lout, "both records scan");

  // Every member not patched: same key order, same value bytes.
  std::vector<std::string> kept_in, kept_out;
  for (const auto& m : lin->members) {
    if (std::find(np.keys.begin(), np.keys.end(), m.key) == np.keys.end()) kept_in.push_back(m.key);
  }
  for (const auto& m : lout->members) {
    if (std::find(np.keys.begin(), np.keys.end(), m.key) == np.keys.end()) kept_out.push_back(m.key);
  }
  FUZZ_CHECK(kept_in == kept_out, "unpatched members keep their order");
  for (const auto& key : kept_in) {
    auto i = find_member(*lin, key);
    auto o = find_member(*lout, key);
    FUZZ_CHECK(value_text(in, lin->members[*i]) == value_text(*out, lout->members[*o]),
               "unpatched members keep their bytes");
  }

  // Patched members hold exactly the patch's value.
  for (const auto& key : np.keys) {
    auto o = find_member(*lout, key);
    FUZZ_CHECK(o.has_value(), "a patched key is present");
    auto v = Json::parse(value_text(*out, lout->members[*o]), nullptr, false);
    FUZZ_CHECK(!v.is_discarded() && v == patch_value(np.patch, key), "a patched key holds the patch's value");
  }

  // The output is the input with the present patched values spliced and the missing patched
  // members inserted: take the inserted members back out and splice the input the same way, and
  // not one other byte (whitespace, number spelling, escapes) may differ.
  std::string stripped = *out;
  std::vector<bs::smolvm::JsonMember> inserted;
  for (const auto& key : np.keys) {
    if (!find_member(*lin, key)) inserted.push_back(lout->members[*find_member(*lout, key)]);
  }
  std::sort(inserted.begin(), inserted.end(),
            [](const auto& a, const auto& b) { return a.key_begin > b.key_begin; });
  for (const auto& m : inserted) {
    std::size_t b = m.key_begin, e = m.value_end;
    if (b > 0 && stripped[b - 1] == ',') {
      --b;  // ,"key":value after another member
    } else if (e < stripped.size() && stripped[e] == ',') {
      ++e;  // the first member of an object that was empty
    }
    stripped.erase(b, e - b);
  }
  struct Splice {
    std::size_t begin, end;
    std::string_view text;
  };
  std::vector<Splice> splices;
  for (const auto& key : np.keys) {
    auto i = find_member(*lin, key);
    if (!i) continue;
    const auto& mi = lin->members[*i];
    splices.push_back({mi.value_begin, mi.value_end, value_text(*out, lout->members[*find_member(*lout, key)])});
  }
  std::sort(splices.begin(), splices.end(), [](const Splice& a, const Splice& b) { return a.begin < b.begin; });
  std::string expected;
  std::size_t at = 0;
  for (const auto& sp : splices) {
    expected.append(in.substr(at, sp.begin - at));
    expected.append(sp.text);
    at = sp.end;
  }
  expected.append(in.substr(at));
  FUZZ_CHECK(expected == stripped, "only the patched values' bytes changed, and the inserted members added");

  // A record smolvm could read stays readable, with only the patched fields changed.
  if (record_parsed) {
    auto before = bs::smolvm::parse_record(in);
    auto after = bs::smolvm::parse_record(*out);
    FUZZ_CHECK(after.has_value(), "a patched readable record stays readable");
    FUZZ_CHECK(after->name == before->name && after->state == before->state && after->pid == before->pid &&
                   after->pid_start_time == before->pid_start_time && after->image == before->image &&
                   after->source_smolmachine == before->source_smolmachine && after->cpus == before->cpus &&
                   after->mem == before->mem,
               "unpatched fields read back the same");
    if (np.patch.allowed_cidrs) {
      FUZZ_CHECK(after->allowed_cidrs.kind == bs::smolvm::AllowedCidrs::Kind::List &&
                     after->allowed_cidrs.cidrs == *np.patch.allowed_cidrs,
                 "allowed_cidrs reads back as patched");
    } else {
      FUZZ_CHECK(after->allowed_cidrs == before->allowed_cidrs, "allowed_cidrs untouched");
    }
    FUZZ_CHECK(after->network == (np.patch.network ? *np.patch.network : before->network), "network as patched");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto record = bs::smolvm::parse_record(in);
  if (record) {
    FUZZ_CHECK(!record->pid || (*record->pid >= 1 && *record->pid <= 0x7fffffff), "a pid is a process id");
  } else {
    FUZZ_CHECK(!record.error().empty(), "a refusal says why");
  }
  auto strict = bs::smolvm::parse_strict_json(in);
  const bool patchable = strict && strict->is_object();
  if (patchable) check_layout(in, *strict);
  static const std::vector<NamedPatch> kPatches = patches();
  for (const auto& p : kPatches) check_patch(in, p, patchable, record.has_value());
  return 0;
}
