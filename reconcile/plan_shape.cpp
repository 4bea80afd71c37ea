// What a machine is created with, and how a change of it is recorded and described: the store
// keeps a fingerprint of the shape, and a new one recreates the machine (CONTRACT.md §3).
#include <algorithm>
#include <sstream>

#include "reconcile/plan.h"

namespace bs {

MachineShape shape_of(const BottleSpec& s) { return MachineShape{s.image, s.from, s.cpus, s.memory_mib}; }

std::string machine_fingerprint(const MachineShape& s) {
  std::string f = s.image ? "image=" + *s.image : "from=" + s.from.value_or("");
  f += " cpus=" + std::to_string(s.cpus) + " memory=" + std::to_string(s.memory_mib);
  return f;
}

std::string machine_fingerprint(const BottleSpec& s) { return machine_fingerprint(shape_of(s)); }

std::string describe_fingerprint_change(const std::string& before, const std::string& after) {
  auto fields = [](const std::string& f) {
    std::vector<std::string> out;
    std::istringstream in(f);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };
  auto b = fields(before), a = fields(after);
  std::string out;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string x = i < b.size() ? b[i] : "", y = i < a.size() ? a[i] : "";
    if (x == y) continue;
    if (!out.empty()) out += ", ";
    out += x + " -> " + y;
  }
  return out;
}

}  // namespace bs
