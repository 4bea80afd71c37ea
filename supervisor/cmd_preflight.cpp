// `preflight`: one line per host check, "ok", "warn" or "FAIL", each problem's hints below it.
#include "supervisor/commands.h"
#include "supervisor/preflight_checks.h"
#include "supervisor/status_table.h"

namespace bs::supervisor {

int cmd_preflight(const Settings& settings, const Invocation& /*inv*/, CommandIo& io) {
  std::size_t failed = 0;
  for (const Check& c : run_preflight_checks(settings)) {
    const char* level = c.level == Check::Level::Ok ? "ok  " : c.level == Check::Level::Warn ? "warn" : "FAIL";
    io.out << level << "  " << terminal_safe(c.message) << "\n";
    for (const auto& hint : c.hints) io.out << "      hint: " << terminal_safe(hint) << "\n";
    if (c.level == Check::Level::Fail) ++failed;
  }
  io.out.flush();
  if (failed == 0) return kExitOk;
  print_error(io.err, std::to_string(failed) + (failed == 1 ? " check FAILed" : " checks FAILed") +
                          ": the supervisor cannot keep bottles confined on this host");
  return kExitFailed;
}

}  // namespace bs::supervisor
