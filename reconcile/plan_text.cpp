// Policies as text, for logs, events and tests.
#include "reconcile/plan.h"

namespace bs {

std::string Policy::str() const {
  switch (kind) {
    case Kind::Unrestricted: return "null (unrestricted)";
    case Kind::List: return to_string(list);
    case Kind::Invalid: return "unreadable (" + error + ")";
    case Kind::Pending: return "pending (" + error + ")";
  }
  return "?";
}

}  // namespace bs
