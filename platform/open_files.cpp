#include "platform/open_files.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace bs::platform {

bs::Expected<unsigned long long, std::string> raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return bs::unexpected(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  if (lim.rlim_cur == lim.rlim_max) return static_cast<unsigned long long>(lim.rlim_cur);
  rlimit raised = lim;
  raised.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    return bs::unexpected(std::string("setrlimit(RLIMIT_NOFILE) to ") + std::to_string(lim.rlim_max) + ": " +
                          std::strerror(errno) + "; keeping " + std::to_string(lim.rlim_cur));
  }
  return static_cast<unsigned long long>(raised.rlim_cur);
}

}  // namespace bs::platform
