// `leases`: the loopback addresses the supervisor has leased, read straight from the state DB
// (read-only, like `events`), for launchers such as bot-bottle that pick addresses from the same
// pool: an address listed here is a managed bottle's, and a launcher must not allow it to its own
// machines (the supervisor reports that as a lease conflict and refuses to start the bottle).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "store/state_store.h"
#include "supervisor/commands.h"
#include "supervisor/state_reader.h"
#include "supervisor/status_table.h"

namespace bs::supervisor {

int cmd_leases(const Settings& settings, const Invocation& inv, CommandIo& io) {
  nlohmann::ordered_json doc;
  doc["state_dir"] = settings.state_dir;
  doc["pool"] = settings.config.pool.str();
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  auto db = open_state_read_only(settings.state_dir);
  if (!db && db.error().kind != store::StoreError::Kind::Missing) {
    print_error(io.err, "cannot read the leases: " + db.error().message);
    return kExitFailed;
  }
  if (db) {
    auto leases = db->leases();
    auto machines = db->machines();
    if (!leases || !machines) {
      print_error(io.err, "cannot read the leases: " + (!leases ? leases.error() : machines.error()).message);
      return kExitFailed;
    }
    for (const store::Lease& l : *leases) {
      nlohmann::ordered_json j;
      j["bottle"] = l.bottle;
      j["address"] = l.address.str();
      nlohmann::ordered_json names = nlohmann::ordered_json::array();
      for (const store::ManagedMachine& m : *machines) {
        if (m.bottle == l.bottle) names.push_back(m.machine);
      }
      j["machines"] = std::move(names);
      j["since"] = store::format_rfc3339(l.acquired_ms);
      list.push_back(std::move(j));
    }
  }
  // No state DB yet: the supervisor never leased anything here.
  if (inv.json) {
    doc["leases"] = std::move(list);
    io.out << doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
  } else {
    io.out << "BOTTLE                ADDRESS          MACHINE\n";
    for (const auto& j : list) {
      std::string machines;
      for (const auto& m : j["machines"]) machines += (machines.empty() ? "" : ",") + m.get<std::string>();
      std::string bottle = terminal_safe(j["bottle"].get<std::string>());
      std::string address = j["address"].get<std::string>();
      bottle += std::string(bottle.size() < 22 ? 22 - bottle.size() : 1, ' ');
      address += std::string(address.size() < 17 ? 17 - address.size() : 1, ' ');
      io.out << bottle << address << (machines.empty() ? "-" : terminal_safe(machines)) << "\n";
    }
  }
  io.out.flush();
  return kExitOk;
}

}  // namespace bs::supervisor
