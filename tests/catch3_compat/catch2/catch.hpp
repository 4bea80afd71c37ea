// Catch2 v3 behind the v2 single header's name and spelling, so the tests build with either
// (Debian 12 ships Catch2 2.13, Debian 13 ships 3.x). Only on the include path when CMake found
// v3. What the tests use of v2 that v3 spells otherwise: the string matchers as Catch::Contains,
// Catch::StartsWith, Catch::EndsWith (v2 pulls Catch::Matchers into Catch; v3's Matchers::Contains
// is the range matcher, its string one is ContainsSubstring).
#pragma once

#include <string>

#include <catch2/catch_all.hpp>

namespace Catch {

inline Matchers::StringContainsMatcher Contains(const std::string& str,
                                                CaseSensitive cs = CaseSensitive::Yes) {
  return Matchers::ContainsSubstring(str, cs);
}
using Matchers::EndsWith;
using Matchers::StartsWith;

}  // namespace Catch
