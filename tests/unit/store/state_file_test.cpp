// state.db deleted or replaced while the daemon holds it open (store/state_file.cpp).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::open_store;
using bs::store::test::ip;
using bs::test::TempDir;

TEST_CASE("state file: a deleted state.db is rewritten from the open copy before the next write", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  std::vector<std::string> reported;
  store.on_file_problem([&](const std::string& p) { reported.push_back(p); });
  REQUIRE_FALSE(store.put_lease({"b", ip("127.0.0.16"), 1}));
  REQUIRE_FALSE(store.append_event({0, 1, "b", "m", "created", "before"}));
  const std::string db = tmp.path() + "/state.db";
  REQUIRE(::unlink(db.c_str()) == 0);
  ::unlink((db + "-wal").c_str());
  ::unlink((db + "-shm").c_str());

  // Before: this went into the unlinked inode, and every later event was lost.
  REQUIRE_FALSE(store.append_event({0, 2, "b", "m", "drift-killed", "after"}));
  REQUIRE(std::filesystem::exists(db));
  struct stat st{};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0] == db + " was deleted while the daemon ran; it was rewritten from the daemon's open copy, "
                            "nothing was lost");
  REQUIRE(store.file_problem());

  // What another process (the `events` CLI) now reads from the path: everything.
  auto reader = StateStore::open_read_only(tmp.path());
  REQUIRE(reader);
  auto events = reader->events("", 0, 0, 0);
  REQUIRE(events);
  REQUIRE(events->size() == 2);
  CHECK(events->at(0).detail == "before");
  CHECK(events->at(1).detail == "after");
  auto leases = reader->leases();
  REQUIRE(leases);
  CHECK(leases->size() == 1);
  // And later writes keep going to the file at the path.
  REQUIRE_FALSE(store.append_event({0, 3, "b", "m", "started", "later"}));
  CHECK(reader->events("", 0, 0, 0)->size() == 3);
}

TEST_CASE("state file: a state.db replaced by another file is left alone and reported", "[store]") {
  TempDir tmp;
  auto store = open_store(tmp.path());
  std::vector<std::string> reported;
  store.on_file_problem([&](const std::string& p) { reported.push_back(p); });
  const std::string db = tmp.path() + "/state.db";
  REQUIRE(::rename(db.c_str(), (tmp.path() + "/moved.db").c_str()) == 0);
  { std::ofstream(db) << "not ours"; }
  REQUIRE_FALSE(store.append_event({0, 1, "b", "m", "created", "x"}));
  REQUIRE(reported.size() == 1);
  CHECK_THAT(reported[0], Catch::Contains("was replaced by another file"));
  store.check_file();
  CHECK(reported.size() == 1);  // said once, not at every write
}
