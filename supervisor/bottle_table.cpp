#include "supervisor/bottle_table.h"

namespace bs::supervisor {

Bottle& BottleTable::get(const std::string& name) {
  auto [it, inserted] = bottles_.try_emplace(name);
  if (inserted) it->second.name = name;
  return it->second;
}

Bottle* BottleTable::find(const std::string& name) {
  auto it = bottles_.find(name);
  return it == bottles_.end() ? nullptr : &it->second;
}

const Bottle* BottleTable::find(const std::string& name) const {
  auto it = bottles_.find(name);
  return it == bottles_.end() ? nullptr : &it->second;
}

void BottleTable::erase(const std::string& name) {
  drop_claim(name);
  bottles_.erase(name);
}

const std::set<std::string>& BottleTable::claims_on(const std::string& machine) const {
  static const std::set<std::string> kNone;
  auto it = claims_.find(machine);
  return it == claims_.end() ? kNone : it->second;
}

void BottleTable::reindex_claims() {
  claims_.clear();
  for (const auto& [name, b] : bottles_) {
    if (b.spec) claims_[b.spec->machine].insert(name);
  }
}

void BottleTable::drop_claim(const std::string& name) {
  auto b = bottles_.find(name);
  if (b == bottles_.end() || !b->second.spec) return;
  auto it = claims_.find(b->second.spec->machine);
  if (it == claims_.end()) return;
  it->second.erase(name);
  if (it->second.empty()) claims_.erase(it);
}

}  // namespace bs::supervisor
