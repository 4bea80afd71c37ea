// Machines no spec manages: bot-bottle's own launches and anybody else's. The supervisor never
// creates, starts, stops, deletes or patches them; it judges each running VM against the
// [[guard]] rule that matches its name (reconcile/guard.h) and kills or reports a VM that breaks
// it, warns once about any unconfined VM, and finds rows that share a managed bottle's address.
// Called on the same paths as the managed drift check (changed rows, VM data-dir events, the
// resync), so a guarded kill is as fast as a drift kill.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "platform/identity.h"
#include "supervisor/logging.h"
#include "supervisor/supervisor.h"

namespace bs::supervisor {
namespace {

nlohmann::json policy_json(const Policy& p) {
  switch (p.kind) {
    case Policy::Kind::List: return to_strings(p.list);
    case Policy::Kind::Unrestricted: return nullptr;
    default: return p.str();
  }
}

// An audit event about a machine no bottle owns (bottle ""); the caller has logged it already.
void record_guard_event(Records& records, std::int64_t now_ms, const std::string& machine, const std::string& kind,
                        const std::string& detail) {
  store::Event e;
  e.ts_ms = now_ms;
  e.machine = machine;
  e.kind = kind;
  e.detail = detail;
  records.record_event(e);
  log_event({"", machine, kind, detail});  // a warning (an error for "error"), with MESSAGE_ID= and MACHINE=
}

std::string state_word(const MachineObservation& obs, const smolvm::MachineRow* row) {
  if (obs.vm) return "running";
  if (row != nullptr && row->problem == smolvm::MachineRow::Problem::None) return row->record.state;
  return "unknown";
}

}  // namespace

bool Supervisor::managed_by_spec(const std::string& machine) const {
  if (records_.managed().count(machine) != 0) return true;
  // A spec whose file is gone claims nothing new: its bottle only removes what it manages.
  for (const std::string& owner : bottles_.claims_on(machine)) {
    if (const Bottle* b = bottles_.find(owner); b != nullptr && b->file_present) return true;
  }
  return false;
}

std::set<std::string> Supervisor::outside_rows() const {
  std::set<std::string> out;
  for (const auto& [m, _] : rows_.rows().rows) {
    if (!managed_by_spec(m)) out.insert(m);
  }
  for (const auto& [m, _] : guard_.machines) out.insert(m);  // gone or managed now: dropped below
  return out;
}

void Supervisor::guard_check(const std::set<std::string>& machines) {
  if (stopping()) return;
  const std::set<std::string> before = guard_.guarded();
  const bool full = rows_.available() && machines == outside_rows();
  for (const std::string& m : machines) judge_outside(m);
  if (full) {
    // Every outside machine was just judged: forget the VMs reported earlier that are gone, so
    // the set stays as small as the VMs running.
    std::erase_if(guard_.reported, [&](const std::pair<std::int64_t, std::uint64_t>& vm) {
      return std::none_of(guard_.machines.begin(), guard_.machines.end(), [&](const auto& entry) {
        const auto& v = entry.second.observed.vm;
        return v && v->pid == vm.first && v->start_time == vm.second;
      });
    });
  }
  if (guard_.guarded() != before) {
    ++guard_.version;
    sync_vm_dirs();
  }
  check_lease_conflicts();
}

void Supervisor::judge_outside(const std::string& m) {
  // Unreadable rows tell nothing about which machines exist: keep the last judgement.
  if (!rows_.available()) return;
  auto row = rows_.rows().rows.find(m);
  if (managed_by_spec(m) || row == rows_.rows().rows.end()) {
    guard_.machines.erase(m);
    return;
  }
  OutsideMachine& o = guard_.machines[m];
  const GuardRule* rule = guard_rule_for(settings_.config.guards, m);
  o.rule = rule != nullptr ? std::optional<GuardRule>(*rule) : std::nullopt;
  // No verified pid: the supervisor never verified this VM; the row's pid or agent.pid names it.
  o.observed = observe_machine(m, rows_.rows(), settings_.smolvm, std::nullopt, vm_watch_.processes());
  o.judgement = judge_outside_machine(o.observed, rule);
  const GuardJudgement& j = o.judgement;
  if (!o.observed.vm) return;
  const RunningVm& vm = *o.observed.vm;
  const auto key = std::make_pair(vm.pid, vm.start_time);
  const std::string booted = "booted " + vm.booted.str() + ", row " + o.observed.allowed.str();
  switch (j.verdict) {
    case GuardVerdict::Pending:
      // agent.pid normally names it within the window (the data-dir watch sees that); look again
      // when the window closes in any case.
      if (!guard_.recheck.active() || guard_.recheck.due_in() > static_cast<std::uint64_t>(vm.pending_ms) + 20) {
        guard_.recheck.start(std::chrono::milliseconds(vm.pending_ms + 20), [this] { guard_check(outside_rows()); });
      }
      return;
    case GuardVerdict::Violation: {
      const std::string rule_word = "rule machines=\"" + rule->machines + "\" within " +
                                    to_string(Allowlist(rule->within.begin(), rule->within.end()));
      if (j.kill) {
        platform::KillResult r = executor_.processes().kill_verified(vm.pid, vm.start_time, settings_.smolvm.vm_command_line(m));
        if (r.outcome != platform::KillOutcome::Failed) vm_watch_.forget(vm.pid);
        if (r.outcome == platform::KillOutcome::Killed) {
          ++guard_.kills;
          record_guard_event(records_, time_.wall_ms(), m, "guard-killed", j.why + "; " + booted + "; " + rule_word);
          executor_.processes().wait_gone(vm.pid);
          o.observed.vm.reset();
          o.judgement.verdict = GuardVerdict::NotRunning;
          o.judgement.why = "killed: " + j.why;
        } else if (r.outcome == platform::KillOutcome::Failed && guard_.reported.insert(key).second) {
          // Tried again on every change of it; said once per VM.
          record_guard_event(records_, time_.wall_ms(), m, "error", "cannot kill guarded VM pid " + std::to_string(vm.pid) + ": " + r.message);
        }
        return;
      }
      if (guard_.reported.insert(key).second) {
        record_guard_event(records_, time_.wall_ms(), m, "guard-violation", j.why + "; " + booted + "; " + rule_word);
      }
      return;
    }
    case GuardVerdict::Unconfined:
      // A warning, not an event: the audit log records what the supervisor did, and it does
      // nothing to a machine no rule guards.
      if (guard_.reported.insert(key).second) {
        spdlog::warn("unmanaged machine {}: VM {} runs unconfined (no spec manages it and no [[guard]] rule "
                     "matches it)", m, j.why);
      }
      return;
    default:
      return;
  }
}

void Supervisor::check_lease_conflicts() {
  std::map<std::string, Policy> outside;
  for (const auto& [m, o] : guard_.machines) {
    if (o.observed.row == MachineObservation::Row::Ok) outside.emplace(m, o.observed.allowed);
  }
  std::vector<LeaseConflict> now = find_lease_conflicts(outside, records_.leases());
  if (now == guard_.conflicts) return;
  std::set<std::string> touched;
  for (const LeaseConflict& c : now) {
    if (std::find(guard_.conflicts.begin(), guard_.conflicts.end(), c) != guard_.conflicts.end()) continue;
    const std::string detail = "address " + c.address.str() + " of bottle " + c.bottle +
                               " is also in the allowlist of machine '" + c.machine + "', which no spec manages";
    spdlog::warn("lease conflict: {}", detail);
    event(c.bottle, c.machine, "lease-conflict", detail);
    touched.insert(c.bottle);
  }
  for (const LeaseConflict& c : guard_.conflicts) {
    if (std::find(now.begin(), now.end(), c) == now.end()) touched.insert(c.bottle);
  }
  guard_.conflicts = std::move(now);
  for (const std::string& b : touched) {
    if (bottles_.contains(b)) queue_.add(b);  // its plan may start (or refuse to start) now
  }
}

std::vector<LeaseConflict> Supervisor::lease_conflicts_of(const std::string& bottle) const {
  std::vector<LeaseConflict> out;
  for (const LeaseConflict& c : guard_.conflicts) {
    if (c.bottle == bottle) out.push_back(c);
  }
  return out;
}

std::set<std::uint32_t> Supervisor::outside_held_addresses() const {
  std::set<std::uint32_t> out;
  const Ipv4Pool& pool = settings_.config.pool;
  for (const auto& [m, o] : guard_.machines) {
    if (o.observed.row != MachineObservation::Row::Ok || o.observed.allowed.kind != Policy::Kind::List) continue;
    for (const Cidr& c : o.observed.allowed.list) {
      // Narrow loopback entries only (a bot-bottle launch allows its own /32): a wide entry is open
      // egress, reported as such, and enumerating it would cost up to 2^24 addresses.
      if (c.v6 || c.prefix < 24 || c.addr[0] != 127) continue;
      const std::uint32_t net = (std::uint32_t{c.addr[0]} << 24) | (std::uint32_t{c.addr[1]} << 16) |
                                (std::uint32_t{c.addr[2]} << 8) | std::uint32_t{c.addr[3]};
      for (std::uint32_t i = 0; i < (std::uint32_t{1} << (32 - c.prefix)); ++i) {
        if (pool.contains(Ipv4{net + i})) out.insert(net + i);
      }
    }
  }
  return out;
}

nlohmann::json Supervisor::guarded_document() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [m, o] : guard_.machines) {
    const smolvm::MachineRow* row = nullptr;
    if (auto it = rows_.rows().rows.find(m); it != rows_.rows().rows.end()) row = &it->second;
    nlohmann::json j;
    j["name"] = m;
    j["kind"] = o.rule ? "guarded" : "unmanaged";
    j["rule"] = o.rule ? nlohmann::json(o.rule->machines) : nlohmann::json(nullptr);
    j["action"] = o.rule ? nlohmann::json(to_string(o.rule->action)) : nlohmann::json(nullptr);
    j["state"] = state_word(o.observed, row);
    j["pid"] = o.observed.vm ? nlohmann::json(o.observed.vm->pid) : nlohmann::json(nullptr);
    j["booted"] = o.observed.vm ? policy_json(o.observed.vm->booted) : nlohmann::json(nullptr);
    j["allowlist"] = o.observed.row == MachineObservation::Row::Ok ? policy_json(o.observed.allowed)
                                                                   : nlohmann::json(nullptr);
    j["verdict"] = to_string(o.judgement.verdict);
    j["detail"] = o.judgement.why.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.judgement.why);
    nlohmann::json conflicts = nlohmann::json::array();
    for (const LeaseConflict& c : guard_.conflicts) {
      if (c.machine == m) conflicts.push_back({{"bottle", c.bottle}, {"address", c.address.str()}});
    }
    j["lease_conflicts"] = std::move(conflicts);
    list.push_back(std::move(j));
  }
  return list;
}

}  // namespace bs::supervisor
