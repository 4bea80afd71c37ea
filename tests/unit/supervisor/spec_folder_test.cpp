// scan_spec_folder with a SpecReadCache: unchanged files are not read again, any change is.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "supervisor/spec_folder.h"
#include "unit/supervisor/cli_test_support.h"

using bs::cli_test::TempDir;
using bs::cli_test::write_file;
using bs::supervisor::scan_spec_folder;
using bs::supervisor::SpecReadCache;

namespace {

std::string text_of(const bs::supervisor::SpecFolderScan& scan, const std::string& file_name) {
  for (const auto& f : scan.files) {
    if (f.file_name == file_name) return f.access_error ? "error: " + *f.access_error : f.text;
  }
  return "missing";
}

}  // namespace

TEST_CASE("scan_spec_folder reuses unchanged files from its cache and rereads changed ones", "[supervisor]") {
  TempDir dir;
  write_file(dir / "a.toml", "image = \"a\"\n");
  write_file(dir / "b.toml", "image = \"b\"\n");
  SpecReadCache cache;
  cache.settle_ns = 0;  // trust timestamps at once (the default waits 2 s)

  auto first = scan_spec_folder(dir.path(), &cache);
  CHECK_FALSE(first.unchanged);  // everything was read
  CHECK(cache.entries.size() == 2);
  CHECK(scan_spec_folder(dir.path(), &cache).unchanged);
  CHECK_FALSE(scan_spec_folder(dir.path()).unchanged);  // no cache: no claim
  CHECK(text_of(first, "a.toml") == "image = \"a\"\n");

  SECTION("an unchanged file comes from the cache") {
    // Prove it was not read: make the cached text differ from the file (a test-only edit).
    cache.entries.at(dir / "a.toml").file.text = "from the cache";
    auto again = scan_spec_folder(dir.path(), &cache);
    CHECK(text_of(again, "a.toml") == "from the cache");
    CHECK(text_of(again, "b.toml") == "image = \"b\"\n");
  }
  SECTION("a rewritten file is read again") {
    cache.entries.at(dir / "a.toml").file.text = "from the cache";
    write_file(dir / "a.toml", "image = \"a2\"\n");
    auto again = scan_spec_folder(dir.path(), &cache);
    CHECK(text_of(again, "a.toml") == "image = \"a2\"\n");
    CHECK_FALSE(again.unchanged);
    CHECK(scan_spec_folder(dir.path(), &cache).unchanged);
  }
  SECTION("a chmod that breaks the trust check is seen") {
    REQUIRE(::chmod((dir / "a.toml").c_str(), 0666) == 0);
    auto again = scan_spec_folder(dir.path(), &cache);
    CHECK_THAT(text_of(again, "a.toml"), Catch::Contains("writable by group or others"));
    CHECK(cache.entries.count(dir / "a.toml") == 0);  // errors are not cached
    CHECK_FALSE(again.unchanged);
    CHECK_FALSE(scan_spec_folder(dir.path(), &cache).unchanged);  // read (and refused) each time
  }
  SECTION("a new file makes the scan a changed one") {
    write_file(dir / "c.toml", "image = \"c\"\n");
    auto again = scan_spec_folder(dir.path(), &cache);
    CHECK_FALSE(again.unchanged);
    CHECK(text_of(again, "c.toml") == "image = \"c\"\n");
  }
  SECTION("a removed file leaves the cache") {
    REQUIRE(::unlink((dir / "b.toml").c_str()) == 0);
    auto again = scan_spec_folder(dir.path(), &cache);
    CHECK(text_of(again, "b.toml") == "missing");
    CHECK_FALSE(again.unchanged);
    CHECK(cache.entries.size() == 1);
    CHECK(scan_spec_folder(dir.path(), &cache).unchanged);
  }
  SECTION("removing a file that was too fresh to be cached makes the scan a changed one") {
    cache.entries.erase(dir / "b.toml");  // as if b.toml had changed within the settle time
    REQUIRE(::unlink((dir / "b.toml").c_str()) == 0);
    auto again = scan_spec_folder(dir.path(), &cache);  // a.toml is a cache hit, b.toml is gone
    CHECK(text_of(again, "b.toml") == "missing");
    CHECK_FALSE(again.unchanged);
    CHECK(scan_spec_folder(dir.path(), &cache).unchanged);
  }
  SECTION("a file changed within the settle time is not cached") {
    SpecReadCache wary;  // files changed within the last hour count as still changing
    wary.settle_ns = 3600LL * 1'000'000'000;
    auto scan = scan_spec_folder(dir.path(), &wary);
    CHECK(wary.entries.empty());
    CHECK(text_of(scan, "a.toml") == "image = \"a\"\n");
  }
}

// CONTRACT §3: the folder is a trust boundary, like sshd's StrictModes.
TEST_CASE("scan_spec_folder refuses a folder writable by group or others", "[supervisor]") {
  TempDir dir;
  write_file(dir / "a.toml", "image = \"a\"\n");
  for (mode_t mode : {0777, 01777, 0770, 0720}) {
    CAPTURE(mode);
    REQUIRE(::chmod(dir.path().c_str(), mode) == 0);
    auto scan = scan_spec_folder(dir.path());
    CHECK(scan.readable);
    CHECK_FALSE(scan.trusted);
    CHECK(scan.files.empty());  // nothing in it is read, let alone acted on
    CHECK(scan.problem.find("writable by group or others") != std::string::npos);
  }
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  auto scan = scan_spec_folder(dir.path());
  CHECK(scan.trusted);
  CHECK(text_of(scan, "a.toml") == "image = \"a\"\n");
}

TEST_CASE("scan_spec_folder: a missing folder cannot be read", "[supervisor]") {
  TempDir dir;
  auto scan = scan_spec_folder(dir.path() + "/nope");
  CHECK_FALSE(scan.readable);
  CHECK_FALSE(scan.trusted);
  CHECK_FALSE(scan.problem.empty());
}

TEST_CASE("scan_spec_folder: a symlink not owned by the user is in error", "[supervisor]") {
  if (::geteuid() != 0) {
    WARN("not run: needs root to give a symlink another owner");
    return;
  }
  TempDir dir;
  TempDir elsewhere;
  write_file(elsewhere / "t.toml", "image = \"t\"\n");
  ::chmod((elsewhere / "t.toml").c_str(), 0600);
  REQUIRE(::symlink((elsewhere / "t.toml").c_str(), (dir / "mine.toml").c_str()) == 0);
  REQUIRE(::symlink((elsewhere / "t.toml").c_str(), (dir / "theirs.toml").c_str()) == 0);
  REQUIRE(::lchown((dir / "theirs.toml").c_str(), 4242, 4242) == 0);
  auto scan = scan_spec_folder(dir.path());
  CHECK(text_of(scan, "mine.toml") == "image = \"t\"\n");
  CHECK(text_of(scan, "theirs.toml").find("a symlink owned by uid 4242") != std::string::npos);
}
