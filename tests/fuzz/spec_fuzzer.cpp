// bs::parse_bottle_spec on arbitrary bytes: never throws or crashes, and what it accepts is
// a spec the rest of the supervisor may trust without re-checking (CONTRACT.md §3).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>

#include "fuzz_check.h"
#include "reconcile/spec.h"

namespace {

const std::string kPath = "/fuzz/bottles/fuzz-1.toml";
const bs::Ipv4Pool kPool = {bs::Ipv4{0x7f000010}, 28};  // the default 127.0.0.16/28

void check_accepted(const bs::BottleSpec& s) {
  FUZZ_CHECK(s.name == "fuzz-1" && s.path == kPath, "name and path come from the file");
  FUZZ_CHECK(bs::valid_machine_name(s.machine), "machine name is valid");
  FUZZ_CHECK(s.image.has_value() != s.from.has_value(), "exactly one of image / from");
  if (s.from) FUZZ_CHECK(!s.from->empty() && s.from->front() == '/', "from is absolute");
  if (s.image) FUZZ_CHECK(!s.image->empty() && s.image->front() != '-', "image is not empty nor a flag");
  FUZZ_CHECK(s.cpus >= bs::kMinCpus && s.cpus <= bs::kMaxCpus, "cpus in range");
  FUZZ_CHECK(s.memory_mib >= bs::kMinMemoryMib && s.memory_mib <= bs::kMaxMemoryMib, "memory in range");
  if (s.loopback) {
    FUZZ_CHECK(kPool.contains(*s.loopback) && kPool.leasable(*s.loopback), "fixed loopback is leasable");
  }
  FUZZ_CHECK(bs::make_allowlist(s.egress_allow) == s.egress_allow, "egress.allow is canonical");
}

void check_refused(const std::vector<bs::SpecDiag>& diags) {
  FUZZ_CHECK(!diags.empty(), "a refusal says why");
  for (std::size_t i = 0; i < diags.size(); ++i) {
    const auto& d = diags[i];
    FUZZ_CHECK(d.file == kPath, "every diagnostic names the file");
    FUZZ_CHECK(d.line >= 1 && d.column >= 1, "positions are 1-based");
    FUZZ_CHECK(!d.message.empty(), "every diagnostic says what is wrong");
    // A value echoed in a message must not be able to forge a second log line.
    FUZZ_CHECK(d.message.find('\n') == std::string::npos && d.message.find('\r') == std::string::npos,
               "a diagnostic is one line");
    if (i > 0) {
      const auto& p = diags[i - 1];
      FUZZ_CHECK(std::tie(p.line, p.column) <= std::tie(d.line, d.column), "diagnostics sorted by position");
    }
  }
  (void)bs::format_diags(diags);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = bs::parse_bottle_spec(kPath, text, kPool);
  if (spec) {
    check_accepted(*spec);
    // Parsing is a function of the text: the same bytes give the same spec.
    auto again = bs::parse_bottle_spec(kPath, text, kPool);
    FUZZ_CHECK(again && *again == *spec, "parsing is deterministic");
  } else {
    check_refused(spec.error());
  }
  return 0;
}
