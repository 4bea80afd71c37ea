#include "reconcile/spec_set.h"

#include <algorithm>
#include <map>

namespace bs {

const SpecParseMemo::Result& SpecParseMemo::parse(const std::string& path, const std::string& text,
                                                   const Ipv4Pool& pool) {
  auto it = parses_.find(path);
  if (it != parses_.end() && it->second.text == text && it->second.pool == pool) {
    it->second.used = true;
    return it->second.result;
  }
  ++parsed_;
  Entry e{text, pool, parse_bottle_spec(path, text, pool), true};
  return parses_.insert_or_assign(path, std::move(e)).first->second.result;
}

void SpecParseMemo::sweep() {
  for (auto it = parses_.begin(); it != parses_.end();) {
    if (!it->second.used) {
      it = parses_.erase(it);
    } else {
      it->second.used = false;
      ++it;
    }
  }
}

std::vector<SpecEntry> resolve_specs(std::vector<SpecFile> files, const Ipv4Pool& pool, SpecParseMemo* memo) {
  std::sort(files.begin(), files.end(), [](const SpecFile& a, const SpecFile& b) {
    return a.file_name != b.file_name ? a.file_name < b.file_name : a.path < b.path;
  });
  std::vector<SpecEntry> entries;
  entries.reserve(files.size());
  std::map<std::string, std::string> machine_owner;  // machine -> winner's path
  std::map<Ipv4, std::string> loopback_owner;        // fixed address -> winner's path
  std::map<std::string, std::string> name_owner;     // bottle name -> winner's path
  for (const SpecFile& f : files) {
    SpecEntry e;
    e.name = bottle_name_of(f.file_name);
    e.path = f.path;
    if (f.access_error) {
      e.error = *f.access_error;
      entries.push_back(std::move(e));
      continue;
    }
    auto parsed = memo != nullptr ? memo->parse(f.path, f.text, pool) : parse_bottle_spec(f.path, f.text, pool);
    if (!parsed) {
      e.error = format_diags(parsed.error());
      entries.push_back(std::move(e));
      continue;
    }
    // One folder cannot hold two files with one stem; the caller merging folders could.
    std::vector<std::string> conflicts;
    if (auto it = name_owner.find(e.name); it != name_owner.end()) {
      conflicts.push_back("bottle name '" + e.name + "' is already used by " + it->second);
    }
    if (auto it = machine_owner.find(parsed->machine); it != machine_owner.end()) {
      conflicts.push_back("machine '" + parsed->machine + "' is already used by " + it->second);
    }
    if (parsed->loopback) {
      if (auto it = loopback_owner.find(*parsed->loopback); it != loopback_owner.end()) {
        conflicts.push_back("loopback " + parsed->loopback->str() + " is already used by " + it->second);
      }
    }
    if (!conflicts.empty()) {
      std::string joined;
      for (const std::string& c : conflicts) joined += (joined.empty() ? "" : "\n") + c;
      e.error = joined;
      entries.push_back(std::move(e));
      continue;
    }
    name_owner.emplace(e.name, f.path);
    machine_owner.emplace(parsed->machine, f.path);
    if (parsed->loopback) loopback_owner.emplace(*parsed->loopback, f.path);
    e.spec = std::move(*parsed);
    entries.push_back(std::move(e));
  }
  if (memo != nullptr) memo->sweep();
  std::stable_sort(entries.begin(), entries.end(),
                   [](const SpecEntry& a, const SpecEntry& b) { return a.name < b.name; });
  return entries;
}

}  // namespace bs
