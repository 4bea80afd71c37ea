#include "supervisor/control_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "platform/peer_credentials.h"
#include "platform/unique_fd.h"
#include "platform/unix_socket.h"
#include "supervisor/control_socket_path.h"

namespace bs::supervisor {
namespace {

using Clock = std::chrono::steady_clock;

// The daemon's replies are small; this only stops a runaway peer from eating our memory.
constexpr std::size_t kMaxReplyBytes = 64u * 1024u * 1024u;

ClientError error(ClientError::Kind kind, std::string message) { return ClientError{kind, std::move(message)}; }

// Waits for `events` on fd until the deadline. 1 = ready, 0 = timed out, -1 = error (errno).
int wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return 0;
    pollfd p{fd, events, 0};
    int rc = poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
    if (rc > 0) return 1;
    if (rc < 0 && errno != EINTR) return -1;
  }
}

std::string describe(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

bs::Expected<std::string, ClientError> control_exchange(const std::string& socket_path,
                                                        const std::string& request_json,
                                                        std::chrono::milliseconds timeout) {
  using Kind = ClientError::Kind;
  const auto deadline = Clock::now() + timeout;
  const std::string not_running = "bottle-supervisor is not running (no daemon at " + socket_path + ")";
  if (auto err = check_socket_path_length(socket_path)) return bs::unexpected(error(Kind::Other, *err));

  platform::UniqueFd fd(platform::unix_stream_socket());
  if (fd.get() < 0) return bs::unexpected(error(Kind::Other, std::string("cannot create a socket: ") + std::strerror(errno)));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == ENOENT || err == ECONNREFUSED) return bs::unexpected(error(Kind::NotRunning, not_running));
    if (err == EAGAIN) {
      return bs::unexpected(error(Kind::Timeout, "bottle-supervisor at " + socket_path +
                                                     " is not accepting connections (its queue is full)"));
    }
    return bs::unexpected(error(Kind::Other, "cannot connect to " + socket_path + ": " + std::strerror(err)));
  }
  // Whoever bound the path answers: only a daemon of our own uid may see the request or be
  // believed. (The daemon checks us the same way.)
  const auto peer = platform::peer_credentials(fd.get());
  if (!peer || peer->uid != static_cast<long long>(::geteuid())) {
    return bs::unexpected(error(Kind::Untrusted,
                                "refusing to talk to " + socket_path + ": it is served by uid " +
                                    (peer ? std::to_string(peer->uid) : std::string("(unknown)")) +
                                    (peer && peer->pid > 0 ? " (pid " + std::to_string(peer->pid) + ")" : "") +
                                    ", not by you (uid " + std::to_string(::geteuid()) + ")"));
  }

  const std::string line = request_json + "\n";
  std::size_t sent = 0;
  bool send_failed = false;
  while (sent < line.size()) {
    ssize_t n = send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      int w = wait_for(fd.get(), POLLOUT, deadline);
      if (w == 0) return bs::unexpected(error(Kind::Timeout, "timed out sending the request to " + socket_path));
      if (w > 0) continue;
    }
    // The daemon may have refused the request and closed: its reply says why, so read it.
    send_failed = true;
    break;
  }

  std::string reply;
  char buf[16 * 1024];
  while (reply.find('\n') == std::string::npos) {
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      reply.append(buf, static_cast<std::size_t>(n));
      if (reply.size() > kMaxReplyBytes) {
        return bs::unexpected(error(Kind::Protocol, "the reply from " + socket_path + " is too large"));
      }
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      int w = wait_for(fd.get(), POLLIN, deadline);
      if (w == 0) {
        return bs::unexpected(error(Kind::Timeout, "no reply from bottle-supervisor at " + socket_path +
                                                       " within " + describe(timeout)));
      }
      if (w > 0) continue;
    }
    break;  // ECONNRESET and friends: whatever arrived before still counts
  }
  auto nl = reply.find('\n');
  if (nl == std::string::npos) {
    std::string why = send_failed ? "the daemon closed the connection before the request was sent"
                                  : "the daemon closed the connection without a reply";
    return bs::unexpected(error(Kind::Protocol, why + " (" + socket_path + ")"));
  }
  reply.resize(nl);
  return reply;
}

bs::Expected<nlohmann::json, ClientError> control_request(const std::string& socket_path,
                                                          const nlohmann::json& request,
                                                          std::chrono::milliseconds timeout) {
  auto line = control_exchange(socket_path,
                               request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), timeout);
  if (!line) return bs::unexpected(line.error());
  auto j = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return bs::unexpected(error(ClientError::Kind::Protocol, "the reply from " + socket_path + " is not a JSON object"));
  }
  return j;
}

}  // namespace bs::supervisor
