#include "support/vm_cleanup.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>

#include "platform/process.h"
#include "platform/reaper.h"
#include "smolvm/boot_config.h"
#include "support/poll.h"
#include "support/proc.h"
#include "support/smolvm_rows.h"

namespace bs::test {

void become_subreaper() {
  static const bool done = ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
  (void)done;
}

void kill_verified_and_reap(std::int64_t pid, std::uint64_t start_time) {
  if (pid <= 1 || pid_start_time(pid) != start_time) return;  // gone, or someone else's pid now
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  poll_until([&] {
    platform::reap_child(pid);
    return !pid_alive(pid);
  }, std::chrono::seconds(5));
  platform::reap_child(pid);
}

void kill_row_vms(const std::string& db_path) {
  for (const StoredRow& r : read_rows(db_path)) {
    auto j = nlohmann::json::parse(r.data, nullptr, false);
    if (j.is_object() && j.contains("pid") && j["pid"].is_number_integer() && j.contains("pid_start_time") &&
        j["pid_start_time"].is_number_unsigned()) {
      kill_verified_and_reap(j["pid"].get<std::int64_t>(), j["pid_start_time"].get<std::uint64_t>());
    }
  }
}

void kill_boot_vms_under(const std::string& dir) {
  for (std::int64_t pid : children_of(::getpid())) {
    auto raw = platform::read_cmdline(pid);
    auto config = raw ? smolvm::boot_config_from_cmdline(*raw) : std::nullopt;
    auto start = pid_start_time(pid);
    if (config && start && config->rfind(dir + "/", 0) == 0) kill_verified_and_reap(pid, *start);
  }
}

}  // namespace bs::test
