// SHA-256 (FIPS 180-4), only for smolvm's VM data dir names: no crypto library for one hash.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace bs::smolvm {

std::array<std::uint8_t, 32> sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

}  // namespace bs::smolvm
