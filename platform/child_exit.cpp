#include <csignal>
#include <string>

#include "platform/reaper.h"

namespace bs::platform {
namespace {

// The names of the signals a VM dies of in practice; others are given by number.
const char* signal_name(int sig) {
  switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGPIPE: return "SIGPIPE";
    default: return nullptr;
  }
}

}  // namespace

std::string ChildExit::str() const {
  if (!signalled) return "exit code " + std::to_string(value);
  const char* name = signal_name(value);
  return "killed by " + (name != nullptr ? std::string(name) : "signal " + std::to_string(value));
}

}  // namespace bs::platform
