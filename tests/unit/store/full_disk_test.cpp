#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <catch2/catch.hpp>

#include "store/state_store.h"
#include "unit/store/store_fixture.h"

using namespace bs::store;
using bs::store::test::RawDb;
using bs::store::test::TempDir;

namespace {

// A 1 MiB tmpfs, unmounted when the test ends (lazily, should a file still be open).
class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::string dir) : dir_(std::move(dir)) {
    ::mkdir(dir_.c_str(), 0700);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=1m,mode=0700") == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Writes to `path` until the filesystem refuses; returns the bytes written.
std::size_t fill(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  std::string chunk(4096, 'x');
  std::size_t total = 0;
  for (;;) {
    ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  const int err = errno;
  ::close(fd);
  CHECK(err == ENOSPC);
  return total;
}

}  // namespace

TEST_CASE("a full filesystem is a Full error, and the store recovers when space returns", "[store]") {
  TempDir tmp;
  SmallTmpfs fs(tmp / "fs");
  if (!fs.mounted()) {
    WARN("skipped: cannot mount a tmpfs (" << fs.error() << "); this test needs root");
    return;
  }
  const std::string state_dir = tmp / "fs/state";
  {
    auto opened = StateStore::open(state_dir);
    REQUIRE(opened);
    StateStore store = std::move(opened).value();
    REQUIRE_FALSE(store.put_lease({"alpha", "127.0.0.16", 1}));
    for (int i = 1; i <= 10; ++i) {
      REQUIRE_FALSE(store.append_event({0, i, "alpha", "bottle-alpha", "verified", "before"}));
    }

    REQUIRE(fill(tmp / "fs/filler") > 0);
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
    REQUIRE_FALSE(store.put_lease({"beta", "127.0.0.17", 2}));
  }

  RawDb raw(state_dir + "/state.db");
  CHECK(raw.text("PRAGMA integrity_check") == "ok");
  CHECK(raw.integer("SELECT count(*) FROM events WHERE detail = 'before'") == 10);
  CHECK(raw.integer("SELECT count(*) FROM events WHERE kind = 'error'") == 0);
  CHECK(raw.integer("SELECT count(*) FROM events WHERE detail = 'after'") == 1);
  CHECK(raw.text("SELECT address FROM leases WHERE bottle = 'alpha'") == "127.0.0.16");
  CHECK(raw.text("SELECT address FROM leases WHERE bottle = 'beta'") == "127.0.0.17");
}
