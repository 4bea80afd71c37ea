// `reconcile --once`: one pass in this process (run_daemon), then what it did: the audit events
// the pass wrote, one line per bottle and action, or with --json as JSON Lines like `events`.
#include <algorithm>

#include "store/state_store.h"
#include "supervisor/commands.h"
#include "supervisor/event_filter.h"
#include "supervisor/status_table.h"

namespace bs::supervisor {

int cmd_reconcile_once(const Settings& settings, const Invocation& inv, CommandIo& io,
                       const std::function<int()>& pass) {
  // Where the log ends before the pass: everything after is the pass's. No DB yet (a first
  // run): the pass creates it, and every event in it is the pass's.
  std::int64_t before = 0;
  if (auto db = store::StateStore::open_read_only(settings.state_dir)) {
    if (auto last = db->last_event_id()) before = *last;
  }
  int code = pass();
  auto db = store::StateStore::open_read_only(settings.state_dir);
  if (!db) return code;  // the pass failed before its store opened; it said why
  auto events = db->events("", 0, before, 0);
  if (!events) {
    print_error(io.err, "the pass ran, but its audit events cannot be read: " + events.error().message);
    return code == kExitOk ? kExitFailed : code;
  }
  for (const auto& e : *events) {
    if (inv.json) {
      io.out << event_json_line(e);
    } else {
      std::string who = e.bottle.empty() ? e.machine : e.bottle;
      io.out << terminal_safe(who.empty() ? "-" : who) << ": " << terminal_safe(e.kind)
             << (e.detail.empty() ? "" : " " + terminal_safe(e.detail)) << "\n";
    }
  }
  if (events->empty() && !inv.json) io.out << "nothing to do\n";
  io.out.flush();
  return code;
}

}  // namespace bs::supervisor
