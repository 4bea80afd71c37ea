// The control socket's request line, parsed. Pure (no I/O, no libuv) so it can be unit-tested and
// fuzzed: any bytes give a ControlRequest or an error message, never an exception or a crash.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/expected.h"

namespace bs::supervisor {

struct ControlRequest {
  std::string cmd;                   // "status", "reconcile", ...
  std::vector<std::string> bottles;  // optional filter; empty = all
  nlohmann::json body;               // the whole request object
};

// One request line without its '\n' (a trailing '\r' is dropped): a JSON object with a string
// "cmd" and an optional "bottles" list of strings (null = absent). The error is the message sent
// back to the client ("malformed request: ...").
bs::Expected<ControlRequest, std::string> parse_control_request(std::string_view line);

}  // namespace bs::supervisor
