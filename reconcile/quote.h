// Values echoed back in error messages are quoted TOML-style, so a message shows exactly what was
// written (including stray spaces) and a hostile value cannot forge extra lines in a log.
#pragma once

#include <string>
#include <string_view>

namespace bs {

// "abc" -> "\"abc\""; '"' and '\\' escaped, control characters and DEL as \n, \t or \uXXXX.
std::string quoted(std::string_view s);

}  // namespace bs
