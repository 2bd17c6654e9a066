// The gateway's WebSocket side: the /ovp handshake (binding a drone id and its groups), and
// libwslay's event API driven by the loop: reads on readiness, writes coalesced in the
// connection's write buffer, close handshakes, and hostile clients closed with a code.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gateway_impl.hpp"

namespace omega::gateway {

bool Gateway::Impl::origin_allowed(const HttpRequest& req) const {
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

void Gateway::Impl::reject_handshake(Conn& c, int status, const char* reason, const std::string& detail, Headers extra) {
  ++counters_.handshake_rejects[reason];
  respond_text(c, status, detail + "\n", std::move(extra));
}

void Gateway::Impl::handshake(Conn& c, const HttpRequest& req) {
  if (req.method != "GET") {
    ++counters_.http_rejects["method"];
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
  ++counters_.http_responses[101];
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

ssize_t Gateway::Impl::ws_recv_cb(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int, void* user) {
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
      c.owner->counters_.bytes_in += static_cast<std::uint64_t>(n);
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

ssize_t Gateway::Impl::ws_send_cb(wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len, int, void* user) {
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

void Gateway::Impl::ws_msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
  auto& c = *static_cast<Conn*>(user);
  c.owner->on_message(c, *arg);
}

void Gateway::Impl::start_ws(Conn& c) {
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
  ++counters_.websockets_opened;
  ws_pump(c, EPOLLIN | EPOLLOUT);
}

void Gateway::Impl::ws_pump(Conn& c, std::uint32_t events) {
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

void Gateway::Impl::ws_flush(Conn& c) {
  c.dirty = false;
  for (;;) {
    if (wslay_event_send(c.ws) != 0) return teardown(c, c.close_reason ? c.close_reason : "peer_gone");
    const Io w = send_buffered(c.fd, c.wbuf, c.wbuf_off);
    if (w == Io::Failed) return teardown(c, c.close_reason ? c.close_reason : "peer_gone");
    if (w == Io::Pending || !wslay_event_want_write(c.ws)) break;  // EPOLLOUT resumes; or all sent
  }
  // The close frame is on the wire only once the write buffer is empty too.
  if (wslay_event_get_close_sent(c.ws) && c.wbuf_off == c.wbuf.size()) {
    if (c.violation && c.close_reason == nullptr) count_violation(c);
    begin_drain(c);
  }
}

void Gateway::Impl::count_violation(Conn& c) {
  const std::uint16_t code = wslay_event_get_close_sent(c.ws) ? wslay_event_get_status_code_sent(c.ws) : 0;
  const char* reason = code == WSLAY_CODE_MESSAGE_TOO_BIG            ? "oversize"
                       : code == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA ? "invalid_utf8"
                                                                      : "protocol_error";
  ++counters_.hostile_closes[reason];
  c.close_reason = "hostile";
}

void Gateway::Impl::close_ws(Conn& c, std::uint16_t code, const char* text, const char* hostile) {
  if (c.closing) return;
  c.closing = true;
  if (hostile) {
    ++counters_.hostile_closes[hostile];
    c.close_reason = "hostile";
  }
  wslay_event_queue_close(c.ws, code, reinterpret_cast<const std::uint8_t*>(text), std::strlen(text));
  wslay_event_shutdown_read(c.ws);
  arm(c, TimerKind::Close, config_.close_timeout_ms);
  mark_dirty(c);
}

bool Gateway::Impl::take_token(Conn& c) {
  const std::int64_t now = native::EventLoop::now_ns();
  c.tokens = std::min(config_.burst, c.tokens + config_.rate * static_cast<double>(now - c.refill_ns) * 1e-9);
  c.refill_ns = now;
  if (c.tokens < 1) return false;
  c.tokens -= 1;
  return true;
}

void Gateway::Impl::on_message(Conn& c, const wslay_event_on_msg_recv_arg& arg) {
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

}  // namespace omega::gateway
