// The guarded patch against other writers: smolvm's processes share the DB file, and its stop
// rewrites whole rows, so a patch must neither lose their changes nor wait on their locks.
#include <catch2/catch.hpp>
#include <chrono>

#include "fixture_db.h"
#include "table_support.h"
#include "smolvm/vm_table.h"

using bs::smolvm::PatchOutcome;
using bs::smolvm::RecordPatch;
using bs::smolvm::VmTable;
using bs::test::cidrs;
using bs::test::open_table;

namespace {

struct Scene {
  bs::test::TempDir dir;
  std::string path = dir / "smolvm/server/smolvm.db";
  bs::test::FixtureDb smolvm{path};  // stands in for a smolvm process's connection
  VmTable table = (seed(), open_table(path));

  void seed() {
    auto j = bs::test::smolvm_record("sb1");
    j["allowed_cidrs"] = nullptr;
    smolvm.put("sb1", j.dump());
  }
};

}  // namespace

TEST_CASE("a concurrent write between read and patch is retried, not lost", "[smolvm]") {
  Scene s;
  int calls = 0;
  s.table.set_before_write_hook([&] {
    if (++calls == 1) {
      // smolvm's start finishing meanwhile: state/pid change, allowed_cidrs untouched.
      auto j = bs::test::smolvm_record("sb1");
      j["allowed_cidrs"] = nullptr;
      j["state"] = "running";
      j["pid"] = 4242;
      j["pid_start_time"] = 987654;
      s.smolvm.put("sb1", j.dump());
    }
  });
  auto result = s.table.patch("sb1", cidrs({"127.0.0.16/32"}));
  INFO(result.message);
  REQUIRE(result.outcome == PatchOutcome::Patched);
  CHECK(calls == 2);
  auto stored = bs::smolvm::parse_record(s.smolvm.data("sb1").value());
  REQUIRE(stored.has_value());
  CHECK(stored->allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});
  CHECK(stored->state == "running");
  CHECK(stored->pid == std::optional<std::int64_t>(4242));
  CHECK(stored->pid_start_time == std::optional<std::uint64_t>(987654));
  CHECK(s.smolvm.type_of_data("sb1") == "blob");
}

TEST_CASE("a row that keeps changing ends in Conflict without being overwritten", "[smolvm]") {
  Scene s;
  int calls = 0;
  std::string last_written;
  s.table.set_before_write_hook([&] {
    ++calls;
    auto j = bs::test::smolvm_record("sb1");
    j["allowed_cidrs"] = nullptr;
    j["created_at"] = 1787000000 + calls;
    last_written = j.dump();
    s.smolvm.put("sb1", last_written);
  });
  auto result = s.table.patch("sb1", cidrs({"127.0.0.16/32"}));
  CHECK(result.outcome == PatchOutcome::Conflict);
  CHECK(calls == 1 + bs::smolvm::kVmTablePatchRetries);
  CHECK(s.smolvm.data("sb1") == last_written);
}

TEST_CASE("a concurrent delete or TEXT rewrite stops the patch", "[smolvm]") {
  Scene s;
  SECTION("deleted") {
    s.table.set_before_write_hook([&] { REQUIRE(s.smolvm.exec("DELETE FROM vms WHERE name='sb1'") == SQLITE_OK); });
    CHECK(s.table.patch("sb1", cidrs({"127.0.0.16/32"})).outcome == PatchOutcome::RowMissing);
    CHECK_FALSE(s.smolvm.data("sb1").has_value());
  }
  SECTION("rewritten as TEXT") {
    s.table.set_before_write_hook([&] { s.smolvm.put_text("sb1", bs::test::smolvm_record_bytes("sb1")); });
    CHECK(s.table.patch("sb1", cidrs({"10.0.0.0/8"})).outcome == PatchOutcome::RowUnreadable);
    CHECK(s.smolvm.type_of_data("sb1") == "text");
  }
  SECTION("already patched by someone else") {
    s.table.set_before_write_hook([&] {
      auto j = bs::test::smolvm_record("sb1");
      j["allowed_cidrs"] = {"10.0.0.0/8"};
      s.smolvm.put("sb1", j.dump());
    });
    CHECK(s.table.patch("sb1", cidrs({"10.0.0.0/8"})).outcome == PatchOutcome::AlreadyEqual);
  }
}

TEST_CASE("a DB locked by another writer gives Busy quickly", "[smolvm]") {
  Scene s;
  const char* begin = GENERATE("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE");
  INFO(begin);
  REQUIRE(s.smolvm.exec(begin) == SQLITE_OK);
  auto t0 = std::chrono::steady_clock::now();
  auto result = s.table.patch("sb1", cidrs({"127.0.0.16/32"}));
  auto elapsed = std::chrono::steady_clock::now() - t0;
  REQUIRE(s.smolvm.exec("ROLLBACK") == SQLITE_OK);
  CHECK(result.outcome == PatchOutcome::Busy);
  CHECK_THAT(result.message, Catch::Contains(s.path));
  // The busy timeout is 100 ms; 1 s is the correctness bound (never smolvm's 15 s), not a benchmark.
  CHECK(elapsed < std::chrono::seconds(1));
  CHECK(elapsed >= std::chrono::milliseconds(bs::smolvm::kVmTableBusyTimeoutMs / 2));

  // Lock released: the same patch now goes through.
  CHECK(s.table.patch("sb1", cidrs({"127.0.0.16/32"})).outcome == PatchOutcome::Patched);
}

TEST_CASE("data_version moves on other connections' commits only", "[smolvm]") {
  Scene s;
  auto v0 = s.table.data_version();
  REQUIRE(v0.has_value());
  CHECK(*s.table.data_version() == *v0);

  s.smolvm.put("sb2", bs::test::smolvm_record_bytes("sb2"));
  auto v1 = s.table.data_version();
  REQUIRE(v1.has_value());
  CHECK(*v1 != *v0);

  auto result = s.table.patch("sb1", cidrs({"127.0.0.16/32"}));
  REQUIRE(result.outcome == PatchOutcome::Patched);
  auto v2 = s.table.data_version();
  REQUIRE(v2.has_value());
  CHECK(*v2 == *v1);

  // A read in between does not hold a transaction: the next commit is seen.
  REQUIRE(s.table.read_all().has_value());
  REQUIRE(s.smolvm.exec("DELETE FROM vms WHERE name='sb2'") == SQLITE_OK);
  CHECK(*s.table.data_version() != *v2);
}

TEST_CASE("reads hold no transaction that blocks smolvm's checkpoint", "[smolvm]") {
  Scene s;
  for (int i = 0; i < 20; ++i) s.smolvm.put("vm" + std::to_string(i), bs::test::smolvm_record_bytes("vm" + std::to_string(i)));
  REQUIRE(s.table.read_all().has_value());
  REQUIRE(s.table.read_one("sb1").has_value());
  REQUIRE(s.table.data_version().has_value());
  // A TRUNCATE checkpoint needs every reader gone from the WAL; it fails with BUSY otherwise.
  int log = -1, done = -1;
  REQUIRE(sqlite3_wal_checkpoint_v2(s.smolvm.db(), "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &done) == SQLITE_OK);
  CHECK(log == 0);
}
