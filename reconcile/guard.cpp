#include "reconcile/guard.h"

#include <algorithm>

namespace bs {
namespace {

bool prefix_bits_equal(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, int bits) {
  for (int i = 0; i < bits; ++i) {
    const int byte = i / 8;
    const int mask = 0x80 >> (i % 8);
    if ((a[static_cast<std::size_t>(byte)] & mask) != (b[static_cast<std::size_t>(byte)] & mask)) return false;
  }
  return true;
}

Cidr loopback_net() {
  Cidr c;
  c.addr[0] = 127;
  c.prefix = 8;
  return c;
}

std::string list_str(const std::vector<Cidr>& cidrs) { return to_string(Allowlist(cidrs.begin(), cidrs.end())); }

}  // namespace

std::string to_string(GuardRule::Action a) { return a == GuardRule::Action::Kill ? "kill" : "report"; }

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative with one backtrack point: linear in practice, no recursion on hostile patterns.
  std::size_t p = 0, n = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const GuardRule* guard_rule_for(const std::vector<GuardRule>& rules, std::string_view machine) {
  for (const GuardRule& r : rules) {
    if (glob_match(r.machines, machine)) return &r;
  }
  return nullptr;
}

bool cidr_within(const Cidr& inner, const Cidr& outer) {
  return inner.v6 == outer.v6 && inner.prefix >= outer.prefix && prefix_bits_equal(inner.addr, outer.addr, outer.prefix);
}

std::string to_string(GuardVerdict v) {
  switch (v) {
    case GuardVerdict::NotRunning: return "not-running";
    case GuardVerdict::Pending: return "pending";
    case GuardVerdict::Ok: return "ok";
    case GuardVerdict::Unconfined: return "unconfined";
    case GuardVerdict::Violation: return "violation";
    case GuardVerdict::Unchecked: return "unchecked";
  }
  return "unchecked";
}

GuardJudgement judge_outside_machine(const MachineObservation& obs, const GuardRule* rule) {
  GuardJudgement j;
  if (!obs.vm) return j;
  const Policy& booted = obs.vm->booted;
  const std::string pid = "pid " + std::to_string(obs.vm->pid);
  auto violation = [&](std::string why) {
    j.verdict = GuardVerdict::Violation;
    j.why = pid + ": " + std::move(why);
    j.kill = rule->action == GuardRule::Action::Kill;
    return j;
  };
  if (booted.kind == Policy::Kind::Pending) {
    j.verdict = GuardVerdict::Pending;
    j.why = pid + ": booted policy " + booted.str();
    return j;
  }
  if (booted.kind == Policy::Kind::Unrestricted) {
    if (rule != nullptr) return violation("booted unconfined (allowed_cidrs null)");
    j.verdict = GuardVerdict::Unconfined;
    j.why = pid + ": booted unconfined (allowed_cidrs null)";
    return j;
  }
  if (rule == nullptr) {
    j.verdict = GuardVerdict::Unchecked;
    return j;
  }
  if (booted.kind == Policy::Kind::Invalid) return violation("booted policy " + booted.str());
  for (const Cidr& c : booted.list) {
    const bool inside = std::any_of(rule->within.begin(), rule->within.end(),
                                    [&](const Cidr& w) { return cidr_within(c, w); });
    if (!inside) return violation("booted with " + c.str() + ", outside " + list_str(rule->within));
  }
  j.verdict = GuardVerdict::Ok;
  switch (obs.row) {
    case MachineObservation::Row::Ok:
      if (!obs.allowed.equals(booted.list)) {
        return violation("booted with " + booted.str() + " but the row says " + obs.allowed.str());
      }
      break;
    case MachineObservation::Row::Missing:
      return violation("booted with " + booted.str() + " but the machine's row is gone");
    case MachineObservation::Row::DbUnavailable:
    case MachineObservation::Row::Unreadable:
      // Never kill a VM that booted confined because smolvm's DB was misread.
      j.why = "the row cannot be read (" + obs.problem + "); booted inside the rule";
      break;
  }
  return j;
}

std::vector<LeaseConflict> find_lease_conflicts(const std::map<std::string, Policy>& outside,
                                                const std::map<std::string, Ipv4>& leases) {
  std::vector<LeaseConflict> out;
  const Cidr loopback = loopback_net();
  for (const auto& [machine, policy] : outside) {
    if (policy.kind != Policy::Kind::List) continue;
    for (const auto& [bottle, address] : leases) {
      const Cidr host = host_cidr(address);
      const bool held = std::any_of(policy.list.begin(), policy.list.end(), [&](const Cidr& c) {
        return cidr_within(c, loopback) && cidr_within(host, c);
      });
      if (held) out.push_back(LeaseConflict{machine, bottle, address});
    }
  }
  return out;
}

std::string describe_lease_conflicts(const std::vector<LeaseConflict>& conflicts) {
  std::string out;
  for (const LeaseConflict& c : conflicts) {
    if (!out.empty()) out += "; ";
    out += "address " + c.address.str() + " is also in the allowlist of machine '" + c.machine +
           "', which no spec manages";
  }
  return out;
}

}  // namespace bs
