// How one audit event (CONTRACT §9) is logged: its syslog priority and, under journald, the
// structured fields of its journal entry. Pure, so the mapping is tested without a journal.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bs::supervisor {

// syslog(3) priorities as journald stores them (PRIORITY=).
inline constexpr int kPriorityErr = 3;
inline constexpr int kPriorityWarning = 4;
inline constexpr int kPriorityInfo = 6;

// drift-killed, stray-killed and quarantined: warning (the supervisor had to act against a VM
// or a row); error: err; every other kind: info. So `journalctl -p warning` shows every kill.
int event_priority(std::string_view kind);

// The fixed 128-bit MESSAGE_ID of each event kind (32 lowercase hex digits; listed in the README
// and bottle-supervisor(1)), or "" for a kind that has none.
std::string_view event_message_id(std::string_view kind);

struct JournalEvent {
  std::string bottle, machine, kind, detail;
};

// The log line: "bottle NAME: KIND MACHINE DETAIL" (control characters escaped by the caller's sink).
std::string event_message(const JournalEvent& e);

// "FIELD=value" strings for sd_journal_sendv: MESSAGE, PRIORITY, MESSAGE_ID, SYSLOG_IDENTIFIER,
// BOTTLE, MACHINE (only when there is one), EVENT and DETAIL (only when not empty). Values are
// passed as they are: journald stores binary-safe values, and sendv needs no escaping.
std::vector<std::string> journal_fields(const JournalEvent& e);

}  // namespace bs::supervisor
