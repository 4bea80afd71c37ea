// Events the store could not take: kept in order up to the bound, written when it takes writes.
#include <catch2/catch.hpp>

#include "store/pending_events.h"
#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::open_store;
using bs::test::TempDir;

TEST_CASE("pending events: queued in order, written in order, the newest dropped beyond the bound", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  PendingEvents pending(3);
  for (int i = 1; i <= 5; ++i) {
    const bool kept = pending.push({0, i, "b", "m", "drift-killed", "event " + std::to_string(i)});
    CHECK(kept == (i <= 3));
  }
  CHECK(pending.size() == 3);
  CHECK(pending.dropped() == 2);
  REQUIRE_FALSE(pending.flush(store));
  CHECK(pending.empty());
  auto written = store.events("", 0, 0, 0);
  REQUIRE(written);
  REQUIRE(written->size() == 3);
  CHECK(written->at(0).detail == "event 1");
  CHECK(written->at(2).detail == "event 3");
}

TEST_CASE("pending events: a refused write keeps that event and those behind it", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  PendingEvents pending;
  REQUIRE(pending.push({0, 1, "b", "m", "error", "first"}));
  REQUIRE(pending.push({0, 2, "b", "m", "error", "second"}));
  // Another connection holds the write lock: the store is busy, nothing is lost.
  auto other = StateStore::open(tmp.path());
  REQUIRE(other);
  auto err = other->transaction([&]() -> std::optional<StoreError> {
    auto refused = pending.flush(store);
    REQUIRE(refused);
    CHECK(refused->kind == StoreError::Kind::Busy);
    CHECK(pending.size() == 2);
    return std::nullopt;
  });
  REQUIRE_FALSE(err);
  REQUIRE_FALSE(pending.flush(store));
  auto written = store.events("", 0, 0, 0);
  REQUIRE(written);
  REQUIRE(written->size() == 2);
  CHECK(written->at(0).detail == "first");
}
