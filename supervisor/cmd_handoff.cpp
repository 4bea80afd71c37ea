// `adopt NAME --machine M` and `release NAME`: one request to the running daemon (the daemon owns
// the leases and the managed machines; a second writer would race it).
#include <chrono>

#include <nlohmann/json.hpp>

#include "supervisor/commands.h"
#include "supervisor/control_client.h"

namespace bs::supervisor {

int cmd_handoff(const Settings& settings, const Invocation& inv, CommandIo& io) {
  const bool adopt = inv.command == Command::Adopt;
  nlohmann::json request = {{"cmd", adopt ? "adopt" : "release"}, {"bottle", inv.operands.at(0)}};
  if (adopt) request["machine"] = inv.machine.value_or("");
  auto line = control_exchange(settings.socket_path, request.dump(), std::chrono::milliseconds(15'000));
  if (!line) {
    if (line.error().kind == ClientError::Kind::NotRunning) {
      print_error(io.err, line.error().message,
                  "start it with 'systemctl --user start bottle-supervisor' or 'bottle-supervisor run'");
      return kExitNotRunning;
    }
    print_error(io.err, line.error().message);
    return kExitFailed;
  }
  nlohmann::json reply = nlohmann::json::parse(*line, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    print_error(io.err, "the reply from " + settings.socket_path + " is not a JSON object");
    return kExitFailed;
  }
  const auto ok = reply.find("ok");
  const bool done = ok != reply.end() && ok->is_boolean() && ok->get<bool>();
  if (inv.json) io.out << reply.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (!done) {
    auto e = reply.find("error");
    print_error(io.err, e != reply.end() && e->is_string() ? e->get<std::string>() : "the daemon refused the request");
    return kExitFailed;
  }
  if (!inv.json) {
    auto str = [&](const char* key) {
      auto it = reply.find(key);
      return it != reply.end() && it->is_string() ? it->get<std::string>() : std::string("-");
    };
    if (adopt) {
      io.out << "adopted machine " << str("machine") << " as bottle " << str("bottle") << " (address "
             << str("address") << ")\n";
      if (str("note") != "-") io.out << "note: " << str("note") << "\n";
    } else {
      io.out << "released bottle " << str("bottle") << " (address " << str("address")
             << "); its machine keeps running, unmanaged\n";
    }
  }
  io.out.flush();
  return kExitOk;
}

}  // namespace bs::supervisor
