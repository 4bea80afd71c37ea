// What the supervisor remembers: its state store (leases, managed machines, verified VMs, saved
// specs, the audit log) and the in-memory mirrors the daemon reads on every step. Every change
// goes through here, store first and mirror second: when the store refuses a write, the error
// is returned and the mirror is left as it was, so the two never disagree about a write that
// failed (the caller reports the error, and the bottle's step is retried with backoff).
#pragma once


#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/cidr.h"
#include "reconcile/expected.h"
#include "store/state_store.h"
#include "supervisor/event_recorder.h"
#include "supervisor/managed_machines.h"

namespace bs::supervisor {

class Records {
 public:
  // The store's message when a write was refused; nothing changed then.
  using Error = std::optional<std::string>;

  Records(TimeSource& time, store::StateStore store);
  Records(const Records&) = delete;
  Records& operator=(const Records&) = delete;

  // Reads leases, machines and verified VMs into the mirrors (at start). Error: the store could
  // not be read; the mirrors are untouched then.
  [[nodiscard]] Error load();
  // The text of each bottle's last valid spec, as saved.
  bs::Expected<std::vector<store::SavedSpec>, store::StoreError> saved_specs() { return store_.saved_specs(); }

  // Leases, by bottle.
  const std::map<std::string, Ipv4>& leases() const { return leases_; }
  std::optional<Ipv4> lease_of(const std::string& bottle) const;
  // The lease rows as the store has them: what the lease policy chooses against.
  bs::Expected<std::vector<store::Lease>, store::StoreError> stored_leases() { return store_.leases(); }
  [[nodiscard]] Error put_lease(const std::string& bottle, Ipv4 address, std::int64_t acquired_ms);
  [[nodiscard]] Error release_lease(const std::string& bottle);

  // Machines the supervisor manages.
  const ManagedMachines& managed() const { return managed_; }
  [[nodiscard]] Error put_machine(const store::ManagedMachine& m);
  // Also drops the machine's verified VM, in the store and in the mirror.
  [[nodiscard]] Error forget_machine(const std::string& machine);

  // VMs started (or found running) and verified, by machine.
  const std::map<std::string, store::VerifiedVm>& verified() const { return verified_; }
  [[nodiscard]] Error put_verified(const store::VerifiedVm& v);
  [[nodiscard]] Error clear_verified(const std::string& machine);
  // For a VM known to be gone (killed, stopped, its machine deleted): the record leaves the
  // mirror even when the store cannot take the change now. A record left behind in the store is
  // harmless: it names a pid and start time that no live process has any more, so nothing ever
  // takes it for a verified VM, and the next verify of that machine replaces it.
  void clear_verified_best_effort(const std::string& machine);

  // Saved specs: the last valid spec of each bottle, for a start that finds it invalid.
  [[nodiscard]] Error save_spec(const store::SavedSpec& s);
  [[nodiscard]] Error forget_spec(const std::string& bottle);

  // The audit log: written now, or queued and retried while the store cannot take it.
  void record_event(store::Event e) { events_.record(std::move(e)); }
  std::size_t events_pending() const { return events_.pending(); }
  std::uint64_t events_dropped() const { return events_.dropped(); }

  // state.db itself, for status: its path and the last incident with the file (deleted or
  // replaced under the daemon); check_file() looks now.
  const std::string& path() const { return store_.path(); }
  const std::optional<std::string>& file_problem() const { return store_.file_problem(); }
  void check_file() { store_.check_file(); }

 private:
  store::StateStore store_;
  EventRecorder events_;  // refers to store_: declared after it
  std::map<std::string, Ipv4> leases_;                 // by bottle
  ManagedMachines managed_;
  std::map<std::string, store::VerifiedVm> verified_;  // by machine
};

}  // namespace bs::supervisor
