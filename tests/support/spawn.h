// Starting a program from a test with posix_spawn: argv[0] an absolute path, exactly the given
// environment, and default signal dispositions with an empty mask whatever the test process set
// (Catch2's handlers, an ignored SIGPIPE). Where its standard streams go is the caller's plan.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <deque>
#include <map>
#include <string>
#include <vector>

namespace bs::test {

using Env = std::map<std::string, std::string>;

// posix_spawn's file actions and attributes, destroyed on every path.
class SpawnPlan {
 public:
  SpawnPlan();
  ~SpawnPlan();
  SpawnPlan(const SpawnPlan&) = delete;
  SpawnPlan& operator=(const SpawnPlan&) = delete;

  void dup(int fd, int target);  // the child's `target` is our `fd`
  void open(int target, const std::string& path, int flags, mode_t mode = 0);

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
  std::deque<std::string> paths_;  // open()'s paths, kept in place until the spawn
};

// The child's pid; throws std::runtime_error when it cannot be started.
pid_t spawn(const std::vector<std::string>& argv, const Env& env, const SpawnPlan& plan);

// A wait status as one number: the exit code, or 128+N when signal N killed it.
int exit_code_of(int wait_status);

// This process's environment without the variables whose names start with one of
// `drop_prefixes`, with `set` on top.
Env inherited_env(const std::vector<std::string>& drop_prefixes, const Env& set = {});

}  // namespace bs::test
