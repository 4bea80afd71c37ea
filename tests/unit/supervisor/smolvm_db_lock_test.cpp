// One supervisor per smolvm DB, whatever the state dir (supervisor/smolvm_db_lock.h).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "cli_test_support.h"
#include "supervisor/smolvm_db_lock.h"

using bs::platform::map_env;
using bs::supervisor::lock_smolvm_db;
using bs::supervisor::smolvm_db_lock_path;

TEST_CASE("smolvm DB lock: keyed by the DB's resolved path, in the runtime dir, never in smolvm's", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  auto env = map_env({{"HOME", tmp.path()}, {"XDG_RUNTIME_DIR", tmp / "run"}});
  std::filesystem::create_directories(tmp / "data/server");
  std::filesystem::create_directory_symlink(tmp / "data", tmp / "alias");
  const std::string db = tmp / "data/server/smolvm.db";
  const std::string path = smolvm_db_lock_path(db, env);
  CHECK_THAT(path, Catch::StartsWith(tmp / "run/bottle-supervisor/smolvm-db-"));
  CHECK_THAT(path, Catch::EndsWith(".lock"));
  CHECK(smolvm_db_lock_path(tmp / "alias/server/smolvm.db", env) == path);       // one DB, two spellings
  CHECK(smolvm_db_lock_path(tmp / "data/server/./smolvm.db", env) == path);
  CHECK(smolvm_db_lock_path(tmp / "other/server/smolvm.db", env) != path);
  CHECK(smolvm_db_lock_path(db, map_env({{"HOME", tmp.path()}})).rfind(
            "/tmp/bottle-supervisor-" + std::to_string(::geteuid()) + "/smolvm-db-", 0) == 0);
}

TEST_CASE("smolvm DB lock: a second holder is refused, naming the first one's pid and state dir", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  auto env = map_env({{"HOME", tmp.path()}, {"XDG_RUNTIME_DIR", tmp / "run"}});
  const std::string db = tmp / "data/server/smolvm.db";
  auto first = lock_smolvm_db(db, tmp / "state-a", env);
  REQUIRE(first.has_value());
  CHECK(bs::test::permissions_of(tmp / "run/bottle-supervisor") == 0700);
  CHECK_FALSE(std::filesystem::exists(tmp / "data"));  // nothing written near smolvm's DB
  // flock locks belong to the open file: a second open in this process conflicts like another process.
  auto second = lock_smolvm_db(tmp / "data/server/../server/smolvm.db", tmp / "state-b", env);
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error() == "another bottle-supervisor already manages the smolvm DB " + tmp / "data/server/../server/smolvm.db" +
                              ": already running (pid " + std::to_string(::getpid()) + ", state dir " + tmp / "state-a" +
                              ") (lock " + smolvm_db_lock_path(db, env) + ")");
  auto other_db = lock_smolvm_db(tmp / "data2/server/smolvm.db", tmp / "state-b", env);
  CHECK(other_db.has_value());
}

TEST_CASE("smolvm DB lock: a lock folder others made or can write is refused", "[supervisor]") {
  bs::cli_test::TempDir tmp;
  auto env = map_env({{"HOME", tmp.path()}, {"XDG_RUNTIME_DIR", tmp / "run"}});
  std::filesystem::create_directories(tmp / "run/bottle-supervisor");
  REQUIRE(::chmod((tmp / "run/bottle-supervisor").c_str(), 0777) == 0);
  auto lock = lock_smolvm_db(tmp / "db/smolvm.db", tmp / "state", env);
  REQUIRE_FALSE(lock.has_value());
  CHECK_THAT(lock.error(), Catch::Contains("is writable by other users"));
}
