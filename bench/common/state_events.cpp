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

}  // namespace

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bs::Expected<std::map<std::string, std::int64_t>, std::string> latest_event_ms(const std::string& state_db,
                                                                               const std::string& kind) {
  sqlite3* raw = nullptr;
  // Read-write without CREATE: a WAL reader needs the -shm file; we only ever SELECT.
  int rc = sqlite3_open_v2(state_db.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, DbClose> db(raw);
  if (rc != SQLITE_OK) return bs::unexpected("cannot open " + state_db + ": " + sqlite3_errstr(rc));
  sqlite3_busy_timeout(db.get(), 2000);
  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(db.get(), "SELECT bottle, MAX(ts_ms) FROM events WHERE kind = ?1 GROUP BY bottle", -1,
                          &st, nullptr);
  std::unique_ptr<sqlite3_stmt, StmtFinalize> stmt(st);
  if (rc != SQLITE_OK) return bs::unexpected("cannot read the events of " + state_db + ": " + sqlite3_errmsg(db.get()));
  sqlite3_bind_text(stmt.get(), 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  std::map<std::string, std::int64_t> out;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    out[name != nullptr ? name : ""] = sqlite3_column_int64(stmt.get(), 1);
  }
  if (rc != SQLITE_DONE) return bs::unexpected("cannot read the events of " + state_db + ": " + sqlite3_errmsg(db.get()));
  return out;
}

}  // namespace bs::bench
