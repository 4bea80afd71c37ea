// `bottle-supervisor run` (and `reconcile --once`): the process around the Service. It takes
// the locks that make it the only supervisor of its state dir and of its smolvm DB, opens the
// state store, and runs the loop until the Service stops it.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "platform/file_lock.h"
#include "platform/open_files.h"
#include "supervisor/smolvm_db_lock.h"
#include "supervisor/service.h"

namespace bs::supervisor {

int run_daemon(const Settings& settings, const CommonFlags& flags, RunMode mode) {
  ::signal(SIGPIPE, SIG_IGN);
  // One pidfd per running VM: 1,000 bottles need more than the usual soft limit of 1,024.
  if (auto files = platform::raise_open_file_limit()) {
    spdlog::debug("open-file limit {}", *files);
  } else {
    spdlog::warn("{}", files.error());
  }
  std::error_code ec;
  std::filesystem::create_directories(settings.state_dir, ec);
  ::chmod(settings.state_dir.c_str(), 0700);
  auto lock = platform::InstanceLock::acquire(settings.state_dir + "/supervisor.lock");
  if (!lock) {
    std::fprintf(stderr, "error: %s\n", lock.error().c_str());
    std::fprintf(stderr, "hint: only one supervisor may run per state dir (%s)\n", settings.state_dir.c_str());
    return 1;
  }
  // And one per smolvm DB: two daemons with different state dirs on one DB fight over its rows.
  auto db_lock = lock_smolvm_db(settings.smolvm.db, settings.state_dir, settings.env);
  if (!db_lock) {
    std::fprintf(stderr, "error: %s\n", db_lock.error().c_str());
    std::fprintf(stderr, "hint: only one supervisor may manage a smolvm DB; stop the other one or use its state dir\n");
    return 1;
  }
  auto store = store::StateStore::open(settings.state_dir);
  if (!store) {
    std::fprintf(stderr, "error: %s\n", store.error().message.c_str());
    return 1;
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  int code = 0;
  {
    Service service(&loop, settings, flags, mode, std::move(*store));
    if (auto err = service.start()) {
      std::fprintf(stderr, "error: %s\n", err->c_str());
      code = 1;
    } else {
      uv_run(&loop, UV_RUN_DEFAULT);
      code = service.exit_code();
    }
  }
  // Let every close callback run, then the loop must be empty.
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0) spdlog::warn("event loop closed with handles still open");
  return code;
}

}  // namespace bs::supervisor
