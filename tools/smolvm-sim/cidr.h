// smolvm's parse_cidr (src/smolfile.rs, via ipnet): "a.b.c.d/n" or a bare address (-> /32, /128),
// printed back in canonical form with host bits kept ("10.1.2.3/8" stays as is).
#pragma once

#include <string>

#include "reconcile/expected.h"

namespace bs::sim {

// Error text is clap's value-parser reason:
// "invalid CIDR '<s>': expected format like 10.0.0.0/8 or 1.1.1.1".
Expected<std::string, std::string> parse_cidr(const std::string& s);

}  // namespace bs::sim
