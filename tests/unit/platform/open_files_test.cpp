#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "platform/open_files.h"

using bs::platform::raise_open_file_limit;

TEST_CASE("raise_open_file_limit raises the soft limit to the hard limit") {
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  REQUIRE(before.rlim_max >= 64);
  rlimit lowered = before;
  lowered.rlim_cur = 32;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);

  auto now = raise_open_file_limit();
  rlimit after{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &after) == 0);
  ::setrlimit(RLIMIT_NOFILE, &before);  // leave the test process as it was

  REQUIRE(now);
  CHECK(*now == before.rlim_max);
  CHECK(after.rlim_cur == before.rlim_max);
  CHECK(after.rlim_max == before.rlim_max);
}

TEST_CASE("raise_open_file_limit is a no-op when the soft limit is already the hard limit") {
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  rlimit same = before;
  same.rlim_cur = before.rlim_max;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &same) == 0);
  auto now = raise_open_file_limit();
  ::setrlimit(RLIMIT_NOFILE, &before);
  REQUIRE(now);
  CHECK(*now == before.rlim_max);
}
