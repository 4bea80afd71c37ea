#include "supervisor/state_reader.h"

#include <thread>

namespace bs::supervisor {

bs::Expected<store::StateStore, store::StoreError> open_state_read_only(const std::string& state_dir) {
  const auto give_up = std::chrono::steady_clock::now() + kStateBusyPatience;
  while (true) {
    auto db = store::StateStore::open_read_only(state_dir);
    if (db || db.error().kind != store::StoreError::Kind::Busy || std::chrono::steady_clock::now() >= give_up) {
      return db;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded by the patience above
  }
}

}  // namespace bs::supervisor
