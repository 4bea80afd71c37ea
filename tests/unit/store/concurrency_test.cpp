#include <chrono>

#include <catch2/catch.hpp>

#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::open_store;
using bs::test::TempDir;

namespace {

std::int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("a second connection reads while the first writes", "[store]") {
  TempDir tmp;
  auto daemon = open_store(tmp.path());
  REQUIRE_FALSE(daemon.append_event({0, 1, "a", "m", "created", "committed"}));

  auto err = daemon.transaction([&]() -> std::optional<StoreError> {
    if (auto e = daemon.append_event({0, 2, "a", "m", "started", "uncommitted"})) return e;

    // The CLI opens and reads while the daemon holds the write lock: WAL lets it, and it sees
    // only committed events.
    auto t0 = std::chrono::steady_clock::now();
    auto cli = StateStore::open(tmp.path());
    REQUIRE(cli);
    auto seen = cli->events("", 0, 0, 0);
    REQUIRE(seen);
    REQUIRE(seen->size() == 1);
    CHECK(seen->front().detail == "committed");
    CHECK(ms_since(t0) < 5000);  // generous: the machine may be loaded

    // A second writer does not wait for the first beyond the short busy timeout.
    t0 = std::chrono::steady_clock::now();
    auto blocked = cli->append_event({0, 3, "a", "m", "stopped", "from the cli"});
    const auto waited = ms_since(t0);
    REQUIRE(blocked);
    CHECK(blocked->kind == StoreError::Kind::Busy);
    CHECK(waited >= 90);
    CHECK(waited < 5000);  // vs. smolvm's 15 s, or forever
    return std::nullopt;
  });
  REQUIRE_FALSE(err);

  auto cli = open_store(tmp.path());
  auto seen = cli.events("", 0, 0, 0);
  REQUIRE(seen);
  REQUIRE(seen->size() == 2);
  CHECK(seen->back().detail == "uncommitted");
  // And the daemon can write again once the CLI is done... and vice versa.
  REQUIRE_FALSE(cli.append_event({0, 3, "a", "m", "stopped", "from the cli"}));
  REQUIRE_FALSE(daemon.append_event({0, 4, "a", "m", "started", "again"}));
  CHECK(daemon.events("", 0, 0, 0)->size() == 4);
}

TEST_CASE("a reader's open statement does not hold the daemon back", "[store]") {
  TempDir tmp;
  auto daemon = open_store(tmp.path());
  auto cli = open_store(tmp.path());
  for (int i = 0; i < 10; ++i) REQUIRE_FALSE(daemon.append_event({0, i, "a", "m", "verified", ""}));
  // A read by the CLI finishes its statement (the guard resets it), so the daemon can write and
  // the CLI sees the new data on its next read rather than a stale snapshot.
  CHECK(cli.events("", 0, 0, 0)->size() == 10);
  REQUIRE_FALSE(daemon.append_event({0, 11, "a", "m", "verified", ""}));
  CHECK(cli.events("", 0, 0, 0)->size() == 11);
}
