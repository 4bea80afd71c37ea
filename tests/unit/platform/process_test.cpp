#include <algorithm>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "platform/process.h"
#include "support/forked_child.h"
#include "support/poll.h"
#include "support/proc.h"

using namespace bs::platform;
using bs::test::ForkedChild;
using bs::test::unique_marker;
using namespace std::chrono_literals;

namespace {

// Field 22 of /proc/<pid>/stat read the plain way, as a cross-check of read_proc_stat.
std::uint64_t field22(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream rest(line.substr(line.rfind(')') + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) rest >> field;
  return std::stoull(field);
}

}  // namespace

TEST_CASE("parse_proc_stat splits after the last ')' of the comm", "[platform]") {
  const std::string line =
      "4242 (evil) (name x) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 1000 10 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto st = parse_proc_stat(line);
  REQUIRE(st);
  CHECK(st->pid == 4242);
  CHECK(st->comm == "evil) (name x");
  CHECK(st->state == 'S');
  CHECK(st->start_time == 987654);
}

TEST_CASE("parse_proc_stat reads a zombie and rejects malformed lines", "[platform]") {
  auto zombie = parse_proc_stat("7 (exe) Z 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0");
  REQUIRE(zombie);
  CHECK(zombie->state == 'Z');
  CHECK(zombie->start_time == 55);
  CHECK(zombie->comm == "exe");

  CHECK_FALSE(parse_proc_stat(""));
  CHECK_FALSE(parse_proc_stat("7 exe S 1 2 3"));                                         // no parens
  CHECK_FALSE(parse_proc_stat("7 (exe) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0"));       // no field 22
  CHECK_FALSE(parse_proc_stat("7 (exe) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5x 0"));  // bad number
  CHECK_FALSE(parse_proc_stat("x (exe) S 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0"));  // bad pid
  CHECK_FALSE(parse_proc_stat("7 (exe) SS 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0"));
}

TEST_CASE("read_proc_stat of our child gives /proc field 22 as its start time", "[platform]") {
  auto child = ForkedChild::blocked();
  auto st = read_proc_stat(child.pid());
  REQUIRE(st);
  CHECK(st->pid == child.pid());
  CHECK(st->start_time == field22(child.pid()));
  CHECK(st->start_time > 0);
  CHECK(st->state != 'Z');
  CHECK(process_alive(child.pid()));

  auto pids = list_pids();
  CHECK(std::binary_search(pids.begin(), pids.end(), child.pid()));
  CHECK(std::binary_search(pids.begin(), pids.end(), ::getpid()));
}

TEST_CASE("a reaped child is gone, an unreaped one a zombie", "[platform]") {
  auto child = ForkedChild::blocked();
  const pid_t pid = child.pid();
  child.release();
  REQUIRE(bs::test::poll_until([&] { return child.exited_unreaped(); }, 10s));
  auto st = read_proc_stat(pid);
  REQUIRE(st);
  CHECK(st->state == 'Z');
  CHECK_FALSE(process_alive(pid));

  child.wait();
  CHECK_FALSE(read_proc_stat(pid));
  CHECK_FALSE(read_cmdline(pid));
  CHECK_FALSE(process_alive(pid));
  CHECK_FALSE(process_alive(0));
  CHECK_FALSE(process_alive(-1));
}

TEST_CASE("read_cmdline returns the NUL-separated argv", "[platform]") {
  const std::string marker = unique_marker("cmdline");
  auto child = ForkedChild::exec({"/bin/sh", "-c", "read line", marker, "two words"});
  REQUIRE(bs::test::poll_until([&] {
    auto cmd = read_cmdline(child.pid());
    return cmd && cmd->find(marker) != std::string::npos;
  }, 10s));
  auto cmd = read_cmdline(child.pid());
  REQUIRE(cmd);
  CHECK(*cmd == std::string("/bin/sh\0-c\0read line\0", 21) + marker + std::string("\0two words\0", 11));
}

TEST_CASE("processes_with_cmdline_containing finds our marked child", "[platform]") {
  const std::string marker = unique_marker("find");
  auto child = ForkedChild::exec({"/bin/sh", "-c", "read line", marker});
  std::vector<ProcessInfo> found;
  REQUIRE(bs::test::poll_until([&] {
    found = processes_with_cmdline_containing(marker);
    return !found.empty();
  }, 10s));
  REQUIRE(found.size() == 1);
  CHECK(found[0].pid == child.pid());
  CHECK(found[0].start_time == field22(child.pid()));
  CHECK(found[0].cmdline == "/bin/sh -c read line " + marker);

  CHECK(processes_with_cmdline_containing("").empty());
  CHECK(processes_with_cmdline_containing(unique_marker("nobody-has-this")).empty());

  child.release();
  child.wait();
  CHECK(processes_with_cmdline_containing(marker).empty());
}
