#include <unistd.h>

#include <cerrno>
#include <optional>

#include <catch2/catch.hpp>

#include "store/state_store.h"
#include "support/small_tmpfs.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::raw_connection;
using bs::test::fill_until_full;
using bs::test::Filled;
using bs::test::SmallTmpfs;
using bs::store::test::ip;
using bs::test::TempDir;

TEST_CASE("a full filesystem is a Full error, and the store recovers when space returns", "[store]") {
  TempDir tmp;
  SmallTmpfs fs(tmp / "fs", "1m");
  if (!fs.mounted()) {
    WARN("skipped: cannot mount a tmpfs (" << fs.error() << "); this test needs root");
    return;
  }
  const std::string state_dir = tmp / "fs/state";
  {
    auto opened = StateStore::open(state_dir);
    REQUIRE(opened);
    StateStore store = std::move(opened).value();
    REQUIRE_FALSE(store.put_lease({"alpha", ip("127.0.0.16"), 1}));
    for (int i = 1; i <= 10; ++i) {
      REQUIRE_FALSE(store.append_event({0, i, "alpha", "bottle-alpha", "verified", "before"}));
    }

    const Filled filled = fill_until_full(tmp / "fs/filler");
    REQUIRE(filled.bytes > 0);
    CHECK(filled.refusal == ENOSPC);
    // Big enough that it cannot fit in WAL pages already allocated.
    const std::string big(256 * 1024, 'd');
    auto err = store.append_event({0, 11, "alpha", "bottle-alpha", "error", big});
    REQUIRE(err);
    CHECK(err->kind == StoreError::Kind::Full);
    CHECK_THAT(err->message, Catch::Contains("no space left for " + state_dir + "/state.db"));

    // Reads still work while the disk is full.
    auto seen = store.events("", 0, 0, 0);
    REQUIRE(seen);
    CHECK(seen->size() == 10);

    REQUIRE(::unlink((tmp / "fs/filler").c_str()) == 0);
    REQUIRE_FALSE(store.append_event({0, 12, "alpha", "bottle-alpha", "verified", "after"}));
    REQUIRE_FALSE(store.put_lease({"beta", ip("127.0.0.17"), 2}));
  }

  auto raw = raw_connection(state_dir + "/state.db");
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
  CHECK(raw.integer("SELECT count(*) FROM events WHERE detail = 'before'") == 10);
  CHECK(raw.integer("SELECT count(*) FROM events WHERE kind = 'error'") == 0);
  CHECK(raw.integer("SELECT count(*) FROM events WHERE detail = 'after'") == 1);
  CHECK(raw.text("SELECT address FROM leases WHERE bottle = 'alpha'") == "127.0.0.16");
  CHECK(raw.text("SELECT address FROM leases WHERE bottle = 'beta'") == "127.0.0.17");
}
