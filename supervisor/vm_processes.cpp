#include "supervisor/vm_processes.h"

#include <poll.h>

#include <cerrno>
#include <vector>

#include "platform/identity.h"
#include "smolvm/running_vm.h"
#include "supervisor/observer.h"

namespace bs::supervisor {
namespace {

bool is_alive(const std::optional<platform::ProcStat>& stat) {
  return stat && stat->state != 'Z' && stat->state != 'X' && stat->state != 'x';
}

bool looks_like_vm(const std::string& cmdline) {
  const auto argv = platform::split_cmdline(cmdline);
  return argv.size() >= 3 && argv[1] == "_boot-vm";
}

VmProcess read_process(ProcessTable& table, std::int64_t pid) {
  VmProcess p;
  p.stat = table.stat(pid);
  if (p.stat) p.cmdline = table.cmdline(pid);
  return p;
}

}  // namespace

BootedPolicy read_booted_policy_of(std::int64_t pid, const VmProcess& seen, ProcessTable& table) {
  const std::string who = "pid " + std::to_string(pid);
  if (!seen.stat || !seen.cmdline) return {Policy::invalid("cannot read /proc/" + std::to_string(pid)), 0};
  const auto argv = platform::split_cmdline(*seen.cmdline);
  std::optional<std::string> dir;
  if (argv.size() >= 3 && argv[1] == "_boot-vm") dir = smolvm::data_dir_of_boot_config(argv[2]);
  if (!dir) return {Policy::invalid("the command line names no <data dir>/boot-config.json"), 0};
  // smolvm writes agent.pid in place (create, then write; not a rename), so for a moment a reader
  // finds it empty or half written. Inside the boot pending window that is "not yet", as a file
  // that is not there; after it, the VM is unverifiable whatever the reason.
  auto agent = smolvm::read_agent_pid(*dir);
  const bool names_it = agent && *agent && (*agent)->pid == pid &&
                        (!(*agent)->start_time || *(*agent)->start_time == seen.stat->start_time);
  if (!names_it) {
    const std::string why = !agent    ? agent.error()
                            : !*agent ? "no " + *dir + "/agent.pid"
                                      : *dir + "/agent.pid names pid " + std::to_string((*agent)->pid) +
                                            ((*agent)->pid == pid ? " with another start time" : "");
    auto age = table.age_ms(seen.stat->start_time);
    if (age && *age >= 0 && *age < kBootPendingWindowMs) {
      return {Policy::pending(why + " yet (" + who + " started " + std::to_string(*age) + " ms ago)"),
              kBootPendingWindowMs - *age};
    }
    return {Policy::invalid(why), 0};
  }
  auto booted = smolvm::read_running_policy(*dir);
  if (!booted) return {Policy::invalid(booted.error()), 0};
  return {policy_of(*booted), 0};
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
  if (!remember) return read_process(table_, pid);
  // The pidfd first, the readings after: if it still shows the process alive once they are
  // done, they were of that process (its pid cannot be reused before it exits).
  auto pidfd = table_.pin(pid);
  VmProcess p = read_process(table_, pid);
  // Only a VM's readings are kept: a VM never execs again, but any other process may (a child
  // forked by `machine start` that has not exec'd `_boot-vm` yet still shows its parent's
  // command line, and remembering that would hide the VM it becomes for as long as it lives).
  if (pidfd && is_alive(p.stat) && p.cmdline && looks_like_vm(*p.cmdline) && !pidfd->exited()) {
    known_.insert_or_assign(pid, Known{std::move(*pidfd), p, std::nullopt, tick_});
  }
  return p;
}

BootedPolicy VmProcesses::booted_policy(std::int64_t pid, const VmProcess& seen) {
  Known* k = alive(pid);
  const bool same = k != nullptr && k->process.stat && seen.stat && k->process.stat->start_time == seen.stat->start_time;
  if (same && k->booted) return {*k->booted, 0};
  BootedPolicy p = read_booted_policy_of(pid, seen, table_);
  if (same && p.policy.kind != Policy::Kind::Pending) k->booted = p.policy;
  return p;
}

void VmProcesses::forget_booted(std::int64_t pid) {
  if (auto it = known_.find(pid); it != known_.end()) it->second.booted.reset();
}

void VmProcesses::forget_booted_in(const std::string& data_dir) {
  const std::string needle = data_dir + "/";
  for (auto& [_, k] : known_) {
    if (k.booted && k.process.cmdline && k.process.cmdline->find(needle) != std::string::npos) k.booted.reset();
  }
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
