// The VM watch on real data dirs in a temp folder (inotify through a libuv loop the test runs) and
// a fake clock: which dirs are watched, what a change in one reports, the alarm for VMs that just
// booted, and exit watches on forked children. Events are waited for, never slept for.
#include <catch2/catch.hpp>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "platform/pidfd.h"
#include "support/fake_time.h"
#include "support/files.h"
#include "support/forked_child.h"
#include "support/poll.h"
#include "support/temp_dir.h"
#include "supervisor/vm_watch.h"

using namespace std::chrono_literals;
using bs::supervisor::kBootedScanDelay;
using bs::supervisor::VmWatch;
using bs::test::FakeTime;
using Names = std::set<std::string>;

namespace {

struct Watch {
  bs::test::TempDir root{"bs-vmwatch"};
  FakeTime time;
  uv_loop_t loop{};
  bs::smolvm::Paths paths;
  std::vector<std::string> changed;
  std::vector<Names> ended;
  std::vector<std::pair<std::string, std::int64_t>> exited;
  std::vector<std::optional<bs::platform::ChildExit>> exit_how;
  std::vector<std::string> row_asked;
  std::unique_ptr<VmWatch> watch;

  explicit Watch(bool watch_dirs = true) {
    uv_loop_init(&loop);
    paths.vms_dir = root / "vms";
    std::filesystem::create_directories(paths.vms_dir);
    watch = std::make_unique<VmWatch>(
        &loop, time, paths, watch_dirs,
        VmWatch::Callbacks{[this](const std::string& m) { changed.push_back(m); },
                           [this](const Names& ms) { ended.push_back(ms); },
                           [this](const std::string& b, std::int64_t pid, std::optional<bs::platform::ChildExit> how) {
                             exited.emplace_back(b, pid);
                             exit_how.push_back(how);
                           },
                           [this](const std::string& m) -> std::optional<std::int64_t> {
                             row_asked.push_back(m);
                             return std::nullopt;
                           }});
  }
  ~Watch() {
    watch.reset();
    uv_run(&loop, UV_RUN_NOWAIT);  // close callbacks
    uv_loop_close(&loop);
  }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  std::string dir(const std::string& m) const { return paths.vm_data_dir(m); }
  void make_dir(const std::string& m) const { std::filesystem::create_directories(dir(m)); }
  void sync(std::uint64_t version, const Names& machines) {
    watch->sync_dirs(version, [machines] { return machines; });
  }
  // Runs the loop until `condition` holds (false at the deadline).
  bool run_until(const std::function<bool()>& condition) {
    return bs::test::poll_until([&] {
      uv_run(&loop, UV_RUN_NOWAIT);
      return condition();
    }, 5s);
  }
  // Writes `file` in m's data dir (as smolvm does: whole) and waits for the report it causes.
  void write_reported(const std::string& m, const std::string& file) {
    const std::size_t before = changed.size();
    bs::test::write_file_atomic(dir(m) + "/" + file, "1\n");
    REQUIRE(run_until([&] { return changed.size() > before; }));
  }
  // A VM of m reads (and so removes) its boot-config.json. The file is written and settled first:
  // by the time agent.pid's report comes, the events of its creation have been handled.
  void boot(const std::string& m) {
    bs::test::write_file(dir(m) + "/boot-config.json", "{}");
    write_reported(m, "agent.pid");
    const std::size_t before = changed.size();
    std::filesystem::remove(dir(m) + "/boot-config.json");
    REQUIRE(run_until([&] { return changed.size() > before; }));
  }
};

}  // namespace

TEST_CASE("vm watch: exactly the synced machines' data dirs are watched, and a known version asks nothing") {
  Watch w;
  for (const char* m : {"a", "b"}) w.make_dir(m);
  w.sync(1, {"a", "b"});
  CHECK(w.watch->watched_dirs() == 2);

  int asked = 0;
  w.watch->sync_dirs(1, [&] {
    ++asked;
    return Names{};
  });
  CHECK(asked == 0);  // after every bottle step: free while the set is the same
  CHECK(w.watch->watched_dirs() == 2);

  w.sync(2, {"a"});
  CHECK(w.watch->watched_dirs() == 1);

  // A machine whose data dir smolvm makes later (its first start) is watched from the dir's
  // creation, and what it holds by then is reported.
  w.sync(3, {"a", "c"});
  CHECK(w.watch->watched_dirs() == 1);
  w.make_dir("c");
  REQUIRE(w.run_until([&] { return w.watch->watched_dirs() == 2; }));
  REQUIRE(w.run_until([&] { return !w.changed.empty(); }));
  CHECK(w.changed == std::vector<std::string>{"c"});
}

TEST_CASE("vm watch: a one-shot run watches no data dir") {
  Watch w(false);
  w.make_dir("a");
  int asked = 0;
  w.watch->sync_dirs(1, [&] {
    ++asked;
    return Names{"a"};
  });
  CHECK(asked == 0);
  CHECK(w.watch->watched_dirs() == 0);
}

TEST_CASE("vm watch: an agent file written in a data dir is reported once, for its machine; other files are not") {
  Watch w;
  for (const char* m : {"a", "b"}) w.make_dir(m);
  w.sync(1, {"a", "b"});

  w.write_reported("a", "agent.pid");
  CHECK(w.changed == std::vector<std::string>{"a"});

  // A console log and a disk say nothing about confinement. agent.config.json written after them
  // is reported, and by then their events have been handled: they reported nothing.
  bs::test::write_file(w.dir("b") + "/console.log", "booting\n");
  bs::test::write_file(w.dir("b") + "/disk.img", "x");
  w.write_reported("b", "agent.config.json");
  CHECK(w.changed == std::vector<std::string>{"a", "b"});
  CHECK(w.ended.empty());
  CHECK_FALSE(w.watch->boot_scan_due());  // no VM booted
}

TEST_CASE("vm watch: a boot arms one alarm for the end of its pending window, which fires once") {
  Watch w;
  w.make_dir("a");
  w.sync(1, {"a"});

  w.boot("a");
  CHECK(w.changed == std::vector<std::string>{"a", "a"});  // agent.pid, then the boot itself
  CHECK(w.watch->boot_scan_due());
  CHECK(w.time.pending() == 1);

  CHECK(w.time.advance(kBootedScanDelay - 1ms) == 0);
  CHECK(w.ended.empty());
  CHECK(w.time.advance(1ms) == 1);
  CHECK(w.ended == std::vector<Names>{{"a"}});
  // Nothing else is due: no alarm is left armed, and time passing wakes nothing.
  CHECK(w.time.pending() == 0);
  CHECK(w.time.advance(1h) == 0);
  CHECK(w.ended.size() == 1);
}

TEST_CASE("vm watch: each boot gets its own window; the alarm is armed for the earliest one due") {
  Watch w;
  for (const char* m : {"a", "b"}) w.make_dir(m);
  w.sync(1, {"a", "b"});

  w.boot("a");                  // a due at 0 + delay
  w.time.advance(1000ms);
  w.boot("b");                  // b due at 1000 + delay
  CHECK(w.time.pending() == 1);  // one alarm, for a
  CHECK(w.time.advance(kBootedScanDelay - 1000ms) == 1);
  CHECK(w.ended == std::vector<Names>{{"a"}});  // b is not looked at before its own window ends

  CHECK(w.time.advance(999ms) == 0);
  CHECK(w.time.advance(1ms) == 1);
  CHECK(w.ended == std::vector<Names>{{"a"}, {"b"}});
  CHECK(w.time.pending() == 0);
}

TEST_CASE("vm watch: a machine booting again while its scan is due is looked at after its new window") {
  Watch w;
  w.make_dir("a");
  w.sync(1, {"a"});

  w.boot("a");
  w.time.advance(1000ms);
  w.boot("a");  // a second VM: its window ends 1000 ms after the first one's
  // The alarm armed for the first boot wakes once, finds nothing due and re-arms for the rest.
  CHECK(w.time.advance(kBootedScanDelay - 1000ms) == 1);
  CHECK(w.ended.empty());
  CHECK(w.time.pending() == 1);
  CHECK(w.time.advance(999ms) == 0);
  CHECK(w.time.advance(1ms) == 1);
  CHECK(w.ended == std::vector<Names>{{"a"}});
  CHECK(w.time.pending() == 0);
}

TEST_CASE("vm watch: after stop no boot window is reported and no alarm is left") {
  Watch w;
  w.make_dir("a");
  w.sync(1, {"a"});
  w.boot("a");
  w.watch->stop();
  CHECK(w.time.pending() == 0);
  CHECK(w.time.advance(1h) == 0);
  CHECK(w.ended.empty());
  CHECK(w.watch->watched_dirs() == 0);
  w.sync(2, {"a"});  // a bottle step finishing during shutdown watches nothing again
  CHECK(w.watch->watched_dirs() == 0);
}

TEST_CASE("vm watch: the stray scan asks the row about exactly the machines it looks at") {
  Watch w;
  // No VM process of these machines runs: nothing is found, and nothing else is asked.
  CHECK(w.watch->look_for_strays({"a", "b"}).empty());
  CHECK(w.row_asked == std::vector<std::string>{"a", "b"});
  w.watch->rescan_strays({"c"});
  CHECK(w.row_asked == std::vector<std::string>{"a", "b", "c"});
  CHECK(w.watch->strays().empty());
  CHECK(w.watch->look_for_strays({}).empty());
  CHECK(w.row_asked.size() == 3);
}

TEST_CASE("vm watch: an exit watch reports its bottle's VM exiting once, and only the pid watched last") {
  Watch w;
  auto first = bs::test::ForkedChild::blocked();
  if (!bs::platform::PidFd::open(first.pid())) {
    WARN("no pidfds here: exits are left to the resync");
    return;
  }
  w.watch->watch_exit("bottle-a", first.pid());
  CHECK(w.watch->watching_exit("bottle-a"));
  // The first VM exits, and before the loop hears of it the bottle has a new VM: the old watch
  // goes, and its exit (already readable) is not reported.
  first.release();
  first.wait();
  // Forked after `first` was reaped: it holds no copy of the pipe that releases `first`.
  auto second = bs::test::ForkedChild::blocked();
  w.watch->watch_exit("bottle-a", second.pid());
  w.watch->unwatch_exit("bottle-a", first.pid());  // not the pid watched: stays
  CHECK(w.watch->watching_exit("bottle-a"));

  second.release();
  REQUIRE(w.run_until([&] { return !w.exited.empty(); }));
  CHECK_FALSE(second.exited_unreaped());  // our child: the watch reaped it
  second.reaped_elsewhere();
  CHECK(w.exited == std::vector<std::pair<std::string, std::int64_t>>{{"bottle-a", second.pid()}});
  // Our child: how it ended is known (a released child exits by itself).
  REQUIRE(w.exit_how.size() == 1);
  REQUIRE(w.exit_how[0].has_value());
  CHECK_FALSE(w.exit_how[0]->signalled);
  CHECK(w.exit_how[0]->str().rfind("exit code ", 0) == 0);
  CHECK_FALSE(w.watch->watching_exit("bottle-a"));

  auto third = bs::test::ForkedChild::blocked();
  w.watch->watch_exit("bottle-b", third.pid());
  w.watch->unwatch_exit("bottle-b", third.pid());
  CHECK_FALSE(w.watch->watching_exit("bottle-b"));
}
