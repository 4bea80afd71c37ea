#include <poll.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>

#include "platform/file_lock.h"
#include "support/files.h"
#include "support/forked_child.h"
#include "support/temp_dir.h"

using namespace bs::platform;
using bs::test::ForkedChild;
using bs::test::TempDir;

namespace {

// Child exit codes for "what did try_acquire say".
constexpr int kHeldElsewhere = 10;
constexpr int kGotIt = 11;
constexpr int kError = 12;

int try_in_child(const std::string& path) {
  auto child = ForkedChild::spawn([path]() {
    auto lock = FileLock::try_acquire(path);
    ::_exit(!lock ? kError : (*lock ? kGotIt : kHeldElsewhere));
  });
  const int status = child.wait();
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("FileLock creates its file 0600 and missing parents 0700", "[platform]") {
  TempDir tmp;
  const std::string path = tmp / "cache/bot-bottle/smolmachines.lock";
  auto lock = FileLock::acquire(path);
  REQUIRE(lock);
  CHECK(lock->path() == path);
  CHECK(bs::test::permissions_of(tmp / "cache") == 0700);
  CHECK(bs::test::permissions_of(tmp / "cache/bot-bottle") == 0700);
  CHECK(bs::test::permissions_of(path) == 0600);
}

TEST_CASE("FileLock excludes another process until released", "[platform]") {
  TempDir tmp;
  const std::string path = tmp / "smolmachines.lock";
  {
    auto lock = FileLock::try_acquire(path);
    REQUIRE(lock);
    REQUIRE(*lock);
    CHECK(try_in_child(path) == kHeldElsewhere);

    // Moving the lock keeps it held.
    FileLock moved = std::move(**lock);
    CHECK(try_in_child(path) == kHeldElsewhere);
  }
  CHECK(try_in_child(path) == kGotIt);
}

TEST_CASE("FileLock::acquire waits for the holder", "[platform]") {
  TempDir tmp;
  const std::string path = tmp / "smolmachines.lock";
  std::optional<FileLock> held;
  {
    auto lock = FileLock::acquire(path);
    REQUIRE(lock);
    held.emplace(std::move(*lock));
  }
  int report[2];
  REQUIRE(::pipe(report) == 0);
  auto child = ForkedChild::spawn([&]() {
    ::close(report[0]);
    auto lock = FileLock::acquire(path);
    const char c = lock ? 'L' : 'E';
    (void)::write(report[1], &c, 1);
    ::_exit(0);
  });
  ::close(report[1]);
  pollfd p{report[0], POLLIN, 0};
  CHECK(::poll(&p, 1, 200) == 0);  // still waiting while we hold it

  held.reset();
  REQUIRE(::poll(&p, 1, 10'000) == 1);
  char c = 0;
  REQUIRE(::read(report[0], &c, 1) == 1);
  CHECK(c == 'L');
  ::close(report[0]);
  child.wait();
}

TEST_CASE("FileLock reports a path it cannot create", "[platform]") {
  TempDir tmp;
  { std::ofstream(tmp / "file") << "x"; }
  auto lock = FileLock::acquire(tmp / "file/sub/x.lock");
  REQUIRE_FALSE(lock);
  CHECK_THAT(lock.error(), Catch::Contains(tmp / "file"));
}

TEST_CASE("InstanceLock: a second instance is told the holder's pid", "[platform]") {
  TempDir tmp;
  const std::string path = tmp / "state/supervisor.lock";
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  auto holder = ForkedChild::spawn([&]() {
    ::close(ready[0]);
    auto lock = InstanceLock::acquire(path);
    const char c = lock ? 'L' : 'E';
    (void)::write(ready[1], &c, 1);
    char x;
    while (::read(STDIN_FILENO, &x, 1) > 0) {
    }
    ::_exit(0);
  });
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  REQUIRE(c == 'L');
  CHECK(bs::test::read_file(path) == std::to_string(holder.pid()) + "\n");

  auto second = InstanceLock::acquire(path);
  REQUIRE_FALSE(second);
  CHECK(second.error() == "already running (pid " + std::to_string(holder.pid()) + ")");

  // Once the holder is gone, its stale pid in the file does not matter.
  holder.release();
  holder.wait();
  auto third = InstanceLock::acquire(path);
  REQUIRE(third);
  CHECK(bs::test::read_file(path) == std::to_string(::getpid()) + "\n");
}
