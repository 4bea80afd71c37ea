// The bottles the daemon knows (from the spec folder and the store), and which bottles' last
// valid specs name each machine: normally one, two while they conflict. A bottle leaves the table
// with its claim on its machine.
#pragma once

#include <map>
#include <set>
#include <string>

#include "supervisor/bottle.h"

namespace bs::supervisor {

class BottleTable {
 public:
  using Map = std::map<std::string, Bottle>;

  Bottle& get(const std::string& name);  // made (empty) if it is not known yet
  Bottle* find(const std::string& name);
  const Bottle* find(const std::string& name) const;
  bool contains(const std::string& name) const { return bottles_.count(name) != 0; }
  void erase(const std::string& name);  // and its claim on its spec's machine

  // The bottles whose last valid spec names `machine`.
  const std::set<std::string>& claims_on(const std::string& machine) const;
  // After the specs changed: every claim read again from the bottles' specs.
  void reindex_claims();
  // The bottle gives up its claim on its spec's machine (released through the control socket).
  void drop_claim(const std::string& name);

  std::size_t size() const { return bottles_.size(); }
  bool empty() const { return bottles_.empty(); }
  Map::iterator begin() { return bottles_.begin(); }
  Map::iterator end() { return bottles_.end(); }
  Map::const_iterator begin() const { return bottles_.begin(); }
  Map::const_iterator end() const { return bottles_.end(); }

 private:
  Map bottles_;
  std::map<std::string, std::set<std::string>> claims_;  // machine -> bottles
};

}  // namespace bs::supervisor
