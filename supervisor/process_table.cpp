#include "supervisor/process_table.h"

namespace bs::supervisor {
namespace {

class HostProcessTable final : public ProcessTable {
 public:
  std::optional<platform::ProcStat> stat(std::int64_t pid) override { return platform::read_proc_stat(pid); }
  std::optional<std::string> cmdline(std::int64_t pid) override { return platform::read_cmdline(pid); }
  std::vector<std::int64_t> pids() override { return platform::list_pids(); }
  std::optional<std::int64_t> age_ms(std::uint64_t start_time) override { return platform::process_age_ms(start_time); }
  std::optional<platform::PidFd> pin(std::int64_t pid) override { return platform::PidFd::open(pid); }
};

}  // namespace

ProcessTable& host_process_table() {
  static HostProcessTable table;
  return table;
}

}  // namespace bs::supervisor
