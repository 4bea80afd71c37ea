#include "support/spawn.h"

#include <signal.h>
#include <sys/wait.h>

#include <cstring>
#include <stdexcept>

extern char** environ;

namespace bs::test {

SpawnPlan::SpawnPlan() {
  posix_spawn_file_actions_init(&actions_);
  posix_spawnattr_init(&attr_);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr_, &all);
  posix_spawnattr_setsigmask(&attr_, &none);
  posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
}

SpawnPlan::~SpawnPlan() {
  posix_spawn_file_actions_destroy(&actions_);
  posix_spawnattr_destroy(&attr_);
}

void SpawnPlan::dup(int fd, int target) { posix_spawn_file_actions_adddup2(&actions_, fd, target); }

void SpawnPlan::open(int target, const std::string& path, int flags, mode_t mode) {
  paths_.push_back(path);
  posix_spawn_file_actions_addopen(&actions_, target, paths_.back().c_str(), flags, mode);
}

pid_t spawn(const std::vector<std::string>& argv, const Env& env, const SpawnPlan& plan) {
  if (argv.empty()) throw std::runtime_error("spawn: empty argv");
  std::vector<std::string> env_strings, arg_strings(argv);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (auto& s : arg_strings) args.push_back(s.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], plan.actions(), plan.attr(), args.data(), envp.data());
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

Env inherited_env(const std::vector<std::string>& drop_prefixes, const Env& set) {
  Env env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv = *e;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = kv.substr(0, eq);
    bool drop = false;
    for (const auto& p : drop_prefixes) drop = drop || key.rfind(p, 0) == 0;
    if (!drop) env.emplace(key, kv.substr(eq + 1));
  }
  for (const auto& [k, v] : set) env[k] = v;
  return env;
}

}  // namespace bs::test
