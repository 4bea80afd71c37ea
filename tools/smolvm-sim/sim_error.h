// smolvm's user-facing errors (src/data/errors.rs): each is printed as "Error: <display>" and the
// process exits 1; clap's argument errors print "error: ..." and exit 2.
#pragma once

#include <string>
#include <utility>

namespace bs::sim {

struct SimError {
  std::string display;  // what follows "Error: " (or "error: " for usage errors)
  int exit_code = 1;
};

inline SimError vm_not_found(const std::string& name) { return {"vm not found: " + name, 1}; }
inline SimError config_error(const std::string& op, const std::string& reason) {
  return {"config operation failed: " + op + ": " + reason, 1};
}
inline SimError agent_error(const std::string& op, const std::string& reason) {
  return {"agent operation failed: " + op + ": " + reason, 1};
}
inline SimError database_error(const std::string& op, const std::string& reason) {
  return {"database operation failed: " + op + ": " + reason, 1};
}
inline SimError database_unavailable(const std::string& msg) {
  return {"database not available: " + msg, 1};
}
inline SimError storage_error(const std::string& op, const std::string& reason) {
  return {"storage operation failed: " + op + ": " + reason, 1};
}
// A clap usage error: the text after "error: ", exit 2.
inline SimError usage_error(std::string text) { return {std::move(text), 2}; }

// Rust's io::Error Display: "<strerror> (os error N)".
std::string os_error_text(int err);

}  // namespace bs::sim
