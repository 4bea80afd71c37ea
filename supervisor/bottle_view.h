// `status NAME`: one bottle described, field by field, with why it is not converged and its
// last events. Pure: the caller reads the status document and the audit log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/state_store.h"

namespace bs::supervisor {

// `bottle`: one entry of the status document's `bottles`; `events`: its last events, oldest
// first. Every line ends with '\n'; text from smolvm is made terminal-safe.
std::string render_bottle_view(const nlohmann::json& bottle, const std::vector<store::Event>& events,
                               std::int64_t now_ms);

}  // namespace bs::supervisor
