#include "supervisor/event_journal.h"

#include <array>
#include <utility>

namespace bs::supervisor {
namespace {

// Fixed for ever: a MESSAGE_ID is what `journalctl MESSAGE_ID=...` and journal catalogs match on.
constexpr std::array<std::pair<std::string_view, std::string_view>, 18> kMessageIds = {{
    {"lease-acquired", "8037618b88d04f3bbde42c74ea362abb"},
    {"lease-released", "1e167ea1640049ae881ec35d85d1fa01"},
    {"created", "bc2fdc78372c4752bbd82303cfee7fad"},
    {"adopted", "34081f076c98410390128a63ef16af5d"},
    {"patched", "1982f8f3d9654edd8be0fd60ab3553b0"},
    {"verified", "3e644fc25bf34a24946d095565cee102"},
    {"started", "2ee7246dd7764cb6b903b8700e357c2f"},
    {"stopped", "7a58de2cd6e7437ca89dcca598e7d71c"},
    {"deleted", "dd84e0b58ca548b8aaa83ca4b7039eff"},
    {"quarantined", "c59c4166c53f4e6ba42e437874160457"},
    {"drift-killed", "28d0755e0b5047e3a95350871f911b87"},
    {"stray-killed", "42832a9d9b944a288356f81051a96df8"},
    {"exited", "d0af62676c9a4cde9bac5c0560f6624e"},
    {"error", "3cf83beef4694065b0a681da67abbca4"},
    {"released", "f28b9d0056c64273803656f168e89f44"},
    {"lease-conflict", "77d7822083fe4f2b8fa40ec769eaeffb"},
    {"guard-killed", "333915594fb24a86851c7f1de097e18e"},
    {"guard-violation", "6b10b93b37094131ad64edf1084b4551"},
}};

}  // namespace

int event_priority(std::string_view kind) {
  if (kind == "error") return kPriorityErr;
  if (kind == "drift-killed" || kind == "stray-killed" || kind == "quarantined" || kind == "guard-killed" ||
      kind == "guard-violation" || kind == "lease-conflict") {
    return kPriorityWarning;
  }
  return kPriorityInfo;
}

std::string_view event_message_id(std::string_view kind) {
  for (const auto& [k, id] : kMessageIds) {
    if (k == kind) return id;
  }
  return {};
}

std::string event_message(const JournalEvent& e) {
  // A guard event belongs to a machine no bottle manages: no "bottle" word then.
  std::string line = e.bottle.empty() ? e.kind : "bottle " + e.bottle + ": " + e.kind;
  if (!e.machine.empty()) line += " " + e.machine;
  if (!e.detail.empty()) line += " " + e.detail;
  return line;
}

std::vector<std::string> journal_fields(const JournalEvent& e) {
  std::vector<std::string> fields = {
      "MESSAGE=" + event_message(e),
      "PRIORITY=" + std::to_string(event_priority(e.kind)),
  };
  if (auto id = event_message_id(e.kind); !id.empty()) fields.push_back("MESSAGE_ID=" + std::string(id));
  fields.push_back("SYSLOG_IDENTIFIER=bottle-supervisor");
  if (!e.bottle.empty()) fields.push_back("BOTTLE=" + e.bottle);
  if (!e.machine.empty()) fields.push_back("MACHINE=" + e.machine);
  fields.push_back("EVENT=" + e.kind);
  if (!e.detail.empty()) fields.push_back("DETAIL=" + e.detail);
  return fields;
}

}  // namespace bs::supervisor
