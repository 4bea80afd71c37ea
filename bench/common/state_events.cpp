#include "bench/common/state_events.h"

#include <chrono>
#include <exception>

#include "support/sqlite_db.h"

namespace bs::bench {
namespace {

// Read-write without CREATE: a WAL reader needs the -shm file; we only ever SELECT.
bs::test::SqliteDb open_db(const std::string& path) {
  return bs::test::SqliteDb(path, bs::test::SqliteDb::Mode::ReadWrite, 2000);
}

}  // namespace

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bs::Expected<std::size_t, std::string> bottles_with_event(const std::string& state_db, const std::string& kind,
                                                          const std::string& detail_prefix, std::int64_t since_ms) {
  try {
    auto db = open_db(state_db);
    bs::test::Statement count(db.get(),
                              "SELECT COUNT(DISTINCT bottle) FROM events WHERE kind = ?1 AND ts_ms >= ?2 "
                              "AND substr(detail, 1, length(?3)) = ?3");
    count.bind(1, kind).bind(2, since_ms).bind(3, detail_prefix);
    if (!count.step()) return bs::unexpected("no count of the events of " + state_db);
    return static_cast<std::size_t>(count.integer(0));
  } catch (const std::exception& e) {
    return bs::unexpected("cannot count the events of " + state_db + ": " + e.what());
  }
}

bs::Expected<std::map<std::string, std::int64_t>, std::string> latest_event_ms(const std::string& state_db,
                                                                               const std::string& kind) {
  try {
    auto db = open_db(state_db);
    bs::test::Statement latest(db.get(), "SELECT bottle, MAX(ts_ms) FROM events WHERE kind = ?1 GROUP BY bottle");
    latest.bind(1, kind);
    std::map<std::string, std::int64_t> out;
    while (latest.step()) out[latest.bytes(0).value_or("")] = latest.integer(1);
    return out;
  } catch (const std::exception& e) {
    return bs::unexpected("cannot read the events of " + state_db + ": " + e.what());
  }
}

}  // namespace bs::bench
