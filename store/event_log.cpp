// The audit-log half of StateStore: append with trim, and filtered reads for `events`.
#include <limits>

#include "store/state_store.h"

namespace bs::store {

std::optional<StoreError> StateStore::append_event(const Event& e) {
  auto txn = begin_write();
  if (!txn) return txn.error();
  std::int64_t id = 0;
  {
    auto insert = conn_->prepare(
        "INSERT INTO events (ts_ms, bottle, machine, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id");
    if (!insert) return insert.error();
    insert->bind(1, e.ts_ms).bind(2, e.bottle).bind(3, e.machine).bind(4, e.kind).bind(5, e.detail);
    auto row = insert->step("appending a " + e.kind + " event");
    if (!row) return row.error();
    if (!*row) return StoreError{StoreError::Kind::Other, "appending an event to " + path() + " returned no id"};
    id = insert->int64(0);
    if (auto err = insert->run("appending a " + e.kind + " event")) return err;
  }
  // Ids only grow, so everything at or below id - kEventsKept is older than the newest
  // kEventsKept events; deleting by the primary key keeps this a short range scan per append.
  if (id > kEventsKept) {
    auto trim = conn_->prepare("DELETE FROM events WHERE id <= ?1");
    if (!trim) return trim.error();
    trim->bind(1, id - kEventsKept);
    if (auto err = trim->run("trimming the event log")) return err;
  }
  return txn->commit();
}

bs::Expected<std::vector<Event>, StoreError> StateStore::events(const std::string& bottle,
                                                                std::int64_t since_ms,
                                                                std::int64_t after_id,
                                                                std::size_t limit) {
  // Two statements rather than "?1 = '' OR bottle = ?1", which would keep SQLite from using the
  // (bottle, id) index.
  auto stmt = bottle.empty()
                  ? conn_->prepare("SELECT id, ts_ms, bottle, machine, kind, detail FROM events "
                                   "WHERE id > ?1 AND ts_ms >= ?2 ORDER BY id LIMIT ?3")
                  : conn_->prepare("SELECT id, ts_ms, bottle, machine, kind, detail FROM events "
                                   "WHERE bottle = ?4 AND id > ?1 AND ts_ms >= ?2 ORDER BY id LIMIT ?3");
  if (!stmt) return bs::unexpected(stmt.error());
  const std::int64_t max_rows =
      limit == 0 || limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
          ? std::int64_t{-1}  // SQLite: a negative LIMIT means no limit
          : static_cast<std::int64_t>(limit);
  stmt->bind(1, after_id).bind(2, since_ms).bind(3, max_rows);
  if (!bottle.empty()) stmt->bind(4, bottle);
  std::vector<Event> out;
  for (;;) {
    auto row = stmt->step("reading events");
    if (!row) return bs::unexpected(row.error());
    if (!*row) return out;
    out.push_back(Event{stmt->int64(0), stmt->int64(1), stmt->text(2), stmt->text(3), stmt->text(4),
                        stmt->text(5)});
  }
}

bs::Expected<std::int64_t, StoreError> StateStore::last_event_id() {
  return conn_->query_int("SELECT coalesce(max(id), 0) FROM events", "reading the newest event id");
}

}  // namespace bs::store
