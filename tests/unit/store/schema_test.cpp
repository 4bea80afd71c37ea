#include <catch2/catch.hpp>

#include "store/connection.h"
#include "store/schema.h"
#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::open_store;
using bs::store::test::raw_connection;
using bs::store::test::ip;
using bs::test::TempDir;

TEST_CASE("migrations are idempotent and keep data", "[store]") {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.16"), 1}));
  }
  for (int i = 0; i < 3; ++i) {
    auto store = open_store(tmp.path());
    auto leases = store.leases();
    REQUIRE(leases);
    CHECK(leases->size() == 1);
  }
  auto conn = Connection::open(tmp / "state.db");
  REQUIRE(conn);
  REQUIRE_FALSE(migrate(**conn));
  REQUIRE_FALSE(migrate(**conn));

  auto raw = raw_connection(tmp / "state.db");
  CHECK(raw.integer("PRAGMA user_version") == schema_migrations().back().version);
  CHECK(raw.integer("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'leases'") == 1);
  CHECK(raw.integer("SELECT count(*) FROM leases") == 1);
}

TEST_CASE("pending migrations apply in one transaction", "[store]") {
  TempDir tmp;
  const std::string path = tmp / "state.db";
  auto conn = Connection::open(path);
  REQUIRE(conn);
  REQUIRE_FALSE(migrate(**conn));  // the current version
  const int v = schema_migrations().back().version;

  SECTION("all pending steps land together") {
    std::vector<Migration> list = schema_migrations();
    list.push_back({v + 1, "CREATE TABLE extra (x INTEGER);"});
    list.push_back({v + 2, "ALTER TABLE extra ADD COLUMN y TEXT;"});
    REQUIRE_FALSE(migrate(**conn, list));
    auto raw = raw_connection(path);
    CHECK(raw.integer("PRAGMA user_version") == v + 2);
    CHECK(raw.integer("SELECT count(*) FROM pragma_table_info('extra')") == 2);
  }
  SECTION("a failing step leaves the old version and schema intact") {
    std::vector<Migration> list = schema_migrations();
    list.push_back({v + 1, "CREATE TABLE extra (x INTEGER);"});
    list.push_back({v + 2, "THIS IS NOT SQL;"});
    auto err = migrate(**conn, list);
    REQUIRE(err);
    CHECK_THAT(err->message, Catch::Contains("schema " + std::to_string(v + 2)));
    auto raw = raw_connection(path);
    CHECK(raw.integer("PRAGMA user_version") == v);
    CHECK(raw.integer("SELECT count(*) FROM sqlite_master WHERE name = 'extra'") == 0);
  }
}

TEST_CASE("a state.db from a newer supervisor is refused", "[store]") {
  TempDir tmp;
  { auto store = open_store(tmp.path()); }
  {
    auto raw = raw_connection(tmp / "state.db");
    REQUIRE(raw.try_exec("PRAGMA user_version = 42") == SQLITE_OK);
  }
  auto store = StateStore::open(tmp.path());
  REQUIRE_FALSE(store);
  CHECK(store.error().message == "state.db was written by a newer bottle-supervisor (schema 42)");

  // Refusing must not have touched it.
  auto raw = raw_connection(tmp / "state.db");
  CHECK(raw.integer("PRAGMA user_version") == 42);
}

TEST_CASE("a file that is not a database is reported as corrupt", "[store]") {
  TempDir tmp;
  {
    std::FILE* f = std::fopen((tmp / "state.db").c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("this is not an SQLite database, just some text that is long enough to matter....\n", f);
    std::fclose(f);
  }
  auto store = StateStore::open(tmp.path());
  REQUIRE_FALSE(store);
  CHECK(store.error().kind == StoreError::Kind::Corrupt);
  CHECK_THAT(store.error().message, Catch::Contains(tmp / "state.db") && Catch::Contains("move it aside"));
}

TEST_CASE("format_rfc3339 prints UTC seconds", "[store]") {
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(1795953600000) == "2026-11-29T12:00:00Z");
  CHECK(format_rfc3339(1795953600999) == "2026-11-29T12:00:00Z");
  CHECK(format_rfc3339(951782400000 + 86399000) == "2000-02-29T23:59:59Z");
  CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59Z");
}
