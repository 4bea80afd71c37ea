// The daemon's one logger: spdlog's default logger writing to stderr. Run by hand, each line
// carries a UTC timestamp and the level; under systemd (JOURNAL_STREAM set) each line starts
// with its syslog priority "<N>" instead, and journald adds the time (sd-daemon(3)). Audit events
// go through log_event: under journald (JOURNAL_STREAM set, and built with BS_SYSTEMD) each is one
// structured journal entry (BOTTLE=, MACHINE=, EVENT=, MESSAGE_ID=, ...) sent with sd_journal_sendv;
// otherwise, or when that send fails, one line like any other.
#pragma once

#include <string>
#include <string_view>

#include "platform/env.h"
#include "supervisor/event_journal.h"

namespace bs::supervisor {

// level: trace|debug|info|warn|error (anything else means info). Replaces the default logger.
void init_logging(const std::string& level, const platform::EnvLookup& env);

// Every byte below 0x20 and DEL as "\n", "\r", "\t" or "\xHH"; everything else as is. The sink
// applies it to every message, so nothing from the file system reaches the log raw.
std::string escape_control_characters(std::string_view text);

// One audit event, at event_priority(kind). An "error" event prints no line of its own outside
// the journal: the step that failed has logged it already.
void log_event(const JournalEvent& event);

// For SIGHUP reloads: changes the level of the default logger only.
void set_log_level(const std::string& level);

}  // namespace bs::supervisor
