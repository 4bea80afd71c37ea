// The one error type of the supervisor's own state store: a kind a caller can branch on (retry a
// Busy later, report Full loudly) and a message a user can act on.
#pragma once

#include <string>

namespace bs::store {

struct StoreError {
  enum class Kind {
    Busy,      // another connection holds the write lock past our short busy timeout: retry later
    Full,      // the filesystem holding state.db is full
    ReadOnly,  // state.db or its directory cannot be written
    Corrupt,   // state.db is not a valid database any more
    Conflict,  // the write would break an invariant another record holds (an address already leased)
    Missing,   // the state dir or state.db does not exist (a reader never creates them)
    BadValue,  // a row holds text this build cannot read back (edited by hand?); the message
               // names the table, the row's key and the value, for fixing or deleting the row
    Other,
  };
  Kind kind = Kind::Other;
  std::string message;
};

}  // namespace bs::store
