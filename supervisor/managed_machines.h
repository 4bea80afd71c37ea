// The machines the supervisor manages (a mirror of the store's `machines` table), indexed both
// by machine and by bottle: a bottle's step asks "which machines are mine" for every bottle of
// every pass, which must not cost a scan of all machines (1,000 bottles: a million visits).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "store/state_store.h"

namespace bs::supervisor {

class ManagedMachines {
 public:
  using Map = std::map<std::string, store::ManagedMachine>;  // by machine

  Map::const_iterator begin() const { return by_machine_.begin(); }
  Map::const_iterator end() const { return by_machine_.end(); }
  Map::const_iterator find(const std::string& machine) const { return by_machine_.find(machine); }
  std::size_t count(const std::string& machine) const { return by_machine_.count(machine); }
  std::size_t size() const { return by_machine_.size(); }

  // Adds or replaces the entry of m.machine (which may move it to another bottle).
  void put(const store::ManagedMachine& m);
  void erase(const std::string& machine);

  // The machines managed for `bottle`, sorted; empty when none.
  const std::set<std::string>& of_bottle(const std::string& bottle) const;

  // Grows with every put or erase: whoever mirrors the set (the data-dir watch) resyncs on change.
  std::uint64_t version() const { return version_; }

 private:
  std::uint64_t version_ = 0;
  Map by_machine_;
  std::map<std::string, std::set<std::string>> by_bottle_;
};

}  // namespace bs::supervisor
