#pragma once
// omega-gateway's connections, internal to apps/gateway: one Gateway::Impl whose members
// are defined by section, each in its own file, all on the loop thread:
//
//   gateway.cpp     lifecycle: listen, register with the loop, shut down, the public facade
//   connection.cpp  accept, timers, teardown and draining; the end-of-turn flush
//   http_session.cpp  HTTP/1.1 on a connection: requests, responses, static files
//   websocket.cpp   the /ovp handshake, and libwslay's event API driven by the loop
//   bridge.cpp      OVP frames between WebSocket drones and the raw interface
//   metrics.cpp     the counters, /metrics and /status
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
#include <sys/types.h>
#include <wslay/wslay.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/ovp/frame.hpp>

#include "event_loop.hpp"
#include "gateway.hpp"
#include "http.hpp"
#include "options.hpp"

namespace omega::gateway {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Everything /metrics and /status count (loop thread only; rendered on demand). Every
// labelled family starts with all its label values at zero (metrics.cpp lists them), so
// each series exists from the first scrape on.
struct GatewayCounters {
  GatewayCounters();

  std::uint64_t connections_accepted = 0;
  std::uint64_t websockets_opened = 0;
  std::uint64_t accept_errors = 0;
  std::uint64_t http_requests = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t source_rewrites = 0;
  std::uint64_t raw_receive_errors = 0;
  std::map<int, std::uint64_t> http_responses;                // by status
  std::map<std::string, std::uint64_t> http_rejects;          // by reason
  std::map<std::string, std::uint64_t> handshake_rejects;     // by reason
  std::map<std::string, std::uint64_t> hostile_closes;        // by reason
  std::map<std::string, std::uint64_t> ws_closes;             // by how a drone went
  std::map<std::string, std::uint64_t> dropped;               // frames, by reason
  std::map<std::string, std::uint64_t> bridged;               // frames, by path
  ovp::DecoderCounters ws_decoder;
  ovp::DecoderCounters raw_decoder;
};

class Gateway::Impl {
 public:
  Impl(native::EventLoop& loop, GatewayConfig config, std::unique_ptr<RawPort> raw);
  ~Impl();

  // ---- lifecycle (gateway.cpp) --------------------------------------------------------------
  Result<void, std::string> start();
  std::uint16_t port() const noexcept { return port_; }
  void shutdown(std::function<void()> done);

  // ---- metrics (metrics.cpp) ------------------------------------------------------------------
  MetricsSnapshot metrics() const;
  std::string status_json() const;

 private:
  enum class Phase : std::uint8_t { Http, WebSocket, Draining };
  enum class TimerKind : std::uint8_t { None, Request, Idle, Close };
  // What a non-blocking write or read did: all of it / would block / the peer is gone.
  enum class Io : std::uint8_t { Done, Pending, Failed };

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

  // ---- lifecycle (gateway.cpp) --------------------------------------------------------------
  // Calls the shutdown callback (on the loop) once shutting down and no connection is left.
  void maybe_finish_shutdown();
  void finish_shutdown();

  // ---- connections (connection.cpp) -----------------------------------------------------------
  Conn* find(std::uint64_t id);
  void accept_all();
  // One timer per connection; arming replaces the previous one.
  void arm(Conn& c, TimerKind kind, std::int64_t ms);
  void disarm(Conn& c);
  void on_timer(std::uint64_t id);
  void on_event(std::uint64_t id, std::uint32_t events);
  // Frees the connection's resources without touching the map.
  void release(Conn& c);
  // Frees the connection's drone id, if it still holds it.
  void unbind(Conn& c);
  // reason: how a WebSocket drone's connection ended (client_close, peer_gone, hostile,
  // server_shutdown) unless an earlier close already said (close_reason).
  void teardown(Conn& c, const char* reason);
  // Our side is done: send FIN after what is queued, discard input until the peer closes.
  void begin_drain(Conn& c);
  void drain(Conn& c);
  // Sends buf from `off` on until it is all sent (then empties it) or the socket is full;
  // counts the bytes. The HTTP output and the WebSocket write buffer go out through it.
  Io send_buffered(int fd, std::string& buf, std::size_t& off);
  // Queues the connection for the end-of-turn flush (flush_dirty, deferred on the loop),
  // which writes every marked WebSocket and the raw frames queued in the turn.
  void mark_dirty(Conn& c);
  void flush_dirty();

  // ---- HTTP (http_session.cpp) ----------------------------------------------------------------
  // Writes `out`, then the file being served. Done: all of it.
  Io write_out(Conn& c);
  static void close_file(Conn& c);
  // Reads what fits under the head limit. Done: read something; Pending: nothing waiting.
  Io read_in(Conn& c);
  // Writes what is pending, then parses and answers requests until the input runs dry;
  // switches to the WebSocket once the 101 is written.
  void pump_http(Conn& c);
  Headers base_headers() const;
  // `length`: the Content-Length when the body is not `body` (a file sent after the head).
  void respond(Conn& c, int status, Headers headers, const std::string& body, bool head_only, bool keep_alive,
               std::optional<std::size_t> length = std::nullopt);
  // A text/plain answer that closes the connection.
  void respond_text(Conn& c, int status, const std::string& text, Headers extra = {});
  void reject_http(Conn& c, const HttpError& e);
  void handle_request(Conn& c, const std::string& head);
  void serve_file(Conn& c, const HttpRequest& req, bool head_only, bool keep);

  // ---- WebSocket (websocket.cpp) --------------------------------------------------------------
  bool origin_allowed(const HttpRequest& req) const;
  void reject_handshake(Conn& c, int status, const char* reason, const std::string& detail, Headers extra = {});
  // Checks a GET /ovp and binds the drone id it asks for; the 101 goes out with `out`.
  void handshake(Conn& c, const HttpRequest& req);
  static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int, void* user);
  // wslay writes frames into the connection's write buffer (header and payload of many
  // frames coalesce); ws_flush hands the buffer to the kernel in one send. The buffer takes at
  // most kWriteBuffer bytes: past that wslay keeps the rest queued (and counted).
  static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len, int, void* user);
  static void ws_msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user);
  // Bytes queued to a client and not yet taken by the kernel.
  static std::size_t queued_bytes(const Conn& c) {
    return (c.ws ? wslay_event_get_queued_msg_length(c.ws) : 0) + (c.wbuf.size() - c.wbuf_off);
  }
  void start_ws(Conn& c);
  void ws_pump(Conn& c, std::uint32_t events);
  void ws_flush(Conn& c);
  void count_violation(Conn& c);
  // Closes a WebSocket with `code`; `hostile` names the counter (nullptr: not hostile).
  void close_ws(Conn& c, std::uint16_t code, const char* text, const char* hostile);
  // The per-connection message rate limit (token bucket: config rate and burst).
  bool take_token(Conn& c);
  void on_message(Conn& c, const wslay_event_on_msg_recv_arg& arg);

  // ---- the bridge (bridge.cpp) ----------------------------------------------------------------
  // A binary message from a bound drone: decoded (bad frames counted and dropped), its
  // source overwritten with the bound id, then routed.
  void on_frame(Conn& c, std::span<const std::uint8_t> msg);
  // Delivers one OVP frame (header + payload) to whom it addresses. `from`: the WebSocket
  // drone it came from, or nullptr for the raw interface.
  void route(const std::vector<std::uint8_t>& frame, const ovp::FrameHeader& h, Conn* from);
  void send_ws(Conn& to, const std::vector<std::uint8_t>& frame, const char* path);
  void queue_raw(const std::vector<std::uint8_t>& frame, const ovp::FrameHeader& h);
  void flush_raw();
  void flush_raw_retry();
  void raw_receive();
  void forget_old_raw_sources(std::int64_t now);

  static constexpr std::size_t kRawBatch = 64;
  static constexpr std::size_t kWriteBuffer = 64 * 1024;
  static constexpr std::size_t kMaxGroups = 64;
  static constexpr std::size_t kMaxRawSources = 4096;
  // A raw-side source id is "in use" for this long after its last frame.
  static constexpr std::int64_t kRawSourceMemoryNs = 10'000'000'000;

  // Lifecycle.
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

  // Connections.
  std::uint64_t next_conn_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<std::uint64_t> dirty_;
  bool flush_scheduled_ = false;

  // The bridge.
  std::map<std::uint32_t, std::uint64_t> drones_;  // bound drone id -> connection id
  std::vector<RawPort::Outgoing> raw_out_;
  native::EventLoop::TimerId raw_retry_ = 0;
  struct RawSource {
    std::int64_t last_seen = 0;  // ns
    ovp::MacAddress mac{};
  };
  // Native drones seen on the raw side (bounded: kMaxRawSources; stale ones are forgotten).
  std::unordered_map<std::uint32_t, RawSource> raw_sources_;
  std::string last_raw_error_;

  GatewayCounters counters_;
};

}  // namespace omega::gateway
