// bottle-supervisor <command> [options]: parse the command line, resolve settings, dispatch.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "platform/env.h"
#include "supervisor/cli_args.h"
#include "supervisor/commands.h"
#include "supervisor/daemon.h"
#include "supervisor/logging.h"
#include "supervisor/settings.h"

namespace {

using namespace bs::supervisor;

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int dispatch(const Invocation& inv) {
  const auto env = bs::platform::process_env();
  auto settings = resolve_settings(inv.common, env);
  if (!settings) {
    print_error(std::cerr, settings.error(),
                inv.common.config ? "" : "fix the config file, or point at another with --config FILE");
    return kExitFailed;
  }
  CommandIo io{std::cout, std::cerr, isatty(STDOUT_FILENO) == 1, env, &wall_clock_ms};

  const Command command = *inv.command;
  if (command == Command::Run) {
    init_logging(settings->config.log_level, env);
    return run_daemon(*settings, inv.common, RunMode::Daemon);
  }
  if (command == Command::Reconcile && inv.once) {
    init_logging(settings->config.log_level, env);
    return cmd_reconcile_once(*settings, inv, io, [&] { return run_daemon(*settings, inv.common, RunMode::Once); });
  }
  // The client commands report through their own output; only real trouble reaches the log.
  init_logging("warn", env);
  switch (command) {
    case Command::Status: return cmd_status(*settings, inv, io);
    case Command::Reconcile: return cmd_reconcile_remote(*settings, inv, io);
    case Command::Events: return cmd_events(*settings, inv, io);
    case Command::Validate: return cmd_validate(*settings, inv, io);
    case Command::Preflight: return cmd_preflight(*settings, inv, io);
    case Command::Leases: return cmd_leases(*settings, inv, io);
    case Command::Adopt:
    case Command::Release: return cmd_handoff(*settings, inv, io);
    case Command::Run: break;
  }
  return kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  auto inv = parse_args(args);
  if (!inv) {
    print_error(std::cerr, inv.error().message, inv.error().hint);
    return kExitUsage;
  }
  switch (inv->action) {
    case Invocation::Action::Version:
      std::cout << "bottle-supervisor " BS_VERSION "\n";
      return kExitOk;
    case Invocation::Action::Help:
      std::cout << usage_text(inv->command);
      return kExitOk;
    case Invocation::Action::Execute: break;
  }
  try {
    return dispatch(*inv);
  } catch (const std::exception& e) {
    // Nothing should throw this far; if something does, still end with one honest error line.
    print_error(std::cerr, std::string("unexpected failure: ") + e.what());
    return kExitFailed;
  }
}
