// Values several reconcile tests share. Defined once here: the test binaries are unity builds,
// where two files' file-local helpers of the same name would collide.
#pragma once

#include "reconcile/cidr.h"

namespace bs::test {

inline const Ipv4Pool kPool{Ipv4{0x7f000010}, 28};  // 127.0.0.16/28, bot-bottle's pool

inline Ipv4 ip(const char* s) { return *parse_ipv4(s); }

}  // namespace bs::test
