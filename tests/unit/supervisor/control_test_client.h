// Clients for the control socket tests: control_request on a helper thread (it blocks while the
// test thread turns the server's loop), or a raw socket for what control_request never does
// (no newline, garbage, 10 MB).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <future>
#include <optional>

#include "cli_test_support.h"
#include "supervisor/control_client.h"
#include "supervisor/control_server.h"

namespace bs::cli_test {

using bs::supervisor::ClientError;
using bs::supervisor::control_request;
using bs::supervisor::ControlLimits;
using bs::supervisor::ControlReply;
using bs::supervisor::ControlRequest;
using bs::supervisor::ControlServer;
using nlohmann::json;
using namespace std::chrono_literals;

// A raw client, for what control_request never does (no newline, garbage, 10 MB).
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  // Sends as much as the peer takes; false once it stopped taking (EPIPE/ECONNRESET).
  bool send_all(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n < 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Everything up to EOF (or the deadline). nullopt: the deadline passed with the peer still open.
  std::optional<std::string> read_to_eof(std::chrono::milliseconds timeout) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      return got;  // EOF, or ECONNRESET after the server dropped unread input
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

inline json status_of(const ControlRequest& req) { return json{{"ok", true}, {"status", {{"cmd", req.cmd}, {"bottles", req.bottles}}}}; }

inline std::unique_ptr<ControlServer> serve(bs::cli_test::TestLoop& loop, const std::string& path,
                                     bs::supervisor::ControlHandler handler, ControlLimits limits = {}) {
  auto server = ControlServer::listen(loop.get(), path, std::move(handler), limits);
  REQUIRE(server.has_value());
  return std::move(*server);
}

inline auto sync_handler() {
  return [](const ControlRequest& req, ControlReply reply) { reply(status_of(req)); };
}

template <class T>
bool ready(const std::future<T>& f) {
  return f.wait_for(0s) == std::future_status::ready;
}

// control_request on a helper thread; the test thread keeps the server's loop turning.
inline std::future<bs::Expected<json, ClientError>> ask(const std::string& path, json request,
                                                 std::chrono::milliseconds timeout = 5s) {
  return std::async(std::launch::async, [path, request = std::move(request), timeout] {
    return control_request(path, request, timeout);
  });
}

}  // namespace bs::cli_test

