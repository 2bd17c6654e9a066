// omega-gateway's connections: accept, HTTP/1.1 (static files, /metrics, /status), the
// WebSocket handshake, libwslay's event API driven by the loop, and the OVP bridge.
//
// Lifecycle of a connection: Http (requests; the /ovp handshake switches it) -> WebSocket
// (wslay) -> Draining (our side is done: FIN sent, input read and discarded until the peer
// closes or the close timeout) -> gone. Draining instead of an immediate close() because
// closing a socket with unread input sends a RST, which may destroy the close frame or the
// error response before the client reads it.
//
// Re-entrancy: a connection is torn down only from its own fd handler, its timer, or the
// end-of-turn flush, never from inside a wslay callback; routing a frame to other
// connections only queues and marks them for the flush.
#include "gateway.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include <omega/base/assert.hpp>

#include "http.hpp"
#include "syscall.hpp"

namespace omega::gateway {
namespace {

using native::errno_text;

using Headers = std::vector<std::pair<std::string, std::string>>;

// Label values of the counters, listed up front so every series exists (at zero) from the
// first scrape on.
constexpr const char* kHttpRejectReasons[] = {"malformed", "head_too_large", "too_many_headers", "bad_version",
                                              "bad_host",  "has_body",       "method",           "not_found"};
constexpr const char* kHandshakeRejectReasons[] = {"not_websocket",    "bad_ws_version", "bad_key",
                                                   "bad_origin",       "bad_drone",      "drone_out_of_range",
                                                   "drone_in_use",     "bad_groups",     "too_many_connections"};
constexpr const char* kHostileReasons[] = {"protocol_error", "oversize",    "invalid_utf8",
                                           "text_frame",     "rate_limit",  "slow_reader",
                                           "handshake_timeout"};
constexpr const char* kCloseReasons[] = {"client_close", "peer_gone", "hostile", "server_shutdown"};
constexpr const char* kDropReasons[] = {"no_route",        "to_self",  "slow_reader", "receiver_closing",
                                        "raw_echo"};
constexpr const char* kBridgePaths[] = {"ws_to_raw", "ws_to_ws", "raw_to_ws"};

template <std::size_t N>
std::map<std::string, std::uint64_t> zeroed(const char* const (&names)[N]) {
  std::map<std::string, std::uint64_t> m;
  for (const char* n : names) m[n] = 0;
  return m;
}

}  // namespace

class Gateway::Impl {
 public:
  Impl(native::EventLoop& loop, GatewayConfig config, std::unique_ptr<RawPort> raw)
      : loop_(loop), config_(std::move(config)), raw_(std::move(raw)) {
    limits_.max_head_bytes = config_.max_head_bytes;
    limits_.max_headers = config_.max_headers;
    started_ns_ = native::EventLoop::now_ns();
  }

  ~Impl() {
    for (auto& [id, c] : conns_) release(*c);
    conns_.clear();
    if (listen_reg_) loop_.remove_fd(listen_reg_);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (raw_reg_) loop_.remove_fd(raw_reg_);
    if (accept_retry_) loop_.cancel_timer(accept_retry_);
    if (shutdown_timer_) loop_.cancel_timer(shutdown_timer_);
    if (raw_retry_) loop_.cancel_timer(raw_retry_);
  }

  Result<void, std::string> start() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return Err(errno_text("socket", errno));
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(config_.port);
    if (::inet_pton(AF_INET, config_.host.c_str(), &a.sin_addr) != 1) {
      return Err("--host: '" + config_.host + "' is not a numeric IPv4 address");
    }
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      return Err(errno_text(("bind " + config_.host + ":" + std::to_string(config_.port)).c_str(), errno));
    }
    if (::listen(listen_fd_, 128) != 0) return Err(errno_text("listen", errno));
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    auto reg = loop_.add_fd(listen_fd_, EPOLLIN | EPOLLET, [this](std::uint32_t) { accept_all(); });
    if (!reg) return Err(reg.error());
    listen_reg_ = *reg;
    if (raw_) {
      auto r = loop_.add_fd(raw_->fd(), EPOLLIN | EPOLLET, [this](std::uint32_t) { raw_receive(); });
      if (!r) return Err(r.error());
      raw_reg_ = *r;
    }
    return {};
  }

  std::uint16_t port() const noexcept { return port_; }

  void shutdown(std::function<void()> done) {
    shutdown_done_ = std::move(done);
    shutting_down_ = true;
    if (listen_reg_) loop_.remove_fd(listen_reg_);
    listen_reg_ = 0;
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    std::vector<std::uint64_t> ids;
    for (auto& [id, c] : conns_) ids.push_back(id);
    for (std::uint64_t id : ids) {
      Conn* c = find(id);
      if (!c) continue;
      if (c->phase == Phase::WebSocket) {
        close_ws(*c, WSLAY_CODE_GOING_AWAY, "gateway shutting down", nullptr);
        c->close_reason = "server_shutdown";
      } else if (c->phase == Phase::Http) {
        teardown(*c, "server_shutdown");
      }
    }
    shutdown_timer_ = loop_.add_timer(config_.close_timeout_ms * 1'000'000, [this] {
      shutdown_timer_ = 0;
      finish_shutdown();
    });
    maybe_finish_shutdown();
  }

  MetricsSnapshot metrics() const;
  std::string status_json() const;

 private:
  enum class Phase : std::uint8_t { Http, WebSocket, Draining };
  enum class TimerKind : std::uint8_t { None, Request, Idle, Close };

  struct Conn {
    Impl* owner = nullptr;  // wslay's callbacks get the connection; this finds the gateway
    std::uint64_t id = 0;
    int fd = -1;
    native::EventLoop::RegistrationId reg = 0;
    std::string peer;
    Phase phase = Phase::Http;
    // Http
    std::string in;  // unparsed input (in WebSocket phase: bytes that followed the handshake)
    std::string out;
    std::size_t out_off = 0;
    int file_fd = -1;           // a file being sent after `out` (sendfile)
    std::size_t file_left = 0;
    bool close_after_write = false;
    bool upgrade_after_write = false;
    bool served_any = false;
    native::EventLoop::TimerId timer = 0;
    TimerKind timer_kind = TimerKind::None;
    // WebSocket
    wslay_event_context_ptr ws = nullptr;
    std::uint32_t drone = 0;
    std::vector<std::uint32_t> groups;
    bool groups_declared = false;
    double tokens = 0;
    std::int64_t refill_ns = 0;
    bool closing = false;          // a close is queued (by us, by wslay, or in reply to the peer)
    bool violation = false;        // wslay queued a protocol close; counted once it is known
    const char* close_reason = nullptr;
    bool dirty = false;            // queued output to flush at the end of the turn
    bool rx_drained = false;       // the last recv was short: nothing more until the next edge
    std::string wbuf;              // frames wslay produced, not yet taken by the kernel
    std::size_t wbuf_off = 0;
    std::uint64_t frames_in = 0;
    std::uint64_t frames_out = 0;
  };

  // ---- connections -----------------------------------------------------------------------

  Conn* find(std::uint64_t id) {
    auto it = conns_.find(id);
    return it == conns_.end() ? nullptr : it->second.get();
  }

  void accept_all() {
    for (;;) {
      sockaddr_in a{};
      socklen_t len = sizeof a;
      const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // EMFILE/ENFILE/ENOBUFS: out of descriptors or memory. Edge-triggered, so nothing
        // reports the waiting connections again: retry shortly.
        ++accept_errors_;
        if (!accept_retry_) {
          accept_retry_ = loop_.add_timer(100'000'000, [this] {
            accept_retry_ = 0;
            if (listen_fd_ >= 0) accept_all();
          });
        }
        return;
      }
      if (conns_.size() >= config_.max_connections) {
        ++handshake_rejects_["too_many_connections"];
        ++http_responses_[503];
        const std::string body = "too many connections\n";
        const std::string resp =
            response_head(503, {{"Content-Type", "text/plain; charset=utf-8"}, {"Connection", "close"}}, body.size()) + body;
        [[maybe_unused]] auto n = ::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // frames are small; latency counts
      auto c = std::make_unique<Conn>();
      c->owner = this;
      c->id = next_conn_++;
      c->fd = fd;
      char host[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
      c->peer = std::string(host) + ":" + std::to_string(ntohs(a.sin_port));
      const std::uint64_t id = c->id;
      auto reg = loop_.add_fd(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                              [this, id](std::uint32_t events) { on_event(id, events); });
      if (!reg) {
        ++accept_errors_;
        ::close(fd);
        continue;
      }
      c->reg = *reg;
      ++connections_accepted_;
      Conn& ref = *c;
      conns_.emplace(id, std::move(c));
      arm(ref, TimerKind::Request, config_.handshake_timeout_ms);
      pump_http(ref);
    }
  }

  void arm(Conn& c, TimerKind kind, std::int64_t ms) {
    if (c.timer) loop_.cancel_timer(c.timer);
    const std::uint64_t id = c.id;
    c.timer_kind = kind;
    c.timer = loop_.add_timer(ms * 1'000'000, [this, id] { on_timer(id); });
  }
  void disarm(Conn& c) {
    if (c.timer) loop_.cancel_timer(c.timer);
    c.timer = 0;
    c.timer_kind = TimerKind::None;
  }

  void on_timer(std::uint64_t id) {
    Conn* c = find(id);
    if (!c) return;
    c->timer = 0;
    switch (c->timer_kind) {
      case TimerKind::Request:
        // Nothing, or not a whole request, within the handshake timeout (slowloris).
        ++hostile_closes_["handshake_timeout"];
        teardown(*c, "hostile");
        return;
      case TimerKind::Idle:
        teardown(*c, "idle");
        return;
      case TimerKind::Close:
        teardown(*c, c->close_reason ? c->close_reason : "peer_gone");
        return;
      case TimerKind::None:
        return;
    }
  }

  void on_event(std::uint64_t id, std::uint32_t events) {
    Conn* c = find(id);
    if (!c) return;
    switch (c->phase) {
      case Phase::Http:
        pump_http(*c);
        return;
      case Phase::WebSocket:
        ws_pump(*c, events);
        return;
      case Phase::Draining:
        drain(*c);
        return;
    }
  }

  // Frees the connection's resources without touching the map.
  void release(Conn& c) {
    close_file(c);
    if (c.timer) loop_.cancel_timer(c.timer);
    loop_.remove_fd(c.reg);
    ::close(c.fd);
    if (c.ws) wslay_event_context_free(c.ws);
    c.ws = nullptr;
    unbind(c);
  }

  void unbind(Conn& c) {
    if (!c.drone) return;
    auto it = drones_.find(c.drone);
    if (it != drones_.end() && it->second == c.id) drones_.erase(it);
  }

  // reason: how a WebSocket drone's connection ended (client_close, peer_gone, hostile,
  // server_shutdown) unless an earlier close already said (close_reason).
  void teardown(Conn& c, const char* reason) {
    if (c.ws) {
      if (c.violation && c.close_reason == nullptr) count_violation(c);
      ++ws_closes_[c.close_reason ? c.close_reason : reason];
    }
    const std::uint64_t id = c.id;
    release(c);
    conns_.erase(id);
    maybe_finish_shutdown();
  }

  // Our side is done: send FIN after what is queued, discard input until the peer closes.
  void begin_drain(Conn& c) {
    if (c.phase == Phase::Draining) return;
    c.phase = Phase::Draining;
    // Nothing is routed to a draining connection: its id is free for a reconnect now.
    unbind(c);
    ::shutdown(c.fd, SHUT_WR);
    arm(c, TimerKind::Close, config_.close_timeout_ms);
    drain(c);
  }

  void drain(Conn& c) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        bytes_in_ += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n < 0 && errno == EINTR) continue;
      teardown(c, c.close_reason ? c.close_reason : "peer_gone");  // EOF or error: the peer is done
      return;
    }
  }

  // ---- HTTP ------------------------------------------------------------------------------

  enum class Io : std::uint8_t { Done, Pending, Failed };

  Io write_out(Conn& c) {
    while (c.out_off < c.out.size()) {
      const ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_off += static_cast<std::size_t>(n);
        bytes_out_ += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Pending;
      return Io::Failed;
    }
    c.out.clear();
    c.out_off = 0;
    // Then the file being served, straight from the page cache: a client that does not
    // read holds a file descriptor, not a copy of the file.
    while (c.file_left > 0) {
      const ssize_t n = ::sendfile(c.fd, c.file_fd, nullptr, std::min<std::size_t>(c.file_left, 1 << 20));
      if (n > 0) {
        c.file_left -= static_cast<std::size_t>(n);
        bytes_out_ += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Pending;
      return Io::Failed;  // an error, or the file shrank under us (0): the length was promised
    }
    close_file(c);
    return Io::Done;
  }

  static void close_file(Conn& c) {
    if (c.file_fd >= 0) ::close(c.file_fd);
    c.file_fd = -1;
    c.file_left = 0;
  }

  // Reads what fits under the head limit. Done: read something; Pending: nothing waiting.
  Io read_in(Conn& c) {
    const std::size_t room = limits_.max_head_bytes > c.in.size() ? limits_.max_head_bytes - c.in.size() : 0;
    char buf[4096];
    const std::size_t want = std::min(room == 0 ? std::size_t{1} : room, sizeof buf);
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, want, 0);
      if (n > 0) {
        const bool was_empty = c.in.empty();
        c.in.append(buf, static_cast<std::size_t>(n));
        bytes_in_ += static_cast<std::uint64_t>(n);
        // The next request started on an idle keep-alive connection: it must now complete
        // within the handshake timeout, like the first one.
        if (was_empty && c.timer_kind == TimerKind::Idle) arm(c, TimerKind::Request, config_.handshake_timeout_ms);
        return Io::Done;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Pending;
      return Io::Failed;  // EOF or error
    }
  }

  void pump_http(Conn& c) {
    for (;;) {
      const std::uint64_t sent_before = bytes_out_;
      const Io w = write_out(c);
      if (w == Io::Failed) return teardown(c, "peer_gone");
      if (w == Io::Pending) {
        // A download that progresses is not idle: the idle timeout counts from the last
        // bytes the client took.
        if (bytes_out_ != sent_before && c.timer_kind == TimerKind::Idle) {
          arm(c, TimerKind::Idle, config_.idle_timeout_ms);
        }
        return;
      }
      if (c.close_after_write) return begin_drain(c);
      if (c.upgrade_after_write) return start_ws(c);
      auto end = find_head_end(c.in, limits_);
      if (!end) {
        reject_http(c, end.error());
        continue;
      }
      if (*end) {
        const std::size_t n = **end;
        const std::string head = c.in.substr(0, n);
        c.in.erase(0, n);
        handle_request(c, head);
        continue;
      }
      const Io r = read_in(c);
      if (r == Io::Pending) return;
      if (r == Io::Failed) {
        // EOF: a client that sent a partial request and left, or a keep-alive close.
        return teardown(c, "peer_gone");
      }
    }
  }

  Headers base_headers() const {
    Headers h{{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
    if (config_.isolate) {
      h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
      h.emplace_back("Cross-Origin-Embedder-Policy", "require-corp");
      h.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
    }
    return h;
  }

  // `length`: the Content-Length when the body is not `body` (a file sent after the head).
  void respond(Conn& c, int status, Headers headers, const std::string& body, bool head_only, bool keep_alive,
               std::optional<std::size_t> length = std::nullopt) {
    ++http_responses_[status];
    if (!keep_alive) headers.emplace_back("Connection", "close");
    c.out += response_head(status, headers, length ? *length : body.size());
    if (!head_only) c.out += body;
    if (!keep_alive) c.close_after_write = true;
  }

  void respond_text(Conn& c, int status, const std::string& text, Headers extra = {}) {
    Headers h = base_headers();
    h.emplace_back("Content-Type", "text/plain; charset=utf-8");
    for (auto& e : extra) h.push_back(std::move(e));
    respond(c, status, std::move(h), text, false, false);
  }

  void reject_http(Conn& c, const HttpError& e) {
    ++http_rejects_[e.reason];
    c.in.clear();
    respond_text(c, e.status, e.detail + "\n");
  }

  void handle_request(Conn& c, const std::string& head) {
    auto parsed = parse_request_head(head, limits_);
    if (!parsed) return reject_http(c, parsed.error());
    const HttpRequest& req = *parsed;
    ++http_requests_;
    c.served_any = true;
    const bool head_only = req.method == "HEAD";
    if (req.path == "/ovp") return handshake(c, req);
    if (req.method != "GET" && req.method != "HEAD") {
      ++http_rejects_["method"];
      return respond_text(c, 405, "method not allowed\n", {{"Allow", "GET, HEAD"}});
    }
    const bool keep = req.keep_alive() && !shutting_down_;
    if (req.path == "/metrics") {
      Headers h = base_headers();
      h.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      respond(c, 200, std::move(h), metrics().to_prometheus(), head_only, keep);
    } else if (req.path == "/status") {
      Headers h = base_headers();
      h.emplace_back("Content-Type", "application/json; charset=utf-8");
      respond(c, 200, std::move(h), status_json(), head_only, keep);
    } else {
      serve_file(c, req, head_only, keep);
    }
    if (keep && !c.close_after_write) arm(c, c.in.empty() ? TimerKind::Idle : TimerKind::Request,
                                          c.in.empty() ? config_.idle_timeout_ms : config_.handshake_timeout_ms);
  }

  void serve_file(Conn& c, const HttpRequest& req, bool head_only, bool keep) {
    auto file = resolve_static(req.path, config_.web_root, config_.package_dir);
    const int fd = file ? ::open(file->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
    struct stat st{};
    if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) ::close(fd);
      ++http_rejects_["not_found"];
      Headers h = base_headers();
      h.emplace_back("Content-Type", "text/plain; charset=utf-8");
      respond(c, 404, std::move(h), "not found\n", head_only, keep);
      return;
    }
    Headers h = base_headers();
    h.emplace_back("Content-Type", std::string(content_type_for(*file)));
    const auto size = static_cast<std::size_t>(st.st_size);
    respond(c, 200, std::move(h), std::string(), true, keep, size);
    if (head_only || size == 0) {
      ::close(fd);
      return;
    }
    c.file_fd = fd;
    c.file_left = size;
  }

  // ---- WebSocket handshake ---------------------------------------------------------------

  bool origin_allowed(const HttpRequest& req) const {
    auto origin = req.header("origin");
    if (!origin) return true;  // not a browser: see GatewayConfig::allow_origins
    if (config_.allow_origins.empty()) {
      auto host = req.header("host");
      return host && *origin == "http://" + std::string(*host);
    }
    for (const auto& o : config_.allow_origins) {
      if (o == "*" || o == *origin) return true;
    }
    return false;
  }

  void reject_handshake(Conn& c, int status, const char* reason, const std::string& detail, Headers extra = {}) {
    ++handshake_rejects_[reason];
    respond_text(c, status, detail + "\n", std::move(extra));
  }

  void handshake(Conn& c, const HttpRequest& req) {
    if (req.method != "GET") {
      ++http_rejects_["method"];
      return respond_text(c, 405, "the WebSocket handshake is a GET\n", {{"Allow", "GET"}});
    }
    if (!req.header_has_token("upgrade", "websocket") || !req.header_has_token("connection", "upgrade")) {
      return reject_handshake(c, 426, "not_websocket", "/ovp speaks WebSocket only (Upgrade: websocket)",
                              {{"Upgrade", "websocket"}});
    }
    if (req.header("sec-websocket-version") != std::optional<std::string_view>("13")) {
      return reject_handshake(c, 426, "bad_ws_version", "Sec-WebSocket-Version must be 13",
                              {{"Sec-WebSocket-Version", "13"}});
    }
    auto key = req.header("sec-websocket-key");
    if (!key || !valid_websocket_key(*key)) {
      return reject_handshake(c, 400, "bad_key", "Sec-WebSocket-Key must be base64 of 16 bytes");
    }
    if (!origin_allowed(req)) {
      return reject_handshake(c, 403, "bad_origin",
                              "Origin '" + std::string(*req.header("origin")) + "' is not allowed (see --allow-origin)");
    }
    auto query = parse_query(req.query);
    if (!query) return reject_handshake(c, 400, "bad_drone", "malformed query string");
    std::optional<std::string> drone_text;
    std::optional<std::string> groups_text;
    for (const auto& [name, value] : *query) {
      std::optional<std::string>& slot = name == "drone" ? drone_text : groups_text;
      if (name != "drone" && name != "groups") continue;
      if (slot) return reject_handshake(c, 400, name == "drone" ? "bad_drone" : "bad_groups", "'" + name + "' given twice");
      slot = value;
    }
    if (!drone_text) return reject_handshake(c, 400, "bad_drone", "missing ?drone=N (the drone id to bind)");
    auto drone = parse_u32(*drone_text);
    if (!drone || *drone == 0 || *drone == ovp::kBroadcast) {
      return reject_handshake(c, 400, "bad_drone", "drone id '" + *drone_text + "' is not in 1..4294967294");
    }
    if (*drone < config_.drone_min || *drone > config_.drone_max) {
      return reject_handshake(c, 403, "drone_out_of_range",
                              "drone id " + std::to_string(*drone) + " is outside this gateway's range " +
                                  std::to_string(config_.drone_min) + "-" + std::to_string(config_.drone_max));
    }
    if (drones_.count(*drone)) {
      return reject_handshake(c, 409, "drone_in_use", "drone id " + std::to_string(*drone) + " is already bound");
    }
    if (auto seen = raw_sources_.find(*drone);
        seen != raw_sources_.end() && native::EventLoop::now_ns() - seen->second.last_seen < kRawSourceMemoryNs) {
      return reject_handshake(c, 409, "drone_in_use",
                              "drone id " + std::to_string(*drone) + " is in use on the raw interface");
    }
    std::vector<std::uint32_t> groups;
    if (groups_text) {
      std::string_view rest = *groups_text;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        auto g = parse_u32(rest.substr(0, comma));
        if (!g || *g == ovp::kBroadcast || groups.size() >= kMaxGroups) {
          return reject_handshake(c, 400, "bad_groups",
                                  "groups must be a comma-separated list of at most 64 ids below 4294967295");
        }
        groups.push_back(*g);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    ++http_responses_[101];
    c.out += response_head(101,
                           {{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
                            {"Sec-WebSocket-Accept", websocket_accept(*key)}},
                           std::nullopt);
    // Bound now, so a second handshake for the same id (even in this turn) is refused.
    c.drone = *drone;
    c.groups = std::move(groups);
    c.groups_declared = groups_text.has_value();
    drones_[c.drone] = c.id;
    c.upgrade_after_write = true;
  }

  // ---- WebSocket (wslay) -----------------------------------------------------------------

  static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int, void* user) {
    auto& c = *static_cast<Conn*>(user);
    if (!c.in.empty()) {  // bytes that arrived together with the handshake
      const std::size_t n = std::min(len, c.in.size());
      std::memcpy(buf, c.in.data(), n);
      c.in.erase(0, n);
      return static_cast<ssize_t>(n);
    }
    if (c.rx_drained) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, len, 0);
      if (n > 0) {
        c.owner->bytes_in_ += static_cast<std::uint64_t>(n);
        // A short read emptied the socket's queue: with edge-triggered epoll, data arriving
        // later raises a new edge, so the recv that would only say EAGAIN is saved.
        c.rx_drained = static_cast<std::size_t>(n) < len;
        return n;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      } else {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);  // EOF or error
      }
      return -1;
    }
  }

  // wslay writes frames into the connection's write buffer (header and payload of many
  // frames coalesce); ws_flush hands the buffer to the kernel in one send. The buffer takes at
  // most kWriteBuffer bytes: past that wslay keeps the rest queued (and counted).
  static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len, int, void* user) {
    auto& c = *static_cast<Conn*>(user);
    const std::size_t pending = c.wbuf.size() - c.wbuf_off;
    if (pending >= kWriteBuffer) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    const std::size_t n = std::min(len, kWriteBuffer - pending);
    c.wbuf.append(reinterpret_cast<const char*>(data), n);
    return static_cast<ssize_t>(n);
  }

  // Writes the write buffer to the socket.
  Io write_wbuf(Conn& c) {
    while (c.wbuf_off < c.wbuf.size()) {
      const ssize_t n = ::send(c.fd, c.wbuf.data() + c.wbuf_off, c.wbuf.size() - c.wbuf_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.wbuf_off += static_cast<std::size_t>(n);
        bytes_out_ += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Pending;
      return Io::Failed;
    }
    c.wbuf.clear();
    c.wbuf_off = 0;
    return Io::Done;
  }

  // Bytes queued to a client and not yet taken by the kernel.
  static std::size_t queued_bytes(const Conn& c) {
    return (c.ws ? wslay_event_get_queued_msg_length(c.ws) : 0) + (c.wbuf.size() - c.wbuf_off);
  }

  static void ws_msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    auto& c = *static_cast<Conn*>(user);
    c.owner->on_message(c, *arg);
  }

  void start_ws(Conn& c) {
    c.upgrade_after_write = false;
    c.phase = Phase::WebSocket;
    disarm(c);
    wslay_event_callbacks callbacks{};
    callbacks.recv_callback = ws_recv_cb;
    callbacks.send_callback = ws_send_cb;
    callbacks.on_msg_recv_callback = ws_msg_cb;
    if (wslay_event_context_server_init(&c.ws, &callbacks, &c) != 0) {
      c.ws = nullptr;
      return teardown(c, "peer_gone");
    }
    wslay_event_config_set_max_recv_msg_length(c.ws, config_.max_message);
    c.tokens = config_.burst;
    c.refill_ns = native::EventLoop::now_ns();
    ++websockets_opened_;
    ws_pump(c, EPOLLIN | EPOLLOUT);
  }

  void ws_pump(Conn& c, std::uint32_t events) {
    const std::uint64_t id = c.id;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) c.rx_drained = false;
    if (wslay_event_want_read(c.ws) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) {
      if (wslay_event_recv(c.ws) != 0) {
        // The peer closed the TCP connection (or it broke) without a close handshake.
        return teardown(c, c.close_reason ? c.close_reason : "peer_gone");
      }
      if (!c.closing && !wslay_event_get_read_enabled(c.ws)) {
        c.closing = true;
        if (wslay_event_get_close_received(c.ws)) {
          c.close_reason = "client_close";
        } else {
          c.violation = true;  // wslay queued 1002/1007/1009; the code is known once it is sent
        }
        arm(c, TimerKind::Close, config_.close_timeout_ms);
      }
      // Ping floods queue pongs: a client that sends without reading is a slow reader too.
      if (!c.closing && queued_bytes(c) > config_.max_outgoing) {
        close_ws(c, WSLAY_CODE_POLICY_VIOLATION, "slow reader: outgoing buffer full", "slow_reader");
      }
    }
    if (!find(id)) return;
    ws_flush(c);
  }

  void ws_flush(Conn& c) {
    c.dirty = false;
    for (;;) {
      if (wslay_event_send(c.ws) != 0) return teardown(c, c.close_reason ? c.close_reason : "peer_gone");
      const Io w = write_wbuf(c);
      if (w == Io::Failed) return teardown(c, c.close_reason ? c.close_reason : "peer_gone");
      if (w == Io::Pending || !wslay_event_want_write(c.ws)) break;  // EPOLLOUT resumes; or all sent
    }
    // The close frame is on the wire only once the write buffer is empty too.
    if (wslay_event_get_close_sent(c.ws) && c.wbuf_off == c.wbuf.size()) {
      if (c.violation && c.close_reason == nullptr) count_violation(c);
      begin_drain(c);
    }
  }

  void count_violation(Conn& c) {
    const std::uint16_t code = wslay_event_get_close_sent(c.ws) ? wslay_event_get_status_code_sent(c.ws) : 0;
    const char* reason = code == WSLAY_CODE_MESSAGE_TOO_BIG            ? "oversize"
                         : code == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA ? "invalid_utf8"
                                                                        : "protocol_error";
    ++hostile_closes_[reason];
    c.close_reason = "hostile";
  }

  // Closes a WebSocket with `code`; `hostile` names the counter (nullptr: not hostile).
  void close_ws(Conn& c, std::uint16_t code, const char* text, const char* hostile) {
    if (c.closing) return;
    c.closing = true;
    if (hostile) {
      ++hostile_closes_[hostile];
      c.close_reason = "hostile";
    }
    wslay_event_queue_close(c.ws, code, reinterpret_cast<const std::uint8_t*>(text), std::strlen(text));
    wslay_event_shutdown_read(c.ws);
    arm(c, TimerKind::Close, config_.close_timeout_ms);
    mark_dirty(c);
  }

  void mark_dirty(Conn& c) {
    if (c.dirty) return;
    c.dirty = true;
    dirty_.push_back(c.id);
    if (!flush_scheduled_) {
      flush_scheduled_ = true;
      loop_.defer([this] { flush_dirty(); });
    }
  }

  void flush_dirty() {
    flush_scheduled_ = false;
    std::vector<std::uint64_t> ids;
    ids.swap(dirty_);
    for (std::uint64_t id : ids) {
      Conn* c = find(id);
      if (c && c->phase == Phase::WebSocket && c->dirty) ws_flush(*c);
    }
    flush_raw();
  }

  bool take_token(Conn& c) {
    const std::int64_t now = native::EventLoop::now_ns();
    c.tokens = std::min(config_.burst, c.tokens + config_.rate * static_cast<double>(now - c.refill_ns) * 1e-9);
    c.refill_ns = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  void on_message(Conn& c, const wslay_event_on_msg_recv_arg& arg) {
    if (c.closing) return;
    if (!take_token(c)) {
      const std::string text = "message rate over " + std::to_string(static_cast<long long>(config_.rate)) + "/s";
      close_ws(c, WSLAY_CODE_POLICY_VIOLATION, text.c_str(), "rate_limit");
      return;
    }
    switch (arg.opcode) {
      case WSLAY_BINARY_FRAME:
        return on_frame(c, std::span<const std::uint8_t>(arg.msg, arg.msg_length));
      case WSLAY_TEXT_FRAME:
        return close_ws(c, WSLAY_CODE_UNSUPPORTED_DATA, "text frames are not OVP: send binary", "text_frame");
      default:
        return;  // ping (wslay queued the pong), pong, close (wslay queued the reply)
    }
  }

  // ---- the bridge ------------------------------------------------------------------------

  void on_frame(Conn& c, std::span<const std::uint8_t> msg) {
    ++c.frames_in;
    auto view = ws_decoder_.record(ovp::decode_ovp(msg, ovp::DecodeFilter{}));
    if (!view) return;  // counted by reason
    std::vector<std::uint8_t> frame(msg.begin(), msg.end());
    ovp::FrameHeader h = view->header;
    if (h.source != c.drone) {
      ++source_rewrites_;
      h.source = c.drone;
      [[maybe_unused]] auto sealed = ovp::seal_ovp(h, view->payload.size(), frame);
    }
    route(frame, h, &c);
  }

  // Delivers one OVP frame (header + payload) to whom it addresses. `from`: the WebSocket
  // drone it came from, or nullptr for the raw interface.
  void route(const std::vector<std::uint8_t>& frame, const ovp::FrameHeader& h, Conn* from) {
    const char* path = from ? "ws_to_ws" : "raw_to_ws";
    bool to_raw = false;
    if (h.destination == ovp::kBroadcast || (h.flags & ovp::kFlagGroup)) {
      const bool group = h.destination != ovp::kBroadcast;
      for (auto& [drone, id] : drones_) {
        Conn* to = find(id);
        if (!to || to == from || to->phase != Phase::WebSocket) continue;
        // A drone that declared no groups gets every group frame; its endpoint filters.
        if (group && to->groups_declared &&
            std::find(to->groups.begin(), to->groups.end(), h.destination) == to->groups.end()) {
          continue;
        }
        send_ws(*to, frame, path);
      }
      to_raw = from != nullptr;
    } else if (auto it = drones_.find(h.destination); it != drones_.end()) {
      Conn* to = find(it->second);
      if (to == from) {
        ++dropped_["to_self"];
      } else if (to && to->phase == Phase::WebSocket) {
        send_ws(*to, frame, path);
      } else {
        ++dropped_["receiver_closing"];
      }
    } else if (from) {
      if (raw_) {
        to_raw = true;
      } else {
        ++dropped_["no_route"];
      }
    }
    // A raw frame for a drone that is not ours is another native drone's business: not
    // counted. Broadcast without a raw side: the WebSocket drones were the whole audience.
    if (to_raw && raw_) queue_raw(frame, h);
  }

  void send_ws(Conn& to, const std::vector<std::uint8_t>& frame, const char* path) {
    if (to.closing) {
      ++dropped_["receiver_closing"];
      return;
    }
    if (queued_bytes(to) + frame.size() > config_.max_outgoing) {
      ++dropped_["slow_reader"];
      close_ws(to, WSLAY_CODE_POLICY_VIOLATION, "slow reader: outgoing buffer full", "slow_reader");
      return;
    }
    wslay_event_msg msg{WSLAY_BINARY_FRAME, frame.data(), frame.size()};
    if (wslay_event_queue_msg(to.ws, &msg) != 0) {  // copies; fails only when closing or out of memory
      ++dropped_["receiver_closing"];
      return;
    }
    ++to.frames_out;
    ++bridged_[path];
    mark_dirty(to);
  }

  void queue_raw(const std::vector<std::uint8_t>& frame, const ovp::FrameHeader& h) {
    // Unicast to a native drone whose MAC we have seen goes to that MAC; the rest to all.
    ovp::MacAddress to = ovp::kBroadcastMac;
    if (h.destination != ovp::kBroadcast && !(h.flags & ovp::kFlagGroup)) {
      if (auto it = raw_sources_.find(h.destination); it != raw_sources_.end()) to = it->second.mac;
    }
    raw_out_.push_back(RawPort::Outgoing{to, frame});
    if (raw_out_.size() >= kRawBatch) {
      flush_raw();
    } else if (!flush_scheduled_) {
      flush_scheduled_ = true;
      loop_.defer([this] { flush_dirty(); });
    }
  }

  void flush_raw() {
    if (!raw_ || raw_out_.empty()) return;
    bridged_["ws_to_raw"] += raw_out_.size();
    raw_->send(raw_out_);
    raw_out_.clear();
    // The kernel's queue was full: try again shortly (the socket reports no writability edge).
    if (raw_->backlogged()) flush_raw_retry();
  }
  void flush_raw_retry() {
    if (!raw_retry_) {
      raw_retry_ = loop_.add_timer(1'000'000, [this] {
        raw_retry_ = 0;
        raw_->retry();
        if (raw_->backlogged()) flush_raw_retry();
      });
    }
  }

  void raw_receive() {
    const std::int64_t now = native::EventLoop::now_ns();
    auto got = raw_->receive([&](std::span<const std::uint8_t> eth) {
      auto view = raw_decoder_.record(ovp::decode_ethernet(eth, ovp::DecodeFilter{}));
      if (!view) return;
      if (drones_.count(view->header.source)) {
        // Our own frame seen again, or a native drone using a WebSocket drone's id: never
        // hand a WebSocket drone a frame that claims to come from itself or a peer here.
        ++dropped_["raw_echo"];
        return;
      }
      if (raw_sources_.size() < kMaxRawSources || raw_sources_.count(view->header.source)) {
        raw_sources_[view->header.source] = RawSource{now, view->source_mac};
      }
      const std::uint8_t* start = view->payload.data() - ovp::kHeaderSize;
      const std::vector<std::uint8_t> frame(start, start + ovp::kHeaderSize + view->payload.size());
      route(frame, view->header, nullptr);
    });
    if (!got) {
      ++raw_receive_errors_;
      last_raw_error_ = got.error();
    }
    if (raw_sources_.size() >= kMaxRawSources) forget_old_raw_sources(now);
  }

  void forget_old_raw_sources(std::int64_t now) {
    for (auto it = raw_sources_.begin(); it != raw_sources_.end();) {
      it = now - it->second.last_seen >= kRawSourceMemoryNs ? raw_sources_.erase(it) : std::next(it);
    }
  }

  void maybe_finish_shutdown() {
    if (shutting_down_ && conns_.empty()) finish_shutdown();
  }
  void finish_shutdown() {
    if (!shutdown_done_) return;
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    loop_.post(std::move(done));
  }

  static constexpr std::size_t kRawBatch = 64;
  static constexpr std::size_t kWriteBuffer = 64 * 1024;
  static constexpr std::size_t kMaxGroups = 64;
  static constexpr std::size_t kMaxRawSources = 4096;
  // A raw-side source id is "in use" for this long after its last frame.
  static constexpr std::int64_t kRawSourceMemoryNs = 10'000'000'000;

  native::EventLoop& loop_;
  GatewayConfig config_;
  std::unique_ptr<RawPort> raw_;
  HttpLimits limits_;
  std::int64_t started_ns_ = 0;
  int listen_fd_ = -1;
  native::EventLoop::RegistrationId listen_reg_ = 0;
  native::EventLoop::RegistrationId raw_reg_ = 0;
  native::EventLoop::TimerId accept_retry_ = 0;
  native::EventLoop::TimerId shutdown_timer_ = 0;
  std::uint16_t port_ = 0;
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;

  std::uint64_t next_conn_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  std::map<std::uint32_t, std::uint64_t> drones_;  // bound drone id -> connection id
  std::vector<std::uint64_t> dirty_;
  bool flush_scheduled_ = false;
  std::vector<RawPort::Outgoing> raw_out_;
  native::EventLoop::TimerId raw_retry_ = 0;
  struct RawSource {
    std::int64_t last_seen = 0;  // ns
    ovp::MacAddress mac{};
  };
  // Native drones seen on the raw side (bounded: kMaxRawSources; stale ones are forgotten).
  std::unordered_map<std::uint32_t, RawSource> raw_sources_;
  std::string last_raw_error_;

  // Counters (loop thread only; rendered into a MetricsSnapshot on demand).
  std::uint64_t connections_accepted_ = 0;
  std::uint64_t websockets_opened_ = 0;
  std::uint64_t accept_errors_ = 0;
  std::uint64_t http_requests_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::uint64_t source_rewrites_ = 0;
  std::uint64_t raw_receive_errors_ = 0;
  std::map<int, std::uint64_t> http_responses_;
  std::map<std::string, std::uint64_t> http_rejects_ = zeroed(kHttpRejectReasons);
  std::map<std::string, std::uint64_t> handshake_rejects_ = zeroed(kHandshakeRejectReasons);
  std::map<std::string, std::uint64_t> hostile_closes_ = zeroed(kHostileReasons);
  std::map<std::string, std::uint64_t> ws_closes_ = zeroed(kCloseReasons);
  std::map<std::string, std::uint64_t> dropped_ = zeroed(kDropReasons);
  std::map<std::string, std::uint64_t> bridged_ = zeroed(kBridgePaths);
  ovp::DecoderCounters ws_decoder_;
  ovp::DecoderCounters raw_decoder_;
};

MetricsSnapshot Gateway::Impl::metrics() const {
  MetricsSnapshot s;
  // Every name and label here is fixed and valid: a failure would be a bug in this list.
  auto check = [](Result<void, MetricsError> r) { OMEGA_ASSERT(r.has_value(), "gateway metric rejected"); };
  auto labelled = [&](const char* name, const char* help, const char* label,
                      const std::map<std::string, std::uint64_t>& values) {
    for (const auto& [value, n] : values) check(s.add_counter(name, help, {{label, value}}, n));
  };
  std::size_t http = 0, ws = 0, draining = 0;
  for (const auto& [id, c] : conns_) {
    (c->phase == Phase::Http ? http : c->phase == Phase::WebSocket ? ws : draining) += 1;
  }
  check(s.add_gauge("omega_gateway_uptime_seconds", "Seconds since the gateway started", {},
                    static_cast<double>(native::EventLoop::now_ns() - started_ns_) * 1e-9));
  check(s.add_gauge("omega_gateway_connections", "Open TCP connections by state", {{"state", "http"}},
                    static_cast<double>(http)));
  check(s.add_gauge("omega_gateway_connections", "Open TCP connections by state", {{"state", "websocket"}},
                    static_cast<double>(ws)));
  check(s.add_gauge("omega_gateway_connections", "Open TCP connections by state", {{"state", "closing"}},
                    static_cast<double>(draining)));
  check(s.add_gauge("omega_gateway_bound_drones", "WebSocket connections bound to a drone id", {},
                    static_cast<double>(drones_.size())));
  check(s.add_counter("omega_gateway_connections_accepted_total", "TCP connections accepted", {}, connections_accepted_));
  check(s.add_counter("omega_gateway_websockets_opened_total", "WebSocket handshakes completed", {}, websockets_opened_));
  check(s.add_counter("omega_gateway_accept_errors_total", "accept() failures (out of descriptors or memory)", {},
                      accept_errors_));
  check(s.add_counter("omega_gateway_http_requests_total", "HTTP requests parsed", {}, http_requests_));
  for (const auto& [status, n] : http_responses_) {
    check(s.add_counter("omega_gateway_http_responses_total", "HTTP responses by status",
                        {{"status", std::to_string(status)}}, n));
  }
  labelled("omega_gateway_http_rejects_total", "HTTP requests refused, by reason", "reason", http_rejects_);
  labelled("omega_gateway_handshake_rejects_total", "WebSocket handshakes refused, by reason", "reason",
           handshake_rejects_);
  labelled("omega_gateway_hostile_closes_total", "Connections closed for misbehaving, by reason", "reason",
           hostile_closes_);
  labelled("omega_gateway_websocket_closes_total", "WebSocket drones gone, by how", "reason", ws_closes_);
  labelled("omega_gateway_frames_bridged_total", "OVP frames delivered, by path (one per receiving drone)", "path",
           bridged_);
  labelled("omega_gateway_frames_dropped_total", "OVP frames not delivered, by reason", "reason", dropped_);
  check(s.add_counter("omega_gateway_source_rewrites_total",
                      "Frames whose source field differed from the bound drone id (overwritten)", {}, source_rewrites_));
  check(s.add_counter("omega_gateway_bytes_total", "TCP bytes (HTTP and WebSocket)", {{"direction", "in"}}, bytes_in_));
  check(s.add_counter("omega_gateway_bytes_total", "TCP bytes (HTTP and WebSocket)", {{"direction", "out"}}, bytes_out_));
  check(ws_decoder_.export_to(s, {{"side", "websocket"}}));
  check(raw_decoder_.export_to(s, {{"side", "raw"}}));
  if (raw_) {
    const RawPort::Stats st = raw_->stats();
    const MetricLabels iface{{"interface", raw_->name()}};
    check(s.add_counter("omega_gateway_raw_frames_received_total", "Ethernet frames read from the raw socket", iface,
                        st.received));
    check(s.add_counter("omega_gateway_raw_frames_sent_total", "Ethernet frames the kernel took", iface, st.sent));
    check(s.add_counter("omega_gateway_raw_kernel_drops_total", "Frames the kernel dropped (PACKET_STATISTICS)", iface,
                        st.kernel_drops));
    check(s.add_counter("omega_gateway_raw_send_dropped_total",
                        "Frames lost on the way out (send backlog full, kernel refused)", iface, st.send_dropped));
    check(s.add_counter("omega_gateway_raw_receive_errors_total", "Raw socket receive errors", iface,
                        raw_receive_errors_));
  }
  return s;
}

std::string Gateway::Impl::status_json() const {
  nlohmann::json j;
  j["uptime_s"] = static_cast<double>(native::EventLoop::now_ns() - started_ns_) * 1e-9;
  j["listen"] = "http://" + config_.host + ":" + std::to_string(port_) + "/";
  j["interface"] = raw_ ? nlohmann::json(raw_->name()) : nlohmann::json(nullptr);
  if (raw_) {
    std::string err = last_raw_error_.empty() ? raw_->last_error() : last_raw_error_;
    if (!err.empty()) j["last_raw_error"] = err;
    j["raw_drones_seen"] = raw_sources_.size();
  }
  j["drone_range"] = {config_.drone_min, config_.drone_max};
  nlohmann::json drones = nlohmann::json::array();
  for (const auto& [drone, id] : drones_) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    const Conn& c = *it->second;
    nlohmann::json d{{"id", drone},
                     {"peer", c.peer},
                     {"frames_in", c.frames_in},
                     {"frames_out", c.frames_out},
                     {"queued_bytes", queued_bytes(c)}};
    if (c.groups_declared) d["groups"] = c.groups;
    drones.push_back(std::move(d));
  }
  j["drones"] = std::move(drones);
  j["limits"] = {{"max_connections", config_.max_connections},
                 {"max_message", config_.max_message},
                 {"max_outgoing", config_.max_outgoing},
                 {"rate", config_.rate},
                 {"burst", config_.burst},
                 {"handshake_timeout_ms", config_.handshake_timeout_ms}};
  // The same counters as /metrics, as {"name": value} or {"name{label=\"v\"}": value}.
  nlohmann::json counters = nlohmann::json::object();
  const MetricsSnapshot snapshot = metrics();
  for (const auto& family : snapshot.families()) {
    for (const auto& series : family.series) {
      std::string key = family.name;
      if (!series.labels.empty()) {
        key += "{";
        for (std::size_t i = 0; i < series.labels.size(); ++i) {
          key += (i ? "," : "") + series.labels[i].name + "=\"" + series.labels[i].value + "\"";
        }
        key += "}";
      }
      std::visit(
          [&](const auto& v) {
            if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, HistogramSnapshot>) counters[key] = v;
          },
          series.value);
    }
  }
  j["counters"] = std::move(counters);
  return j.dump();
}

Result<std::unique_ptr<Gateway>, std::string> Gateway::create(native::EventLoop& loop, GatewayConfig config,
                                                              std::unique_ptr<RawPort> raw) {
  auto impl = std::make_unique<Impl>(loop, std::move(config), std::move(raw));
  if (auto r = impl->start(); !r) return Err(r.error());
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() = default;
std::uint16_t Gateway::port() const noexcept { return impl_->port(); }
void Gateway::shutdown(std::function<void()> done) { impl_->shutdown(std::move(done)); }
MetricsSnapshot Gateway::metrics() const { return impl_->metrics(); }
std::string Gateway::status_json() const { return impl_->status_json(); }

}  // namespace omega::gateway
