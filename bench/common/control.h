// The benchmarks' side of the daemon's control socket (one JSON line out, one back), kept here
// rather than borrowed from the CLI so a benchmark measures the daemon, not the CLI's start-up.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/expected.h"

namespace bs::bench {

// Sends `request` and returns the reply object ({"ok":true,"status":{...}} on success).
bs::Expected<nlohmann::json, std::string> ask(const std::string& socket_path, const nlohmann::json& request,
                                              std::chrono::milliseconds timeout);

// {"cmd":"status"} (optionally filtered to `bottles`): the §8 document, or the error.
bs::Expected<nlohmann::json, std::string> status(const std::string& socket_path,
                                                 const std::vector<std::string>& bottles = {},
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

// {"cmd":"reconcile"}: returns once the daemon finished a full pass, with the document after it.
bs::Expected<nlohmann::json, std::string> reconcile(const std::string& socket_path,
                                                    std::chrono::milliseconds timeout);

// The bottle's entry in a status document, or nullptr.
const nlohmann::json* find_bottle(const nlohmann::json& doc, const std::string& name);

// Running, confinement verified and converged: what "this spec is done" means for a bottle
// whose desired state is running.
bool running_verified(const nlohmann::json& bottle);
// Converged with no error, whatever the run state.
bool settled(const nlohmann::json& bottle);

// Every bottle of the document settled (and at least `expected` of them listed).
bool all_settled(const nlohmann::json& doc, std::size_t expected);

}  // namespace bs::bench
