#include "supervisor/records.h"

namespace bs::supervisor {

Records::Records(TimeSource& time, store::StateStore store) : store_(std::move(store)), events_(time, store_) {}

Records::Error Records::load() {
  auto leases = store_.leases();
  auto machines = store_.machines();
  auto verified = store_.verified_vms();
  if (!leases) return leases.error().message;
  if (!machines) return machines.error().message;
  if (!verified) return verified.error().message;
  for (const auto& l : *leases) leases_[l.bottle] = l.address;
  for (const auto& m : *machines) managed_.put(m);
  for (const auto& v : *verified) verified_[v.machine] = v;
  return std::nullopt;
}

std::optional<Ipv4> Records::lease_of(const std::string& bottle) const {
  auto it = leases_.find(bottle);
  if (it == leases_.end()) return std::nullopt;
  return it->second;
}

Records::Error Records::put_lease(const std::string& bottle, Ipv4 address, std::int64_t acquired_ms) {
  if (auto e = store_.put_lease({bottle, address, acquired_ms})) return e->message;
  leases_[bottle] = address;
  return std::nullopt;
}

Records::Error Records::release_lease(const std::string& bottle) {
  if (auto e = store_.release_lease(bottle)) return e->message;
  leases_.erase(bottle);
  return std::nullopt;
}

Records::Error Records::put_machine(const store::ManagedMachine& m) {
  if (auto e = store_.put_machine(m)) return e->message;
  managed_.put(m);
  return std::nullopt;
}

Records::Error Records::forget_machine(const std::string& machine) {
  if (auto e = store_.forget_machine(machine)) return e->message;
  managed_.erase(machine);
  verified_.erase(machine);
  return std::nullopt;
}

Records::Error Records::put_verified(const store::VerifiedVm& v) {
  if (auto e = store_.put_verified_vm(v)) return e->message;
  verified_[v.machine] = v;
  return std::nullopt;
}

Records::Error Records::clear_verified(const std::string& machine) {
  if (auto e = store_.clear_verified_vm(machine)) return e->message;
  verified_.erase(machine);
  return std::nullopt;
}

void Records::clear_verified_best_effort(const std::string& machine) {
  (void)store_.clear_verified_vm(machine);  // see the header: a stale record names a dead VM
  verified_.erase(machine);
}

Records::Error Records::save_spec(const store::SavedSpec& s) {
  if (auto e = store_.save_spec(s)) return e->message;
  return std::nullopt;
}

Records::Error Records::forget_spec(const std::string& bottle) {
  if (auto e = store_.forget_spec(bottle)) return e->message;
  return std::nullopt;
}

}  // namespace bs::supervisor
