// Guard rules (CONTRACT "Guarding other machines"): the supervisor's judgement of smolvm machines
// that no spec manages (bot-bottle's own launches, anybody's), and of the addresses they share with
// managed bottles. Pure: the supervisor observes, this decides, the supervisor acts.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/world.h"

namespace bs {

struct GuardRule {
  enum class Action { Kill, Report };
  std::string machines;      // a glob on machine names: '*' any run, '?' one character
  std::vector<Cidr> within;  // every CIDR a guarded VM boots with must lie inside one of these
  Action action = Action::Kill;
  bool operator==(const GuardRule&) const = default;
};

std::string to_string(GuardRule::Action a);  // "kill" / "report"

// fnmatch without classes: '*' matches any run (also empty), '?' one character, others themselves.
bool glob_match(std::string_view pattern, std::string_view name);

// The first rule (in file order) whose glob matches `machine`, or nullptr.
const GuardRule* guard_rule_for(const std::vector<GuardRule>& rules, std::string_view machine);

// `inner` lies inside `outer` (same family, outer's prefix no longer, same network bits).
bool cidr_within(const Cidr& inner, const Cidr& outer);

// How a machine outside the specs stands.
enum class GuardVerdict {
  NotRunning,  // no live VM: nothing to judge
  Pending,     // a VM spawned a moment ago whose booted policy is not known yet
  Ok,          // booted confined, as the row says, inside the rule's `within`
  Unconfined,  // booted with a null policy (no rule needed to say so)
  Violation,   // guarded: breaks the rule (outside `within`, not what the row says, unreadable)
  Unchecked,   // no rule and not unconfined: the supervisor only watches it
};
std::string to_string(GuardVerdict v);  // "not-running", "pending", "ok", "unconfined", "violation", "unchecked"

struct GuardJudgement {
  GuardVerdict verdict = GuardVerdict::NotRunning;
  std::string why;  // for violations and unconfined VMs: what is wrong, for events and status
  // The supervisor must kill the VM (a guarded violation whose rule says kill).
  bool kill = false;
};

// `rule` is nullptr for a machine no rule guards (then only an unconfined VM is remarkable).
// A VM whose row cannot be read is judged by what it booted with alone: the row's trouble never
// kills a VM that booted confined inside `within` (it is reported as ok with a note).
GuardJudgement judge_outside_machine(const MachineObservation& obs, const GuardRule* rule);

// A machine outside the specs whose row allowlist holds an address leased to a managed bottle.
struct LeaseConflict {
  std::string machine;  // the machine outside the specs
  std::string bottle;   // the managed bottle holding the lease
  Ipv4 address;
  bool operator==(const LeaseConflict&) const = default;
};

// An entry "holds" an address when it is a loopback network (inside 127.0.0.0/8) containing it:
// that VM can reach the bottle's address. Wider entries (0.0.0.0/0) are open egress, reported as
// such, not as a conflict with every bottle. `outside`: machine -> its row's policy.
std::vector<LeaseConflict> find_lease_conflicts(const std::map<std::string, Policy>& outside,
                                                const std::map<std::string, Ipv4>& leases);

// The planner's word for a bottle that must not start: "address 127.0.0.20 is also in the
// allowlist of machine 'x', which no spec manages".
std::string describe_lease_conflicts(const std::vector<LeaseConflict>& conflicts);

}  // namespace bs
