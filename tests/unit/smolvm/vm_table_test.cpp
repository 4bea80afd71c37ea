#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "fixture_db.h"
#include "support/files.h"
#include "table_support.h"
#include "smolvm/vm_table.h"

using bs::smolvm::DbError;
using bs::smolvm::MachineRow;
using bs::smolvm::PatchOutcome;
using bs::smolvm::RecordPatch;
using bs::smolvm::VmTable;
using bs::test::cidrs;
using bs::test::open_table;

namespace {

std::string db_path(const bs::test::TempDir& dir) { return dir / "smolvm/server/smolvm.db"; }

}  // namespace

TEST_CASE("VmTable does not create a missing DB", "[smolvm]") {
  bs::test::TempDir dir;
  const std::string path = db_path(dir);
  auto t = VmTable::open(path);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().kind == DbError::Kind::Missing);
  CHECK_THAT(t.error().message, Catch::Contains(path));
  CHECK_FALSE(bs::test::file_exists(path));
  CHECK_FALSE(bs::test::file_exists(dir / "smolvm"));

  std::filesystem::create_directories(dir / "smolvm/server");
  t = VmTable::open(path);
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().kind == DbError::Kind::Missing);
  CHECK_FALSE(bs::test::file_exists(path));
  CHECK_FALSE(bs::test::file_exists(path + "-wal"));
  CHECK_FALSE(bs::test::file_exists(path + "-shm"));
  CHECK_FALSE(bs::test::file_exists(path + "-journal"));
}

TEST_CASE("VmTable refuses a DB without a vms table and leaves it alone", "[smolvm]") {
  bs::test::TempDir dir;
  SECTION("empty file: smolvm's first command has not written the schema yet, i.e. no machines") {
    const std::string path = dir / "smolvm.db";
    std::ofstream(path).close();
    auto t = VmTable::open(path);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().kind == DbError::Kind::Missing);
    CHECK_THAT(t.error().message, Catch::Contains(path));
    CHECK(std::filesystem::file_size(path) == 0);  // no schema written
  }
  SECTION("other tables only") {
    const std::string path = dir / "other.db";
    {
      bs::test::FixtureDb other(path, false);
      REQUIRE(other.exec("CREATE TABLE config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)") == SQLITE_OK);
    }
    auto t = VmTable::open(path);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().kind == DbError::Kind::NoVmsTable);
  }
  SECTION("not a database at all") {
    const std::string path = dir / "garbage.db";
    std::ofstream(path) << std::string(4096, 'x');
    auto t = VmTable::open(path);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().kind == DbError::Kind::Other);
    CHECK_THAT(t.error().message, Catch::Contains(path));
  }
}

TEST_CASE("VmTable reads every row and flags the ones smolvm cannot read", "[smolvm]") {
  bs::test::TempDir dir;
  bs::test::FixtureDb other(db_path(dir));
  other.put("good", bs::test::smolvm_record_bytes("good"));
  other.put_text("texty", bs::test::smolvm_record_bytes("texty"));
  other.put("junk", "not json at all");
  other.put("mismatch", bs::test::smolvm_record_bytes("someone-else"));
  REQUIRE(other.exec("INSERT INTO vms (name, data) VALUES ('number', 42)") == SQLITE_OK);
  VmTable table = open_table(db_path(dir));

  auto rows = table.read_all();
  REQUIRE(rows.has_value());
  REQUIRE(rows->size() == 5);
  std::map<std::string, MachineRow> by_name;
  for (auto& r : *rows) by_name[r.name] = r;

  CHECK(by_name["good"].problem == MachineRow::Problem::None);
  CHECK(by_name["good"].record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});
  CHECK(by_name["good"].raw == bs::test::smolvm_record_bytes("good"));

  CHECK(by_name["texty"].problem == MachineRow::Problem::TextTyped);
  CHECK_THAT(by_name["texty"].problem_detail, Catch::Contains("data is TEXT, smolvm cannot read it"));
  CHECK(by_name["texty"].raw == bs::test::smolvm_record_bytes("texty"));

  CHECK(by_name["junk"].problem == MachineRow::Problem::Unparseable);
  CHECK_THAT(by_name["junk"].problem_detail, Catch::Contains("not valid JSON"));
  CHECK(by_name["junk"].raw == "not json at all");

  CHECK(by_name["mismatch"].problem == MachineRow::Problem::Unparseable);
  CHECK_THAT(by_name["mismatch"].problem_detail, Catch::Contains("differs from the row name"));

  CHECK(by_name["number"].problem == MachineRow::Problem::Unparseable);
  CHECK_THAT(by_name["number"].problem_detail, Catch::Contains("data is INTEGER"));

  auto one = table.read_one("texty");
  REQUIRE(one.has_value());
  REQUIRE(one->has_value());
  CHECK((*one)->problem == MachineRow::Problem::TextTyped);
  auto none = table.read_one("absent");
  REQUIRE(none.has_value());
  CHECK_FALSE(none->has_value());
}

TEST_CASE("VmTable read_changes reports only rows whose bytes or storage class changed", "[smolvm]") {
  bs::test::TempDir dir;
  bs::test::FixtureDb other(db_path(dir));
  other.put("a", bs::test::smolvm_record_bytes("a"));
  other.put("b", bs::test::smolvm_record_bytes("b"));
  other.put_text("t", bs::test::smolvm_record_bytes("t"));
  REQUIRE(other.exec("INSERT INTO vms (name, data) VALUES ('n', 42)") == SQLITE_OK);
  VmTable table = open_table(db_path(dir));

  bs::smolvm::KnownRows known;
  auto first = table.read_changes(known);
  REQUIRE(first.has_value());
  CHECK(first->changed.size() == 4);  // everything is new
  CHECK(first->removed.empty());
  for (auto& r : first->changed) known[r.name] = r;
  REQUIRE(known.at("a").problem == MachineRow::Problem::None);

  auto same = table.read_changes(known);
  REQUIRE(same.has_value());
  CHECK(same->changed.empty());
  CHECK(same->removed.empty());

  // b's bytes change; t's bytes stay but become a BLOB; a goes; c arrives.
  auto b = bs::test::smolvm_record(std::string("b"));
  b["cpus"] = 4;
  other.put("b", b.dump());
  REQUIRE(other.exec("UPDATE vms SET data = CAST(data AS BLOB) WHERE name = 't'") == SQLITE_OK);
  REQUIRE(other.exec("DELETE FROM vms WHERE name = 'a'") == SQLITE_OK);
  other.put("c", bs::test::smolvm_record_bytes("c"));

  auto diff = table.read_changes(known);
  REQUIRE(diff.has_value());
  std::map<std::string, MachineRow> changed;
  for (auto& r : diff->changed) changed[r.name] = r;
  CHECK(changed.size() == 3);
  REQUIRE(changed.count("b") == 1);
  CHECK(changed["b"].record.cpus == 4);
  REQUIRE(changed.count("t") == 1);
  CHECK(changed["t"].problem == MachineRow::Problem::None);  // a BLOB now: readable
  CHECK(changed.count("c") == 1);
  CHECK(diff->removed == std::vector<std::string>{"a"});
  // Each changed row reads exactly as read_all reads it.
  auto all = table.read_all();
  REQUIRE(all.has_value());
  for (const MachineRow& r : *all) {
    if (changed.count(r.name) == 0) continue;
    CHECK(changed[r.name].raw == r.raw);
    CHECK(changed[r.name].problem == r.problem);
    CHECK(changed[r.name].problem_detail == r.problem_detail);
  }
}

TEST_CASE("VmTable patch writes a BLOB that differs only in the patched value", "[smolvm]") {
  bs::test::TempDir dir;
  bs::test::FixtureDb other(db_path(dir));
  auto j = bs::test::smolvm_record_all_keys("sb1");
  j["allowed_cidrs"] = nullptr;
  const std::string before = j.dump();
  other.put("sb1", before);
  VmTable table = open_table(db_path(dir));

  auto result = table.patch("sb1", cidrs({"127.0.0.16/32"}));
  INFO(result.message);
  REQUIRE(result.outcome == PatchOutcome::Patched);
  CHECK(other.type_of_data("sb1") == "blob");
  std::string expect = before;
  expect.replace(expect.find("\"allowed_cidrs\":null"), 20, R"("allowed_cidrs":["127.0.0.16/32"])");
  CHECK(other.data("sb1") == expect);
  CHECK(result.after.raw == expect);
  CHECK(result.after.record.allowed_cidrs.cidrs == std::vector<std::string>{"127.0.0.16/32"});

  // The same patch again writes nothing.
  auto again = table.patch("sb1", cidrs({"127.0.0.16/32"}));
  CHECK(again.outcome == PatchOutcome::AlreadyEqual);
  CHECK(other.data("sb1") == expect);
}

TEST_CASE("VmTable patch inserts a missing allowed_cidrs and quarantines", "[smolvm]") {
  bs::test::TempDir dir;
  bs::test::FixtureDb other(db_path(dir));
  auto j = bs::test::smolvm_record("sb1");
  j.erase("allowed_cidrs");
  other.put("sb1", j.dump());
  VmTable table = open_table(db_path(dir));

  RecordPatch q;
  q.network = false;
  q.allowed_cidrs = std::vector<std::string>{};
  auto result = table.patch("sb1", q);
  INFO(result.message);
  REQUIRE(result.outcome == PatchOutcome::Patched);
  CHECK(other.type_of_data("sb1") == "blob");
  auto stored = other.data("sb1");
  REQUIRE(stored);
  CHECK_THAT(*stored, Catch::Contains(R"("network":false,)"));
  CHECK_THAT(*stored, Catch::Contains(R"("overlay_gb":null,"allowed_cidrs":[],"image")"));
  CHECK_FALSE(result.after.record.network);
  CHECK(result.after.record.allowed_cidrs.kind == bs::smolvm::AllowedCidrs::Kind::List);
}

TEST_CASE("VmTable patch never overwrites a row smolvm cannot read", "[smolvm]") {
  bs::test::TempDir dir;
  bs::test::FixtureDb other(db_path(dir));
  auto j = bs::test::smolvm_record("sb1");
  j["allowed_cidrs"] = nullptr;
  other.put_text("texty", j.dump());
  other.put("junk", "{\"name\":");
  other.put("dup", R"({"name":"dup","allowed_cidrs":null,"allowed_cidrs":[]})");
  VmTable table = open_table(db_path(dir));

  auto texty = table.patch("texty", cidrs({"127.0.0.16/32"}));
  CHECK(texty.outcome == PatchOutcome::RowUnreadable);
  CHECK_THAT(texty.message, Catch::Contains("TEXT"));
  CHECK(other.type_of_data("texty") == "text");
  CHECK(other.data("texty") == j.dump());

  auto junk = table.patch("junk", cidrs({"127.0.0.16/32"}));
  CHECK(junk.outcome == PatchOutcome::RowUnreadable);
  CHECK(other.data("junk") == "{\"name\":");

  auto dup = table.patch("dup", cidrs({"127.0.0.16/32"}));
  CHECK(dup.outcome == PatchOutcome::RowUnreadable);
  CHECK_THAT(dup.message, Catch::Contains("duplicate key 'allowed_cidrs'"));

  auto missing = table.patch("absent", cidrs({"127.0.0.16/32"}));
  CHECK(missing.outcome == PatchOutcome::RowMissing);
  CHECK_THAT(missing.message, Catch::Contains("absent"));
}

TEST_CASE("VmTable notices the DB file being deleted or replaced", "[smolvm]") {
  bs::test::TempDir dir;
  const std::string path = db_path(dir);
  {
    bs::test::FixtureDb other(path);
    other.put("sb1", bs::test::smolvm_record_bytes("sb1"));
  }
  VmTable table = open_table(path);
  CHECK_FALSE(table.replaced());
  REQUIRE(table.read_all().has_value());

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  CHECK(table.replaced());

  {
    bs::test::FixtureDb fresh(path);
    fresh.put("sb2", bs::test::smolvm_record_bytes("sb2"));
  }
  CHECK(table.replaced());
  auto rows = table.read_all();
  REQUIRE_FALSE(rows.has_value());
  CHECK(rows.error().kind == DbError::Kind::Replaced);
  CHECK_THAT(rows.error().message, Catch::Contains(path));
  CHECK(table.patch("sb2", cidrs({"127.0.0.16/32"})).outcome == PatchOutcome::Failed);

  VmTable reopened = open_table(path);
  CHECK_FALSE(reopened.replaced());
  auto fresh_rows = reopened.read_all();
  REQUIRE(fresh_rows.has_value());
  REQUIRE(fresh_rows->size() == 1);
  CHECK(fresh_rows->front().name == "sb2");
}

TEST_CASE("VmTable notices its -wal and -shm being deleted or replaced under it", "[smolvm]") {
  bs::test::TempDir dir;
  const std::string path = db_path(dir);
  bs::test::FixtureDb other(path);  // stays open, as smolvm's server would: the -wal stays
  other.put("sb1", bs::test::smolvm_record_bytes("sb1"));
  VmTable table = open_table(path);
  REQUIRE(table.read_all().has_value());
  REQUIRE(bs::test::file_exists(path + "-wal"));
  REQUIRE(bs::test::file_exists(path + "-shm"));
  CHECK_FALSE(table.replaced());

  SECTION("-wal deleted") { std::filesystem::remove(path + "-wal"); }
  SECTION("-shm deleted") { std::filesystem::remove(path + "-shm"); }
  SECTION("-wal replaced by another file") {
    std::filesystem::copy_file(path + "-wal", path + "-wal.new");
    std::filesystem::rename(path + "-wal.new", path + "-wal");
  }
  CHECK(table.replaced());
  auto rows = table.read_all();
  REQUIRE_FALSE(rows.has_value());
  CHECK(rows.error().kind == DbError::Kind::Replaced);
}

TEST_CASE("VmTable reports a DB its owner cannot read or write (chmod 000), even to root", "[smolvm]") {
  bs::test::TempDir dir;
  const std::string path = db_path(dir);
  {
    bs::test::FixtureDb other(path);
    other.put("sb1", bs::test::smolvm_record_bytes("sb1"));
  }
  VmTable table = open_table(path);
  CHECK_FALSE(table.access_problem());

  REQUIRE(::chmod(path.c_str(), 0) == 0);
  auto problem = table.access_problem();
  REQUIRE(problem);
  CHECK_THAT(problem->message, Catch::Contains(path));
  CHECK_THAT(problem->message, Catch::Contains("mode 0000"));
  auto reopened = VmTable::open(path);
  REQUIRE_FALSE(reopened.has_value());
  CHECK(reopened.error().kind == DbError::Kind::Other);
  CHECK_THAT(reopened.error().message, Catch::Contains("mode 0000"));

  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  CHECK_FALSE(table.access_problem());
  CHECK(VmTable::open(path).has_value());
}

TEST_CASE("VmTable is movable and keeps its connection", "[smolvm]") {
  bs::test::TempDir dir;
  bs::test::FixtureDb other(db_path(dir));
  other.put("sb1", bs::test::smolvm_record_bytes("sb1"));
  VmTable a = open_table(db_path(dir));
  VmTable b = std::move(a);
  CHECK(b.path() == db_path(dir));
  auto rows = b.read_all();
  REQUIRE(rows.has_value());
  CHECK(rows->size() == 1);
}
