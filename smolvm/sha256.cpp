#include "smolvm/sha256.h"

#include <sha2.h>  // libmd (Debian libmd-dev; Homebrew libmd)

namespace bs::smolvm {

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  static_assert(SHA256_DIGEST_LENGTH == 32);
  SHA2_CTX ctx;
  SHA256Init(&ctx);
  SHA256Update(&ctx, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  std::array<std::uint8_t, 32> digest{};
  SHA256Final(digest.data(), &ctx);
  return digest;
}

std::string sha256_hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (std::uint8_t b : sha256(data)) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace bs::smolvm
