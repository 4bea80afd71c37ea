#include <catch2/catch.hpp>

#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::open_store;
using bs::store::test::raw_connection;
using bs::test::TempDir;

namespace {

std::vector<std::int64_t> ids(const std::vector<Event>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

}  // namespace

TEST_CASE("events come back oldest first, filtered", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  CHECK(*store.last_event_id() == 0);
  // ts out of order on purpose: the order is the append order (id), not the timestamp.
  REQUIRE_FALSE(store.append_event({0, 1000, "a", "bottle-a", "lease-acquired", "127.0.0.16"}));
  REQUIRE_FALSE(store.append_event({0, 2000, "b", "bottle-b", "lease-acquired", "127.0.0.17"}));
  REQUIRE_FALSE(store.append_event({0, 3000, "a", "bottle-a", "created", ""}));
  REQUIRE_FALSE(store.append_event({0, 2500, "b", "bottle-b", "error", "smolvm: boom"}));
  REQUIRE_FALSE(store.append_event({0, 4000, "a", "bottle-a", "started", "pid 42"}));

  auto all = store.events("", 0, 0, 0);
  REQUIRE(all);
  CHECK(ids(*all) == std::vector<std::int64_t>{1, 2, 3, 4, 5});
  CHECK((*all)[3].ts_ms == 2500);
  CHECK((*all)[3].bottle == "b");
  CHECK((*all)[3].machine == "bottle-b");
  CHECK((*all)[3].kind == "error");
  CHECK((*all)[3].detail == "smolvm: boom");
  CHECK(*store.last_event_id() == 5);

  CHECK(ids(*store.events("a", 0, 0, 0)) == std::vector<std::int64_t>{1, 3, 5});
  CHECK(ids(*store.events("b", 0, 0, 0)) == std::vector<std::int64_t>{2, 4});
  CHECK(store.events("nobody", 0, 0, 0)->empty());
  CHECK(ids(*store.events("", 2500, 0, 0)) == std::vector<std::int64_t>{3, 4, 5});
  CHECK(ids(*store.events("b", 2500, 0, 0)) == std::vector<std::int64_t>{4});
  CHECK(ids(*store.events("", 0, 3, 0)) == std::vector<std::int64_t>{4, 5});
  CHECK(ids(*store.events("a", 0, 3, 0)) == std::vector<std::int64_t>{5});
  CHECK(ids(*store.events("", 0, 0, 2)) == std::vector<std::int64_t>{1, 2});
  CHECK(ids(*store.events("", 0, 2, 2)) == std::vector<std::int64_t>{3, 4});
  CHECK(store.events("", 0, 5, 0)->empty());
}

TEST_CASE("event ids keep growing across restarts", "[store]") {
  TempDir tmp;
  {
    auto store = open_store(tmp.path());
    REQUIRE_FALSE(store.append_event({0, 1, "a", "m", "created", ""}));
    REQUIRE_FALSE(store.append_event({0, 2, "a", "m", "started", ""}));
  }
  auto store = open_store(tmp.path());
  REQUIRE_FALSE(store.append_event({0, 3, "a", "m", "stopped", ""}));
  CHECK(ids(*store.events("", 0, 0, 0)) == std::vector<std::int64_t>{1, 2, 3});
}

TEST_CASE("the event log keeps exactly the last 100,000 events", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  const std::int64_t total = StateStore::kEventsKept + 50;
  auto err = store.transaction([&]() -> std::optional<StoreError> {
    for (std::int64_t i = 1; i <= total; ++i) {
      if (auto e = store.append_event({0, i, i % 2 ? "odd" : "even", "m", "verified", ""})) return e;
    }
    return std::nullopt;
  });
  REQUIRE_FALSE(err);

  auto raw = raw_connection(tmp / "state.db");
  CHECK(raw.integer("SELECT count(*) FROM events") == StateStore::kEventsKept);
  CHECK(raw.integer("SELECT min(id) FROM events") == 51);
  CHECK(raw.integer("SELECT max(id) FROM events") == total);

  auto first = store.events("", 0, 0, 1);
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  CHECK(first->front().id == 51);
  CHECK(first->front().ts_ms == 51);
  CHECK(store.events("", 0, 0, 0)->size() == static_cast<std::size_t>(StateStore::kEventsKept));

  // One more append drops exactly one more of the oldest.
  REQUIRE_FALSE(store.append_event({0, total + 1, "odd", "m", "verified", ""}));
  CHECK(raw.integer("SELECT count(*) FROM events") == StateStore::kEventsKept);
  CHECK(raw.integer("SELECT min(id) FROM events") == 52);
}
