// The daemon's control socket: a Unix stream socket on the libuv loop. A client sends ONE line of
// JSON ({"cmd":"status","bottles":["a"]}), gets ONE line of JSON back, and the connection closes.
//
// Only the daemon's own uid may talk to it: the folder is 0700, the socket 0600, and every
// accepted connection's peer uid (SO_PEERCRED) is checked anyway. No client can stall the loop or
// exhaust memory: the request line is capped, must arrive within a timeout, the reply must be
// taken within a timeout, and there is a cap on open connections.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reconcile/expected.h"
#include "supervisor/control_request.h"
#include "supervisor/log_throttle.h"
#include "supervisor/uv_handle.h"

namespace bs::supervisor {

// Sends the one reply of a request. It may be called later (e.g. when a reconcile pass ends), at
// most once (further calls are ignored), and it is harmless when the client is gone. Dropping
// every copy without calling it closes the connection.
using ControlReply = std::function<void(const nlohmann::json&)>;
using ControlHandler = std::function<void(const ControlRequest&, ControlReply)>;

struct ControlLimits {
  std::chrono::milliseconds request_timeout{5000};  // to receive the request line
  std::chrono::milliseconds write_timeout{5000};    // for the client to take the reply
  std::size_t max_connections = 32;                 // more are closed at once
  std::size_t max_request_bytes = 64 * 1024;        // the request line, without its newline
};

class ControlServer {
 public:
  // Prepares the folder (control_socket_path.h), replaces a stale socket, binds with mode 0600
  // and listens. SIGPIPE is ignored from then on (a client that hangs up must not kill us).
  static bs::Expected<std::unique_ptr<ControlServer>, std::string> listen(
      uv_loop_t* loop, const std::string& path, ControlHandler handler, ControlLimits limits = {});

  // Closes the listener and every connection and removes the socket file. The loop must run
  // afterwards so the close callbacks can free the handles.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const { return path_; }
  std::size_t open_connections() const { return open_.size(); }

 private:
  class Connection;
  ControlServer(uv_loop_t* loop, std::string path, ControlHandler handler, ControlLimits limits);
  static void on_connection(uv_stream_t* listener, int status);
  void accept_one();

  uv_loop_t* loop_;
  std::string path_;
  ControlHandler handler_;
  ControlLimits limits_;
  UvHandle<uv_pipe_t> listener_;
  std::set<Connection*> open_;  // each keeps itself alive until its handles are closed
  // One read buffer for all connections: libuv reads one stream at a time and each read is
  // copied out before the next, so a flood of connections costs no buffer memory each.
  std::vector<char> read_buf_ = std::vector<char>(16 * 1024);
  // Refusals a local peer can provoke in a loop are logged at most once a second.
  LogThrottle refused_log_, busy_log_, accept_log_;
  unsigned long long socket_inode_ = 0;
};

}  // namespace bs::supervisor
