// RowWatch against a real smolvm DB file in a temp folder (another sqlite3 connection plays
// smolvm) on a fake clock: what it reports, when the rows are available, the reopen backoff, and
// patches. Driven through its public methods: no fs events, no sleeps.
#include <catch2/catch.hpp>


#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fake_time.h"
#include "support/smolvm_rows.h"
#include "support/sqlite_db.h"
#include "support/temp_dir.h"
#include "supervisor/row_watch.h"

using namespace std::chrono_literals;
using bs::supervisor::RowWatch;
using bs::test::FakeTime;
using Names = std::set<std::string>;

namespace {

// The record smolvm writes for a created machine, cut to the keys the supervisor reads.
std::string record(const std::string& name, const std::string& cidr = "127.0.0.16/32") {
  nlohmann::ordered_json r;
  r["name"] = name;
  r["state"] = "created";
  r["pid"] = nullptr;
  r["cpus"] = 1;
  r["mem"] = 512;
  r["network"] = true;
  r["allowed_cidrs"] = nlohmann::json::array({cidr});
  r["image"] = "alpine:3.20";
  return r.dump();
}

// smolvm's side of the DB: its own connection (so, to RowWatch, another process), WAL mode, and
// the vms table with records as BLOBs (tests/support's SqliteDb and SmolvmRows).
class SmolvmDb {
 public:
  explicit SmolvmDb(const std::string& path, bool with_vms = true)
      : db_(with_parent(path), bs::test::SqliteDb::Mode::Create, 15000) {
    db_.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
    db_.exec("CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);");
    if (with_vms) add_vms_table();
  }

  void add_vms_table() { db_.exec("CREATE TABLE IF NOT EXISTS vms (name TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL);"); }
  void put(const std::string& name, const std::string& data) { rows_.put(name, data); }
  void remove(const std::string& name) { rows_.remove(name); }

 private:
  static const std::string& with_parent(const std::string& path) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());  // smolvm's server/
    return path;
  }
  bs::test::SqliteDb db_;
  bs::test::SmolvmRows rows_{db_};
};

// A RowWatch on <temp>/smolvm/server/smolvm.db, recording what it reports. The loop is never
// run: nothing here starts a watch, and its timers are the fake clock's.
struct Rows {
  bs::test::TempDir dir{"bs-row-watch-test"};
  bs::smolvm::Paths paths = [this] {
    bs::smolvm::Paths p;
    p.server_dir = dir.path() + "/smolvm/server";
    p.db = p.server_dir + "/smolvm.db";
    p.vms_dir = dir.path() + "/smolvm/vms";
    return p;
  }();
  FakeTime time;
  uv_loop_t loop{};
  std::uint64_t iteration = 1;
  std::vector<Names> reported;
  int availability_changes = 0;
  RowWatch watch{time, &loop, paths, [this] { return iteration; },
                 {[this](const Names& machines) { reported.push_back(machines); },
                  [this] { ++availability_changes; }}};

  Rows() { uv_loop_init(&loop); }
  ~Rows() {
    watch.stop();
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
  }
  // Whatever was reported since the last call.
  std::vector<Names> take() { return std::exchange(reported, {}); }
  const bs::smolvm::MachineRow& row(const std::string& m) const { return watch.rows().rows.at(m); }
};

}  // namespace

TEST_CASE("row watch: a missing DB is available with no rows, and no file is made", "[daemon-unit]") {
  Rows r;
  CHECK(r.watch.refresh(true).empty());
  CHECK(r.watch.available());
  CHECK_FALSE(r.watch.open());
  CHECK(r.watch.rows().rows.empty());
  CHECK_FALSE(r.watch.problem().empty());  // why there are no rows: no DB yet
  CHECK_FALSE(std::filesystem::exists(r.paths.db));
  CHECK(r.time.pending() == 0);  // no reopen backoff: smolvm's first create makes the DB
}

TEST_CASE("row watch: rows that appear, change or vanish are reported once", "[daemon-unit]") {
  Rows r;
  SmolvmDb smolvm(r.paths.db);
  smolvm.put("a", record("a"));
  smolvm.put("b", record("b"));

  r.watch.check();
  CHECK(r.take() == std::vector<Names>{{"a", "b"}});
  CHECK(r.availability_changes == 1);  // from "never read" to readable
  CHECK(r.watch.open());
  CHECK(r.row("a").record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});

  r.watch.check();  // nothing committed since: nothing to report
  CHECK(r.take().empty());

  smolvm.put("a", record("a", "127.0.0.17/32"));
  smolvm.remove("b");
  smolvm.put("c", record("c"));
  r.watch.check();
  CHECK(r.take() == std::vector<Names>{{"a", "b", "c"}});
  CHECK(r.row("a").record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.17/32"});
  CHECK(r.watch.rows().rows.count("b") == 0);
  CHECK(r.watch.row("b") == nullptr);
  r.watch.check();
  CHECK(r.take().empty());

  // The same bytes written again move data_version but change no row.
  smolvm.put("c", record("c"));
  r.watch.check();
  CHECK(r.take().empty());
  CHECK(r.availability_changes == 1);
  CHECK(r.time.pending() == 0);  // check() alone starts no re-check series
}

TEST_CASE("row watch: refresh returns what changed and reports nothing itself", "[daemon-unit]") {
  Rows r;
  SmolvmDb smolvm(r.paths.db);
  smolvm.put("a", record("a"));
  CHECK(r.watch.refresh(false) == Names{"a"});
  CHECK(r.watch.refresh(true).empty());  // forced: read again, still the same rows
  CHECK(r.reported.empty());
  CHECK(r.availability_changes == 0);
}

TEST_CASE("row watch: an unreadable DB is unavailable, and reopened only after its backoff", "[daemon-unit]") {
  Rows r;
  CHECK(r.watch.refresh(true).empty());  // missing: available, no rows
  REQUIRE(r.watch.available());

  // A DB with no vms table: smolvm's rows cannot be seen at all.
  SmolvmDb smolvm(r.paths.db, /*with_vms=*/false);
  r.watch.check();
  CHECK_FALSE(r.watch.available());
  CHECK_FALSE(r.watch.open());
  CHECK_FALSE(r.watch.problem().empty());
  CHECK(r.availability_changes == 1);
  REQUIRE(r.time.pending() == 1);  // the reopen, 100 ms (+1) from now

  // smolvm repairs it, but an event right away does not open it: still backing off.
  smolvm.add_vms_table();
  smolvm.put("a", record("a"));
  r.watch.check();
  CHECK_FALSE(r.watch.available());
  CHECK(r.time.advance(100ms) == 0);
  CHECK_FALSE(r.watch.available());
  CHECK(r.take().empty());

  CHECK(r.time.advance(1ms) == 1);  // the one reopen, when the backoff ends
  CHECK(r.watch.available());
  CHECK(r.watch.open());
  CHECK(r.take() == std::vector<Names>{{"a"}});
  CHECK(r.availability_changes == 2);
  CHECK(r.time.pending() == 0);
}

TEST_CASE("row watch: the reopen backoff doubles from 100 ms to 2 s: no hot loop", "[daemon-unit]") {
  Rows r;
  SmolvmDb smolvm(r.paths.db, /*with_vms=*/false);
  r.watch.check();
  REQUIRE_FALSE(r.watch.available());
  for (auto wait : {100ms, 200ms, 400ms, 800ms, 1600ms, 2000ms, 2000ms}) {
    CAPTURE(wait.count());
    CHECK(r.time.advance(wait) == 0);  // not a moment early
    CHECK(r.time.advance(1ms) == 1);   // exactly one attempt, which fails again
    CHECK_FALSE(r.watch.available());
    // Events meanwhile neither open the DB nor start another timer.
    r.watch.check();
    r.watch.refresh(false);
    CHECK(r.time.pending() == 1);
  }
  CHECK(r.time.advance(60s) <= 31);  // a minute of a broken DB: one attempt per 2 s at most
  CHECK(r.availability_changes == 0);  // never available: "never read" is not available
  CHECK(r.reported.empty());
}

TEST_CASE("row watch: a patch goes through its connection and updates the snapshot", "[daemon-unit]") {
  Rows r;
  CHECK_FALSE(r.watch.patch("a", {}).has_value());  // no DB open: cannot verify

  SmolvmDb smolvm(r.paths.db);
  smolvm.put("a", record("a"));
  r.watch.check();
  r.take();

  bs::smolvm::RecordPatch patch;
  patch.allowed_cidrs = std::vector<std::string>{"127.0.0.20/32"};
  auto result = r.watch.patch("a", patch);
  REQUIRE(result.has_value());
  CHECK(result->outcome == bs::smolvm::PatchOutcome::Patched);
  CHECK(r.row("a").record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.20/32"});

  // Our own commit does not come back as a change (data_version moves only for others).
  r.watch.check();
  CHECK(r.take().empty());

  patch.allowed_cidrs = std::vector<std::string>{};
  patch.network = false;
  result = r.watch.patch("missing", patch);
  REQUIRE(result.has_value());
  CHECK(result->outcome == bs::smolvm::PatchOutcome::RowMissing);
  CHECK(r.watch.rows().rows.count("missing") == 0);
}

TEST_CASE("row watch: freshen re-reads rows once per loop iteration, only after another commit", "[daemon-unit]") {
  Rows r;
  SmolvmDb smolvm(r.paths.db);
  smolvm.put("a", record("a"));
  r.watch.check();
  r.take();

  smolvm.put("a", record("a", "127.0.0.30/32"));
  // Still the iteration the snapshot was read in: it counts as current, nothing is re-read.
  r.watch.freshen({"a"});
  CHECK(r.row("a").record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});

  ++r.iteration;
  r.watch.freshen({"a", "gone"});
  CHECK(r.row("a").record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.30/32"});
  CHECK(r.watch.rows().rows.count("gone") == 0);
  CHECK(r.reported.empty());  // freshen reports nothing: the bottle being planned reads it

  // The next DB event compares with the snapshot, which already holds that row: not news.
  r.watch.check();
  CHECK(r.take().empty());
}

TEST_CASE("row watch: after stop() a failure arms no reopen", "[daemon-unit]") {
  Rows r;
  SmolvmDb smolvm(r.paths.db, /*with_vms=*/false);
  r.watch.stop();
  r.watch.check();
  CHECK_FALSE(r.watch.available());
  CHECK(r.time.pending() == 0);
}
