#include "bench/common/state_events.h"

#include <sqlite3.h>

#include <chrono>
#include <memory>

namespace bs::bench {
namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

bs::Expected<Db, std::string> open_db(const std::string& path) {
  sqlite3* raw = nullptr;
  // Read-write without CREATE: a WAL reader needs the -shm file; we only ever SELECT.
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return bs::unexpected("cannot open " + path + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db.get(), 2000);
  return db;
}

bs::Expected<Stmt, std::string> prepare(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  Stmt stmt(st);
  if (rc != SQLITE_OK) return bs::unexpected("cannot read the events of " + path + ": " + sqlite3_errmsg(db));
  return stmt;
}

}  // namespace

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bs::Expected<std::size_t, std::string> bottles_with_event(const std::string& state_db, const std::string& kind,
                                                          const std::string& detail_prefix, std::int64_t since_ms) {
  auto db = open_db(state_db);
  if (!db) return bs::unexpected(db.error());
  auto stmt = prepare(db->get(), state_db,
                      "SELECT COUNT(DISTINCT bottle) FROM events WHERE kind = ?1 AND ts_ms >= ?2 "
                      "AND substr(detail, 1, length(?3)) = ?3");
  if (!stmt) return bs::unexpected(stmt.error());
  sqlite3_bind_text(stmt->get(), 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(stmt->get(), 2, since_ms);
  sqlite3_bind_text(stmt->get(), 3, detail_prefix.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(stmt->get()) != SQLITE_ROW) {
    return bs::unexpected("cannot count the events of " + state_db + ": " + sqlite3_errmsg(db->get()));
  }
  return static_cast<std::size_t>(sqlite3_column_int64(stmt->get(), 0));
}

bs::Expected<std::map<std::string, std::int64_t>, std::string> latest_event_ms(const std::string& state_db,
                                                                               const std::string& kind) {
  auto db = open_db(state_db);
  if (!db) return bs::unexpected(db.error());
  auto stmt = prepare(db->get(), state_db, "SELECT bottle, MAX(ts_ms) FROM events WHERE kind = ?1 GROUP BY bottle");
  if (!stmt) return bs::unexpected(stmt.error());
  sqlite3_bind_text(stmt->get(), 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  std::map<std::string, std::int64_t> out;
  int rc;
  while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(stmt->get(), 0));
    out[name != nullptr ? name : ""] = sqlite3_column_int64(stmt->get(), 1);
  }
  if (rc != SQLITE_DONE) {
    return bs::unexpected("cannot read the events of " + state_db + ": " + sqlite3_errmsg(db->get()));
  }
  return out;
}

}  // namespace bs::bench
