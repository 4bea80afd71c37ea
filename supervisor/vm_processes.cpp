#include "supervisor/vm_processes.h"

#include <poll.h>

#include <cerrno>
#include <vector>

#include "smolvm/boot_config.h"
#include "supervisor/observer.h"

namespace bs::supervisor {
namespace {

bool is_alive(const std::optional<platform::ProcStat>& stat) {
  return stat && stat->state != 'Z' && stat->state != 'X' && stat->state != 'x';
}

VmProcess read_process(std::int64_t pid) {
  VmProcess p;
  p.stat = platform::read_proc_stat(pid);
  if (p.stat) p.cmdline = platform::read_cmdline(pid);
  return p;
}

}  // namespace

Policy read_booted_policy_of(std::int64_t pid, const std::optional<std::string>& cmdline) {
  if (!cmdline) return Policy::invalid("cannot read /proc/" + std::to_string(pid) + "/cmdline");
  auto path = smolvm::boot_config_from_cmdline(*cmdline);
  if (!path) return Policy::invalid("command line names no boot-config.json");
  auto booted = smolvm::read_booted_policy(*path);
  if (!booted) return Policy::invalid(booted.error());
  return policy_of(*booted);
}

VmProcesses::Known* VmProcesses::alive(std::int64_t pid) {
  auto it = known_.find(pid);
  if (it == known_.end()) return nullptr;
  if (it->second.alive_at == tick_) return &it->second;
  if (polled_at_ != tick_) {
    // The first question of this iteration: ask about every process in one poll(2).
    forget_exited();
    it = known_.find(pid);
    if (it == known_.end()) return nullptr;
    if (it->second.alive_at == tick_) return &it->second;
  }
  if (it->second.pidfd.exited()) {
    known_.erase(it);
    return nullptr;
  }
  it->second.alive_at = tick_;
  return &it->second;
}

VmProcess VmProcesses::see(std::int64_t pid, bool remember) {
  if (pid <= 0) return {};
  if (Known* k = alive(pid)) return k->process;
  if (!remember) return read_process(pid);
  // The pidfd first, the readings after: if it still shows the process alive once they are
  // done, they were of that process (its pid cannot be reused before it exits).
  auto pidfd = platform::PidFd::open(pid);
  VmProcess p = read_process(pid);
  if (pidfd && is_alive(p.stat) && p.cmdline && !pidfd->exited()) {
    known_.insert_or_assign(pid, Known{std::move(*pidfd), p, std::nullopt, tick_});
  }
  return p;
}

Policy VmProcesses::booted_policy(std::int64_t pid, const VmProcess& seen) {
  Known* k = alive(pid);
  const bool same = k != nullptr && k->process.stat && seen.stat && k->process.stat->start_time == seen.stat->start_time;
  if (same && k->booted) return *k->booted;
  Policy p = read_booted_policy_of(pid, seen.cmdline);
  if (same) k->booted = p;
  return p;
}

const VmProcess* VmProcesses::remembered(std::int64_t pid) {
  Known* k = alive(pid);
  return k != nullptr ? &k->process : nullptr;
}

void VmProcesses::forget_exited() {
  polled_at_ = tick_;
  std::vector<pollfd> fds;
  fds.reserve(known_.size());
  for (const auto& [_, k] : known_) fds.push_back(pollfd{k.pidfd.fd(), POLLIN, 0});
  int rc;
  do {
    rc = ::poll(fds.data(), fds.size(), 0);
  } while (rc < 0 && errno == EINTR);
  std::size_t i = 0;
  for (auto it = known_.begin(); it != known_.end(); ++i) {
    // Readable: exited. A failed poll vouches for nobody.
    if (rc < 0 || fds[i].revents != 0) {
      it = known_.erase(it);
    } else {
      it->second.alive_at = tick_;
      ++it;
    }
  }
}

}  // namespace bs::supervisor
