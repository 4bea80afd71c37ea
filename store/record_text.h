// The text a typed record field has in its SQLite column. These formats are fixed: state DBs
// written by earlier builds must read unchanged, and the integration tests read the columns.
// Reading fails with a reason that quotes the value; the store adds the table and the row.
#pragma once

#include <string>

#include "reconcile/cidr.h"
#include "reconcile/expected.h"
#include "reconcile/spec.h"
#include "store/state_store.h"

namespace bs::store {

// leases.address: a dotted quad ("127.0.0.16"), written with Ipv4::str().
Expected<Ipv4, std::string> address_from_text(const std::string& text);

// machines.origin: "created" | "adopted" (the schema's CHECK says so too).
Expected<Origin, std::string> origin_from_text(const std::string& text);

// machines.on_remove: "delete" | "keep", as in specs (to_string(OnRemove) writes it).
Expected<OnRemove, std::string> on_remove_from_text(const std::string& text);

// verified_vms.allowlist: the canonical CIDRs joined by '\n' (a CIDR never holds one); an empty
// allowlist is the empty text. Read back canonical: a valid but unsorted list is sorted.
std::string allowlist_text(const Allowlist& a);
Expected<Allowlist, std::string> allowlist_from_text(const std::string& text);

}  // namespace bs::store
