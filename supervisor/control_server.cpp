#include "supervisor/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <exception>
#include <string_view>

#include <spdlog/spdlog.h>

#include "platform/peer_credentials.h"
#include "supervisor/control_socket_path.h"

namespace bs::supervisor {
namespace {

using nlohmann::json;

std::string error_line(const std::string& message) {
  return json{{"ok", false}, {"error", message}}.dump() + "\n";
}

}  // namespace

// One client connection. It owns its pipe and timer handles (members, so they live exactly as
// long as it does) and keeps itself alive through self_ until both close callbacks have run:
// memory is freed in the close callback, never before. Reply functions only hold a weak_ptr.
class ControlServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  enum class Phase { Reading, Handling, Writing };

  Connection(ControlServer* server, uv_loop_t* loop)
      : server_(server), limits_(server->limits_) {
    uv_pipe_init(loop, &pipe_, 0);
    uv_timer_init(loop, &timer_);
    pipe_.data = this;
    timer_.data = this;
  }

  static std::shared_ptr<Connection> create(ControlServer* server, uv_loop_t* loop) {
    auto c = std::make_shared<Connection>(server, loop);
    c->self_ = c;
    return c;
  }

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe_); }

  int fd() {
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&pipe_), &fd) != 0) return -1;
    return fd;
  }

  void start() {
    uv_read_start(stream(), &Connection::on_alloc, &Connection::on_read);
    arm_timer(limits_.request_timeout);
  }

  // A best-effort error line for a client we are about to drop; never blocks.
  void refuse(const std::string& message) {
    std::string line = error_line(message);
    uv_buf_t buf = uv_buf_init(line.data(), static_cast<unsigned>(line.size()));
    (void)uv_try_write(stream(), &buf, 1);
    close();
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    if (server_ != nullptr) server_->open_.erase(this);
    server_ = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), &Connection::on_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_closed);
  }

  void send(const json& reply) {
    if (closing_ || phase_ != Phase::Handling) return;
    phase_ = Phase::Writing;
    auto req = std::make_unique<WriteRequest>();
    // replace, not throw: a bottle name or error text with bad UTF-8 must not kill the reply.
    req->text = reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    req->conn = weak_from_this();
    req->req.data = req.get();
    uv_buf_t buf = uv_buf_init(req->text.data(), static_cast<unsigned>(req->text.size()));
    if (uv_write(&req->req, stream(), &buf, 1, &Connection::on_write) != 0) {
      close();
      return;
    }
    req.release();  // owned by the write callback now
    arm_timer(limits_.write_timeout);
  }

 private:
  struct WriteRequest {
    uv_write_t req{};
    std::string text;
    std::weak_ptr<Connection> conn;
  };

  // Lives as long as any copy of the ControlReply; dropping the last unused copy means the
  // handler will never answer, so the connection is closed rather than left hanging.
  struct ReplySlot {
    std::weak_ptr<Connection> conn;
    bool used = false;
    ~ReplySlot() {
      if (used) return;
      if (auto c = conn.lock()) c->close();
    }
  };

  void arm_timer(std::chrono::milliseconds after) {
    uv_timer_start(&timer_, &Connection::on_timer, static_cast<std::uint64_t>(after.count()), 0);
  }

  void handle_bytes(std::string_view chunk) {
    auto nl = chunk.find('\n');
    std::string_view head = chunk.substr(0, nl);
    if (line_.size() + head.size() > limits_.max_request_bytes) {
      spdlog::warn("control socket: request over {} bytes, refused", limits_.max_request_bytes);
      uv_read_stop(stream());
      phase_ = Phase::Handling;
      send(json{{"ok", false},
                {"error", "request too large (at most " + std::to_string(limits_.max_request_bytes) +
                              " bytes)"}});
      return;
    }
    line_.append(head);
    if (nl != std::string_view::npos) dispatch();
  }

  void dispatch() {
    uv_read_stop(stream());
    uv_timer_stop(&timer_);
    phase_ = Phase::Handling;
    auto req = parse_control_request(line_);
    line_.clear();
    line_.shrink_to_fit();
    if (!req) {
      send(json{{"ok", false}, {"error", req.error()}});
      return;
    }
    auto slot = std::make_shared<ReplySlot>();
    slot->conn = weak_from_this();
    ControlReply reply = [slot](const json& j) {
      if (slot->used) return;
      slot->used = true;
      if (auto c = slot->conn.lock()) {
        try {
          c->send(j);
        } catch (const std::exception& e) {
          spdlog::error("control socket: cannot send a reply: {}", e.what());
          c->close();
        }
      }
    };
    ControlHandler handler = server_ != nullptr ? server_->handler_ : ControlHandler{};
    if (!handler) {
      reply(json{{"ok", false}, {"error", "the daemon is shutting down"}});
      return;
    }
    try {
      handler(*req, reply);
    } catch (const std::exception& e) {
      spdlog::error("control socket: '{}' failed: {}", req->cmd, e.what());
      reply(json{{"ok", false}, {"error", std::string("internal error: ") + e.what()}});
    }
  }

  static void on_alloc(uv_handle_t* h, std::size_t /*suggested*/, uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(h->data);
    if (self == nullptr || self->server_ == nullptr) {
      *buf = uv_buf_init(nullptr, 0);  // UV_ENOBUFS: the read callback closes us
      return;
    }
    std::vector<char>& shared = self->server_->read_buf_;
    *buf = uv_buf_init(shared.data(), static_cast<unsigned>(shared.size()));
  }

  static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(s->data);
    if (self == nullptr || self->closing_ || self->phase_ != Phase::Reading) return;
    auto keep = self->shared_from_this();  // the handler may drop the last reply and close us
    try {
      if (nread > 0) {
        self->handle_bytes(std::string_view(buf->base, static_cast<std::size_t>(nread)));
      } else if (nread == UV_EOF && !self->line_.empty()) {
        self->dispatch();  // a last line without '\n' before a half-close still counts
      } else if (nread < 0) {
        self->close();
      }
    } catch (const std::exception& e) {
      spdlog::error("control socket: dropping a connection: {}", e.what());
      self->close();
    }
  }

  static void on_write(uv_write_t* w, int /*status*/) {
    std::unique_ptr<WriteRequest> req(static_cast<WriteRequest*>(w->data));
    if (auto c = req->conn.lock()) c->close();  // one reply per connection
  }

  static void on_timer(uv_timer_t* t) {
    auto* self = static_cast<Connection*>(t->data);
    if (self == nullptr || self->closing_) return;
    if (self->phase_ == Phase::Reading) {
      spdlog::debug("control socket: no request within {} ms, closing", self->limits_.request_timeout.count());
      self->refuse("no request received within " + std::to_string(self->limits_.request_timeout.count()) +
                   " ms");
    } else {
      self->close();
    }
  }

  static void on_closed(uv_handle_t* h) {
    auto* self = static_cast<Connection*>(h->data);
    if (++self->closed_handles_ < 2) return;
    auto last = std::move(self->self_);  // may free *self when this scope ends
  }

  ControlServer* server_;
  ControlLimits limits_;
  uv_pipe_t pipe_{};
  uv_timer_t timer_{};
  std::shared_ptr<Connection> self_;
  std::string line_;
  Phase phase_ = Phase::Reading;
  bool closing_ = false;
  int closed_handles_ = 0;
};

ControlServer::ControlServer(uv_loop_t* loop, std::string path, ControlHandler handler, ControlLimits limits)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)), limits_(limits) {}

bs::Expected<std::unique_ptr<ControlServer>, std::string> ControlServer::listen(
    uv_loop_t* loop, const std::string& path, ControlHandler handler, ControlLimits limits) {
  if (auto err = check_socket_path_length(path)) return bs::unexpected(*err);
  if (auto err = prepare_socket_folder(path)) return bs::unexpected(*err);
  if (auto err = clear_stale_socket(path)) return bs::unexpected(*err);

  // Writing to a client that hung up raises SIGPIPE, whose default action ends the process.
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<ControlServer> server(new ControlServer(loop, path, std::move(handler), limits));
  auto* pipe = new uv_pipe_t;
  uv_pipe_init(loop, pipe, 0);
  server->listener_ = UvHandle<uv_pipe_t>(pipe);
  pipe->data = server.get();

  // Bound 0600 from the first instant: the umask covers the window before chmod.
  mode_t old_mask = umask(0177);
  int rc = uv_pipe_bind(pipe, path.c_str());
  umask(old_mask);
  if (rc != 0) return bs::unexpected("cannot bind the control socket " + path + ": " + uv_strerror(rc));
  if (chmod(path.c_str(), 0600) != 0) {
    return bs::unexpected("cannot set mode 0600 on the control socket " + path);
  }
  struct stat st{};
  if (stat(path.c_str(), &st) == 0) server->socket_inode_ = st.st_ino;
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(pipe), 64, &ControlServer::on_connection);
  if (rc != 0) {
    unlink(path.c_str());
    return bs::unexpected("cannot listen on the control socket " + path + ": " + uv_strerror(rc));
  }
  return server;
}

ControlServer::~ControlServer() {
  std::set<Connection*> open = std::move(open_);
  open_.clear();
  for (Connection* c : open) c->close();
  listener_.reset();
  // Remove the socket only if it is still the one we bound, so `status` reports "not running".
  struct stat st{};
  if (socket_inode_ != 0 && stat(path_.c_str(), &st) == 0 && st.st_ino == socket_inode_) {
    unlink(path_.c_str());
  }
}

void ControlServer::on_connection(uv_stream_t* listener, int status) {
  auto* self = static_cast<ControlServer*>(listener->data);
  if (self == nullptr) return;
  if (status < 0) {
    if (auto n = self->accept_log_.admit(LogThrottle::Clock::now())) {
      spdlog::warn("control socket: accept failed: {}{}", uv_strerror(status), suppressed_note(*n));
    }
    return;
  }
  try {
    self->accept_one();
  } catch (const std::exception& e) {
    spdlog::error("control socket: cannot accept a connection: {}", e.what());
  }
}

void ControlServer::accept_one() {
  auto conn = Connection::create(this, loop_);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(listener_.get()), conn->stream()) != 0) {
    conn->close();
    return;
  }
  const auto known = platform::peer_credentials(conn->fd());
  const platform::PeerCredentials peer = known.value_or(platform::PeerCredentials{});
  if (!known || peer.uid != static_cast<long long>(geteuid())) {
    // Closed unread: another user must not learn anything, not even an error message.
    if (auto n = refused_log_.admit(LogThrottle::Clock::now())) {
      spdlog::warn("control socket: refused a connection from uid {} (pid {}): only uid {} may use {}{}",
                   peer.uid, peer.pid, geteuid(), path_, suppressed_note(*n));
    }
    conn->close();
    return;
  }
  if (open_.size() >= limits_.max_connections) {
    if (auto n = busy_log_.admit(LogThrottle::Clock::now())) {
      spdlog::warn("control socket: {} connections already open, refusing another{}", open_.size(),
                   suppressed_note(*n));
    }
    conn->refuse("too many connections, try again");
    return;
  }
  open_.insert(conn.get());
  conn->start();
}

}  // namespace bs::supervisor
