#include <catch2/catch.hpp>

#include "store/connection.h"
#include "store/schema.h"
#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::open_store;
using bs::test::TempDir;

TEST_CASE("last valid specs survive a reopen, are replaced and forgotten", "[store]") {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    REQUIRE_FALSE(store.save_spec({"a", "/s/a.toml", "image = \"x\"\n", 1}));
    REQUIRE_FALSE(store.save_spec({"b", "/s/b.toml", "image = \"y\"\n", 2}));
    REQUIRE_FALSE(store.save_spec({"a", "/s/a.toml", "image = \"z\"\n", 3}));
  }
  auto store = open_store(tmp.path());
  auto saved = store.saved_specs();
  REQUIRE(saved);
  REQUIRE(saved->size() == 2);
  CHECK((*saved)[0].bottle == "a");
  CHECK((*saved)[0].text == "image = \"z\"\n");
  CHECK((*saved)[0].saved_ms == 3);
  REQUIRE_FALSE(store.forget_spec("a"));
  saved = store.saved_specs();
  REQUIRE(saved);
  REQUIRE(saved->size() == 1);
  CHECK((*saved)[0].bottle == "b");
}

TEST_CASE("a schema 1 state.db is upgraded in place, keeping its leases", "[store]") {
  TempDir tmp;
  {
    auto conn = Connection::open(tmp / "state.db");
    REQUIRE(conn);
    std::vector<Migration> v1_only = {schema_migrations().front()};
    REQUIRE_FALSE(migrate(**conn, v1_only));
    REQUIRE_FALSE((*conn)->exec("INSERT INTO leases VALUES ('old', '127.0.0.16', 1)", "seeding"));
  }
  auto store = open_store(tmp.path());
  CHECK(store.leases()->size() == 1);
  REQUIRE_FALSE(store.save_spec({"old", "/s/old.toml", "image = \"x\"\n", 1}));
  CHECK(store.saved_specs()->size() == 1);
}
