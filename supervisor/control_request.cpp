#include "supervisor/control_request.h"

#include <utility>

namespace bs::supervisor {

using nlohmann::json;

bs::Expected<ControlRequest, std::string> parse_control_request(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bs::unexpected(std::string("malformed request: not valid JSON"));
  if (!j.is_object()) {
    return bs::unexpected(std::string(R"(malformed request: expected an object like {"cmd":"status"})"));
  }
  ControlRequest req;
  auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string()) {
    return bs::unexpected(std::string("malformed request: 'cmd' must be a string"));
  }
  req.cmd = cmd->get<std::string>();
  if (auto b = j.find("bottles"); b != j.end() && !b->is_null()) {
    if (!b->is_array()) return bs::unexpected(std::string("malformed request: 'bottles' must be a list of names"));
    for (const auto& name : *b) {
      if (!name.is_string()) {
        return bs::unexpected(std::string("malformed request: 'bottles' must be a list of names"));
      }
      req.bottles.push_back(name.get<std::string>());
    }
  }
  req.body = std::move(j);
  return req;
}

}  // namespace bs::supervisor
