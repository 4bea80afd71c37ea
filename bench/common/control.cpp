#include "bench/common/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bs::bench {
namespace {

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  Socket() : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

bool wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

}  // namespace

bs::Expected<nlohmann::json, std::string> ask(const std::string& socket_path, const nlohmann::json& request,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  Socket s;
  if (s.fd() < 0) return bs::unexpected(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) return bs::unexpected("socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return bs::unexpected("cannot connect to " + socket_path + ": " + std::strerror(errno));
  }
  std::string line = request.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    if (!wait_fd(s.fd(), POLLOUT, deadline)) return bs::unexpected(std::string("timed out sending the request"));
    ssize_t n = ::send(s.fd(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bs::unexpected(std::string("send: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[65536];
  while (reply.find('\n') == std::string::npos) {
    if (!wait_fd(s.fd(), POLLIN, deadline)) return bs::unexpected(std::string("timed out waiting for the reply"));
    ssize_t n = ::read(s.fd(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bs::unexpected(std::string("read: ") + std::strerror(errno));
    if (n == 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  if (auto nl = reply.find('\n'); nl != std::string::npos) reply.resize(nl);
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bs::unexpected("the daemon's reply is not a JSON object: " + reply);
  return j;
}

namespace {

bs::Expected<nlohmann::json, std::string> status_of(const bs::Expected<nlohmann::json, std::string>& reply) {
  if (!reply) return bs::unexpected(reply.error());
  if (!reply->value("ok", false) || !reply->contains("status")) {
    return bs::unexpected("the daemon refused: " + reply->dump());
  }
  return (*reply)["status"];
}

}  // namespace

bs::Expected<nlohmann::json, std::string> status(const std::string& socket_path,
                                                 const std::vector<std::string>& bottles,
                                                 std::chrono::milliseconds timeout) {
  nlohmann::json req = {{"cmd", "status"}};
  if (!bottles.empty()) req["bottles"] = bottles;
  return status_of(ask(socket_path, req, timeout));
}

bs::Expected<nlohmann::json, std::string> reconcile(const std::string& socket_path,
                                                    std::chrono::milliseconds timeout) {
  return status_of(ask(socket_path, {{"cmd", "reconcile"}}, timeout));
}

const nlohmann::json* find_bottle(const nlohmann::json& doc, const std::string& name) {
  if (!doc.contains("bottles")) return nullptr;
  for (const auto& b : doc["bottles"]) {
    if (b.value("name", "") == name) return &b;
  }
  return nullptr;
}

bool settled(const nlohmann::json& bottle) {
  return bottle.value("converged", false) && bottle["error"].is_null();
}

bool running_verified(const nlohmann::json& bottle) {
  return settled(bottle) && bottle.value("actual", "") == "running" &&
         bottle.value("confinement", "") == "verified";
}

bool all_settled(const nlohmann::json& doc, std::size_t expected) {
  if (!doc.contains("bottles") || doc["bottles"].size() < expected) return false;
  for (const auto& b : doc["bottles"]) {
    if (!settled(b)) return false;
  }
  return true;
}

}  // namespace bs::bench
