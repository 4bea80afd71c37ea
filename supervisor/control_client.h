// The CLI side of the control socket: connect, send one JSON line, read one JSON line back.
// Blocking on plain sockets (the CLI has no loop), with one deadline for the whole exchange.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "reconcile/expected.h"

namespace bs::supervisor {

struct ClientError {
  enum class Kind {
    NotRunning,  // no socket file, or nobody listening on it
    Timeout,     // no complete reply before the deadline
    Protocol,    // the daemon hung up early or sent something that is not a JSON object
    Untrusted,   // the socket is served by another uid: nothing was sent
    Other,       // anything else (permission denied, path too long, ...)
  };
  Kind kind = Kind::Other;
  std::string message;
};

// The daemon's reply object as sent (it may be {"ok":false,"error":...}: that is the caller's to
// read). NotRunning's message: "bottle-supervisor is not running (no daemon at <socket>)".
bs::Expected<nlohmann::json, ClientError> control_request(const std::string& socket_path,
                                                          const nlohmann::json& request,
                                                          std::chrono::milliseconds timeout);

// The same exchange at the byte level: sends request_json plus '\n' and returns the reply line
// (without '\n'), unparsed, e.g. to print it with the daemon's own key order.
bs::Expected<std::string, ClientError> control_exchange(const std::string& socket_path,
                                                        const std::string& request_json,
                                                        std::chrono::milliseconds timeout);

}  // namespace bs::supervisor
