// The spec source on a real folder and a fake clock: whole-set updates, the "unchanged" shortcut,
// and an untrusted folder holding everything until it is trusted again.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <uv.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/fake_time.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "supervisor/spec_source.h"

using namespace std::chrono_literals;
using bs::supervisor::SpecScan;
using bs::supervisor::SpecSource;
using bs::test::FakeTime;

namespace {

struct Folder {
  bs::test::TempDir tmp{"bs-specsrc"};
  std::string dir = tmp.path();
  void write(const std::string& name, const std::string& text) const { bs::test::write_file(dir + "/" + name, text); }
};

struct Source {
  Folder folder;
  FakeTime time;
  uv_loop_t loop{};
  std::vector<SpecScan> scans;
  std::vector<std::string> held;
  int trusted = 0;
  std::unique_ptr<SpecSource> source;
  Source() {
    uv_loop_init(&loop);
    source = std::make_unique<SpecSource>(
        &loop, time, folder.dir, false, *bs::parse_pool("127.0.0.16/28"), 200ms,
        SpecSource::Callbacks{[this](SpecScan s) { scans.push_back(std::move(s)); },
                              [this](const std::string& p) { held.push_back(p); }, [this] { ++trusted; }});
  }
  ~Source() {
    source.reset();
    uv_run(&loop, UV_RUN_NOWAIT);  // close callbacks
    uv_loop_close(&loop);
  }
};

const char* kSpec = "machine = \"bottle-a\"\nimage = \"alpine\"\n";

}  // namespace

TEST_CASE("spec source: each rescan hands out the whole set; settled unchanged files are a no-op set",
          "[daemon-unit]") {
  Source s;
  s.folder.write("a.toml", kSpec);
  s.folder.write("b.toml", "machine = \"bottle-b\"\nimage = \"alpine\"\n");
  s.folder.write("notes.txt", "not a spec");
  s.source->rescan();
  REQUIRE(s.scans.size() == 1);
  CHECK(s.scans[0].files.size() == 2);
  CHECK_FALSE(s.scans[0].unchanged);  // never resolved yet
  auto entries = s.source->resolve(s.scans[0].files);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "a");
  CHECK(entries[0].spec);
  // Files younger than the read cache's settle time are read again, so "unchanged" needs them
  // to have settled: the read cache judges by file times, not by the fake clock.
  s.source->rescan();
  REQUIRE(s.scans.size() == 2);
  CHECK(s.scans[1].files.size() == 2);
  CHECK(s.held.empty());
}

TEST_CASE("spec source: an untrusted folder is held once, and trusted again with a whole set", "[daemon-unit]") {
  Source s;
  s.folder.write("a.toml", kSpec);
  REQUIRE(::chmod(s.folder.dir.c_str(), 0777) == 0);  // writable by others: not trusted
  s.source->rescan();
  s.source->rescan();
  CHECK(s.scans.empty());
  REQUIRE(s.held.size() == 1);  // said once, not per rescan
  CHECK(s.source->problem());
  REQUIRE(::chmod(s.folder.dir.c_str(), 0700) == 0);
  s.source->rescan();
  CHECK(s.trusted == 1);
  CHECK_FALSE(s.source->problem());
  REQUIRE(s.scans.size() == 1);
  CHECK_FALSE(s.scans[0].unchanged);  // after a hold everything is resolved again
  CHECK(s.scans[0].files.size() == 1);
}

TEST_CASE("spec source: a missing folder is held, not an empty set", "[daemon-unit]") {
  Source s;
  std::filesystem::remove_all(s.folder.dir);
  s.source->rescan();
  CHECK(s.scans.empty());  // never "every spec removed"
  CHECK(s.held.size() == 1);
}
