// SHA-256, for smolvm's VM data dir names and the per-DB lock file name (libmd's <sha2.h>).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bs::smolvm {

std::array<std::uint8_t, 32> sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

}  // namespace bs::smolvm
