// The hand-off between a launcher (bot-bottle) and the supervisor, through the control socket:
// `adopt NAME --machine M` takes a running machine into management without restarting its VM (the
// bottle keeps the address the machine already allows), `release NAME` hands a machine back
// without stopping or deleting it (the machine is forgotten and the lease released).
#include <spdlog/spdlog.h>

#include "supervisor/supervisor.h"

namespace bs::supervisor {
namespace {

nlohmann::json refuse(const std::string& why) { return {{"ok", false}, {"error", why}}; }

// The one /32 inside the pool that a row allows: the address a launcher gave the machine.
std::optional<Ipv4> own_address(const smolvm::MachineRow& row, const Ipv4Pool& pool) {
  if (row.problem != smolvm::MachineRow::Problem::None) return std::nullopt;
  Policy p = policy_of(row.record.allowed_cidrs);
  if (p.kind != Policy::Kind::List) return std::nullopt;
  std::optional<Ipv4> found;
  for (const Cidr& c : p.list) {
    if (c.v6 || c.prefix != 32) continue;
    Ipv4 a{(std::uint32_t{c.addr[0]} << 24) | (std::uint32_t{c.addr[1]} << 16) | (std::uint32_t{c.addr[2]} << 8) |
           std::uint32_t{c.addr[3]}};
    if (!pool.leasable(a)) continue;
    if (found) return std::nullopt;  // two candidates: leave the choice to the lease policy
    found = a;
  }
  return found;
}

}  // namespace

std::optional<Ipv4> Supervisor::launcher_address(const Bottle& b) const {
  if (!b.spec || !rows_.available() || records_.managed().count(b.spec->machine) != 0) return std::nullopt;
  const smolvm::MachineRow* row = rows_.row(b.spec->machine);
  if (row == nullptr) return std::nullopt;
  return own_address(*row, settings_.config.pool);
}

nlohmann::json Supervisor::adopt_machine(const std::string& name, const std::string& machine) {
  if (name.empty() || machine.empty()) return refuse("adopt needs a bottle name and --machine");
  specs_.rescan();  // the launcher may have written the spec a moment ago
  rows_.refresh(false);
  Bottle* found = bottles_.find(name);
  if (found == nullptr || !found->spec || !found->file_present) {
    return refuse("no bottle '" + name + "' with a valid spec in " + settings_.specs_dir +
                  " (write its spec, naming machine '" + machine + "', first)");
  }
  Bottle& b = *found;
  if (b.spec->machine != machine) {
    return refuse("bottle '" + name + "' names machine '" + b.spec->machine + "', not '" + machine + "'");
  }
  if (auto owner = records_.managed().find(machine); owner != records_.managed().end() && owner->second.bottle != name) {
    return refuse("machine '" + machine + "' is managed by bottle '" + owner->second.bottle + "'");
  }
  if (executor_.slots().in_flight(machine) || queue_.processing(name)) {
    return refuse("bottle '" + name + "' is busy; try again");
  }
  const smolvm::MachineRow* row = rows_.row(machine);
  if (row == nullptr) return refuse("no smolvm machine '" + machine + "' in " + settings_.smolvm.db);

  // Keep the address the machine already allows, so its VM's booted policy stays the desired one.
  std::string note;
  std::optional<Ipv4> address = own_address(*row, settings_.config.pool);
  if (b.spec->loopback && address && *address != *b.spec->loopback) {
    note = "; the spec's fixed loopback " + b.spec->loopback->str() + " differs from the machine's " +
           address->str() + ": its row is re-patched and its VM restarted confined";
  }
  // Leased before the machine is recorded as managed: a managed machine without a lease has no
  // desired allowlist, and its VM would be killed as unverifiable.
  const std::optional<Ipv4> want = b.spec->loopback ? b.spec->loopback : address;
  if (want && records_.lease_of(name) != want) {
    if (auto e = records_.put_lease(name, *want, time_.wall_ms())) return refuse("cannot lease " + want->str() + ": " + *e);
    event(name, machine, "lease-acquired",
          want->str() + (b.spec->loopback ? " (the spec's fixed loopback)"
                                          : " (the address machine '" + machine + "' allows)"));
  }
  Action adopt{};
  adopt.kind = Action::Kind::Adopt;
  adopt.machine = machine;
  adopt.shape = shape_of(*b.spec);
  adopt.on_remove = b.spec->on_remove;
  // Records the machine and its `adopted` event: the planner's Adopt, carried out the same way.
  if (Executed done = executor_.execute(b, adopt); done.kind == Executed::Kind::Failed) return refuse(done.error);
  spdlog::info("bottle {}: machine {} adopted through the control socket{}", name, machine, note);
  guard_check({machine});
  queue_.add(name);
  auto lease = records_.lease_of(name);
  return {{"ok", true},
          {"bottle", name},
          {"machine", machine},
          {"address", lease ? nlohmann::json(lease->str()) : nlohmann::json(nullptr)},
          {"note", note.empty() ? nlohmann::json(nullptr) : nlohmann::json(note.substr(2))}};
}

nlohmann::json Supervisor::release_bottle(const std::string& name) {
  if (name.empty()) return refuse("release needs a bottle name");
  specs_.rescan();
  Bottle* found = bottles_.find(name);
  if (found == nullptr) return refuse("no bottle '" + name + "'");
  Bottle& b = *found;
  if (b.file_present) {
    // While its spec exists the supervisor would take the machine straight back.
    return refuse("bottle '" + name + "' still has its spec " + b.spec_path +
                  "; remove the spec first, then release it before the removal grace (" +
                  std::to_string(settings_.config.removal_grace.count()) + " ms) ends");
  }
  const std::set<std::string> machines = records_.managed().of_bottle(name);
  for (const std::string& m : machines) {
    if (executor_.slots().in_flight(m)) return refuse("machine '" + m + "' has a smolvm command running; try again");
  }
  if (queue_.processing(name)) return refuse("bottle '" + name + "' is busy; try again");
  nlohmann::json released = nlohmann::json::array();
  for (const std::string& m : machines) {
    if (auto e = records_.forget_machine(m)) return refuse(*e);
    event(name, m, "released", "machine left running as it is; no longer managed");
    released.push_back(m);
  }
  vm_watch_.unwatch_exit(name);
  nlohmann::json address = nullptr;
  if (auto lease = records_.lease_of(name)) {
    if (auto e = records_.release_lease(name)) return refuse(*e);
    address = lease->str();
    event(name, "", "lease-released", lease->str() + " (released through the control socket)");
  }
  bottles_.drop_claim(name);
  std::set<std::string> judge(machines.begin(), machines.end());
  guard_check(judge);
  queue_.add(name);  // nothing left to remove: the bottle is forgotten
  return {{"ok", true}, {"bottle", name}, {"machines", released}, {"address", address}};
}

}  // namespace bs::supervisor
