// A fresh directory for one test, removed with everything in it when the test ends, also when it
// fails. The one copy the test folders, the integration harness and the benchmarks share.
#pragma once

#include <string>

namespace bs::test {

class TempDir {
 public:
  // <parent>/<prefix>-XXXXXX, made with mkdtemp (mode 0700). An empty `parent` is the system's
  // temporary directory ($TMPDIR, else /tmp); callers that put a unix socket inside pass "/tmp",
  // whose short path keeps the socket's within the 108 bytes a socket address holds.
  explicit TempDir(const std::string& prefix = "bs-test", const std::string& parent = "");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }
  // Leaves the directory behind at destruction, for a look after a failed run.
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace bs::test
