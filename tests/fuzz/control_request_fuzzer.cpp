// The control socket's request parser on arbitrary bytes (any local process of our uid can send
// them): never throws or crashes, and an accepted request is consistent with its body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "supervisor/control_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto req = bs::supervisor::parse_control_request(line);
  if (!req) {
    FUZZ_CHECK(req.error().rfind("malformed request: ", 0) == 0, "errors say the request is malformed");
    return 0;
  }
  FUZZ_CHECK(req->body.is_object(), "the body is an object");
  FUZZ_CHECK(req->body.at("cmd") == req->cmd, "cmd is the body's cmd");
  const auto& bottles = req->body.contains("bottles") ? req->body.at("bottles") : nlohmann::json();
  FUZZ_CHECK(bottles.is_null() ? req->bottles.empty() : bottles.size() == req->bottles.size(),
             "the filter holds every listed name");
  // The daemon echoes request fields in replies: dumping must not throw on what was accepted.
  (void)req->body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
