// What the spec folder's whole-set updates (SpecSource) mean for each bottle: its desired state
// as last read and validly parsed, whether its file is present, and the removal grace of one
// that is gone.
#include <spdlog/spdlog.h>

#include "supervisor/supervisor.h"

namespace bs::supervisor {

void Supervisor::apply_specs(SpecScan scan) {
  // The same files as last time (all unchanged since read) under the same pool resolve to the
  // same entries, which the bottles already hold: nothing to do (a no-op resync's usual case).
  // The cache only vouches for the files it holds (it keeps a file only once it has settled), so
  // a file deleted before it was cached is no "miss": the shortcut also needs the files present
  // to be exactly those of the bottles that have one.
  if (scan.unchanged) {
    std::size_t with_file = 0;
    for (const auto& [_, b] : bottles_) with_file += b.file_present ? 1 : 0;
    bool same_files = with_file == scan.files.size();
    for (const auto& [name, b] : bottles_) same_files = same_files && (b.file_present || removal_.absent(name));
    for (std::size_t i = 0; same_files && i < scan.files.size(); ++i) {
      const Bottle* b = bottles_.find(bottle_name_of(scan.files[i].file_name));
      same_files = b != nullptr && b->file_present && b->spec_path == scan.files[i].path;
    }
    if (same_files) return;
  }

  std::map<std::string, std::string> texts;  // by path: what a valid spec is saved as
  for (const SpecFile& f : scan.files) texts[f.path] = f.text;
  std::vector<SpecEntry> entries = specs_.resolve(std::move(scan.files));
  std::set<std::string> seen;
  for (SpecEntry& e : entries) {
    seen.insert(e.name);
    Bottle& b = bottles_.get(e.name);
    bool changed = !b.file_present || b.spec_path != e.path || b.spec_error != e.error;
    b.file_present = true;
    removal_.end(e.name);
    b.spec_path = e.path;
    if (e.spec) {
      bool spec_changed = !b.spec || !(*b.spec == *e.spec);
      if (spec_changed) {
        // Kept so that a spec found invalid at our next start still has a desired state.
        if (auto err = records_.save_spec({e.name, e.path, texts[e.path], time_.wall_ms()})) {
          spdlog::warn("bottle {}: cannot save its spec: {}", e.name, *err);
        }
      }
      changed = changed || spec_changed;
      b.spec = std::move(e.spec);
      b.spec_error.reset();
    } else {
      if (b.spec_error != e.error) spdlog::warn("bottle {}: {}", e.name, one_line(e.error.value_or("invalid")));
      b.spec_error = e.error;  // keeps its last valid desired state
    }
    if (changed) queue_.add(e.name);
  }
  bottles_.reindex_claims();
  for (auto& [name, b] : bottles_) {
    if (seen.count(name) != 0) continue;
    if (b.file_present || !removal_.absent(name)) mark_absent(name, b);
  }
}

void Supervisor::hold_all() {
  // Every bottle is held: confinement still enforced, nothing begun, stopped or deleted.
  removal_.hold();
  for (const auto& [name, _] : bottles_) queue_.add(name);
}

void Supervisor::resume_all() {
  // The time the folder could not be read does not count: a file that is still gone gets a
  // whole removal grace from now.
  removal_.resume();
  for (const auto& [name, _] : bottles_) queue_.add(name);
}

void Supervisor::mark_absent(const std::string& name, Bottle& b) {
  b.file_present = false;
  b.spec_error.reset();  // a problem of a file that is gone
  removal_.begin(name);
  queue_.add(name);  // held at once: nothing new is begun for it during the grace
}

}  // namespace bs::supervisor
