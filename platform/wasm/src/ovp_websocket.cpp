#include "ovp_websocket.hpp"

#include <emscripten/em_js.h>
#include <emscripten/threading.h>
#include <emscripten/websocket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <omega/base/clock.hpp>
#include <omega/ovp/endpoint.hpp>
#include <omega/ovp/frame.hpp>

#include "io/ovp_session.hpp"

// JS helpers. They run on the main runtime thread only (see the header).

// Checks the gateway URL the way the WebSocket constructor will (so that constructor never
// throws into C++), appends drone=<id> (and groups=<a,b>: the gateway then forwards only
// those groups' frames), and writes the URL to connect to into `out`; or writes "!" and the
// reason. Returns the bytes needed (including the terminator).
EM_JS(int, omega_ovp_ws_prepare_url, (const char* url, unsigned drone, const char* groups, char* out, int out_len), {
  var s = UTF8ToString(url);
  var r;
  try {
    var u = new URL(s);
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
      r = '!the scheme must be ws:// or wss://, got ' + u.protocol + '//';
    } else if (u.hash) {
      r = '!a WebSocket URL may not carry a fragment (' + u.hash + ')';
    } else if (u.searchParams.has('drone') || u.searchParams.has('groups')) {
      r = '!the URL already has a drone or groups parameter; the transport appends ?drone=<my_drone_id> ' +
          '(and groups=) itself';
    } else if (typeof WebSocket == 'undefined') {
      r = '!this JavaScript environment has no WebSocket (Node 20: install the "ws" package where ' +
          '@ultra-omega/omega can import it, or run node --experimental-websocket)';
    } else {
      u.searchParams.set('drone', String(drone >>> 0));
      var g = UTF8ToString(groups);
      if (g) u.searchParams.set('groups', g);
      r = u.href;
    }
  } catch (e) {
    r = '!not a valid URL (' + e.message + ')';
  }
  var n = lengthBytesUTF8(r) + 1;
  if (n <= out_len) stringToUTF8(r, out, out_len);
  return n;
});

// One-shot timer that calls fn(arg) (fn: a void(void*) function; EM_JS cannot spell its type). Unlike emscripten_set_timeout, clearing it leaves the
// runtime's keep-alive count balanced, and a cleared timer hands `arg` back to be freed.
EM_JS(int, omega_ovp_ws_set_timer, (double ms, void* fn, void* arg), {
  var timers = Module['__omegaOvpTimers'] || (Module['__omegaOvpTimers'] = { next: 1, live: new Map() });
  var id = timers.next++;
  var handle = setTimeout(function() {
    timers.live.delete(id);
    wasmTable.get(fn)(arg);
  }, ms);
  timers.live.set(id, { handle: handle, arg: arg });
  return id;
});
// Returns the cleared timer's `arg`, or 0 if it already ran.
EM_JS(void*, omega_ovp_ws_clear_timer, (int id), {
  var timers = Module['__omegaOvpTimers'];
  var t = timers && timers.live.get(id);
  if (!t) return 0;
  clearTimeout(t.handle);
  timers.live.delete(id);
  return t.arg;
});
// Runs fn(arg) once the current JS task is done: emits made in one task share one flush.
EM_JS(void, omega_ovp_ws_microtask, (void* fn, void* arg), {
  queueMicrotask(function() { wasmTable.get(fn)(arg); });
});
// Drops the library's reference to a deleted socket. Emscripten 3.1.6's
// emscripten_websocket_delete() does `delete WS.sockets[socket]` with the socket object as
// the key, so every closed WebSocket would otherwise stay reachable for the page's lifetime.
EM_JS(void, omega_ovp_ws_forget, (int id), {
  if (typeof WS == 'object' && WS.sockets[id]) WS.sockets[id] = null;
});
// Tells the JS package that I/O operations completed (it resolves their Promises).
EM_JS(void, omega_ovp_ws_wake, (), {
  if (typeof Module['__omegaIoWake'] == 'function') Module['__omegaIoWake']();
});

namespace omega::wasm {

namespace {

constexpr std::size_t kMaxUrlBytes = 4096;
// Bytes the browser may hold unsent per connection before emits fail with backpressure.
constexpr unsigned long long kMaxBufferedBytes = 8ull << 20;

// The only close code below 3000 a script may send (WebSocket.close() throws for 1001 and
// the like), and Emscripten would let that exception unwind through C++.
constexpr unsigned short kCloseNormal = 1000;

bool on_main_thread() noexcept { return emscripten_is_main_runtime_thread() != 0; }

std::string describe_close(unsigned short code, const char* reason) {
  std::string s = "close code " + std::to_string(code);
  if (code == 1006) s += ", abnormal: no close frame";
  if (reason && *reason) s += std::string(", reason \"") + reason + "\"";
  return s;
}

// The WASM FrameLink: each OVP frame is one binary message on the connection's WebSocket
// (the browser queues what it cannot send yet, so nothing is ever backlogged here). Main
// thread only, like every WebSocket call.
class WebSocketLink final : public io::FrameLink {
 public:
  WebSocketLink(std::string url, Counter& sent, Counter& failures)
      : url_(std::move(url)), sent_(sent), failures_(failures) {}
  void attach(int ws) noexcept { ws_ = ws; }
  void detach() noexcept { ws_ = 0; }

  [[nodiscard]] Framing framing() const noexcept override { return Framing::Ovp; }
  [[nodiscard]] std::size_t mtu() const noexcept override { return ovp::kMaxOvpSize; }
  void queue(std::uint32_t, const ovp::MacAddress*, std::span<const std::uint8_t> frame) override {
    ++queued_;
    if (ws_ > 0 && emscripten_websocket_send_binary(ws_, const_cast<std::uint8_t*>(frame.data()),
                                                    static_cast<std::uint32_t>(frame.size())) ==
                       EMSCRIPTEN_RESULT_SUCCESS) {
      sent_.add();
    } else {
      failures_.add();
      refused_ = true;
    }
  }
  bool transmit(std::string& error) override {
    if (std::exchange(refused_, false)) error = "the WebSocket to " + url_ + " refused the frame";
    return std::exchange(queued_, 0) > 0;
  }
  [[nodiscard]] std::string congested() const override {
    unsigned long long buffered = 0;
    if (ws_ <= 0 || emscripten_websocket_get_buffered_amount(ws_, &buffered) != EMSCRIPTEN_RESULT_SUCCESS ||
        buffered <= kMaxBufferedBytes) {
      return {};
    }
    failures_.add();
    return "the WebSocket to " + url_ + " has " + std::to_string(buffered) + " bytes waiting to be sent (limit " +
           std::to_string(kMaxBufferedBytes) + "): the gateway or the network is slower than the emits; back off";
  }

 private:
  const std::string url_;
  int ws_ = 0;
  std::size_t queued_ = 0;
  bool refused_ = false;
  Counter& sent_;
  Counter& failures_;
};

}  // namespace

// What a WebSocket callback needs to find its connection. Owned by the connection, deleted
// on the main thread right after its WebSocket is deleted (which unhooks the callbacks).
struct WsHandle {
  std::weak_ptr<OvpWebSocketCore> core;
  std::uint64_t token = 0;
};

class OvpWebSocketCore : public std::enable_shared_from_this<OvpWebSocketCore> {
 public:
  explicit OvpWebSocketCore(IoCounters& counters) : counters_(counters) {}

  void submit(IoRequest request) noexcept;
  void shutdown() noexcept;
  void add_metrics(MetricsSnapshot& snapshot) const;

  // Main-thread entry points (callbacks).
  void on_open(std::uint64_t token);
  void on_error(std::uint64_t token);
  void on_close(std::uint64_t token, unsigned short code, const char* reason);
  void on_message(std::uint64_t token, const std::uint8_t* data, std::uint32_t size, bool text);
  void on_timer();
  void on_flush();
  void drain();

 private:
  // Connecting: OvpInit waits for the handshake (its token is not handed out yet).
  // Failed: the connection went away; the session fails every operation with the reason
  // until OvpClose. Lingering: closed by OvpClose while reliable messages are still
  // unacknowledged (io::OvpSession::close); the token is stale.
  enum class State { Connecting, Open, Failed, Lingering };
  struct Conn {
    std::uint64_t token = 0;
    std::string url;  // with ?drone=
    int ws = 0;
    WsHandle* handle = nullptr;
    State state = State::Connecting;
    std::optional<IoCompletion> init;
    std::int64_t init_deadline = INT64_MAX;
    std::unique_ptr<io::OvpSession> session;
    WebSocketLink* link = nullptr;  // the session's
  };
  struct ToClose {
    int ws;
    WsHandle* handle;
    unsigned short code;
  };
  using ConnMap = std::map<std::uint64_t, std::unique_ptr<Conn>>;

  // All below run on the main thread with mutex_ held.
  void process(IoRequest&& request);
  void init(io_ops::OvpInit&& op, std::int64_t deadline, IoCompletion&& done);
  void close(const io_ops::OvpClose& op, IoCompletion&& done);
  Conn* find(SocketToken token, const char* op, IoCompletion& done);
  void fail_connect(ConnMap::iterator it, const std::string& detail);
  void release_socket(Conn& c, unsigned short code);
  // Ends lingers that are done, closes released sockets (outside mutex_), re-arms the
  // timer, wakes JS. Called after every main-thread entry point.
  void after_turn();
  void schedule_flush();

  IoCounters& counters_;  // touched only while !stopped_ (the circulation outlives shutdown)
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::vector<IoRequest> inbox_;  // from other threads, for the main thread
  bool drain_scheduled_ = false;
  std::vector<ToClose> to_close_;  // released sockets: after_turn() closes them on the main thread, unlocked
  ConnMap conns_;
  std::uint64_t next_token_ = 1;
  std::uint32_t last_epoch_ = 0;
  bool woke_ = false;  // an operation completed during this turn
  int timer_ = 0;
  std::int64_t timer_at_ = INT64_MAX;
  bool flush_scheduled_ = false;

  // Transport totals (they outlive each connection's session).
  Counter connects_, connect_failures_, disconnects_, messages_sent_, messages_received_, text_messages_,
      malformed_messages_, send_failures_;
};

// ---- callbacks ----------------------------------------------------------------------

namespace {

std::shared_ptr<OvpWebSocketCore> core_of(void* user, std::uint64_t& token) {
  auto* handle = static_cast<WsHandle*>(user);
  token = handle->token;
  return handle->core.lock();
}

EM_BOOL ws_on_open(int, const EmscriptenWebSocketOpenEvent*, void* user) {
  std::uint64_t token;
  if (auto core = core_of(user, token)) core->on_open(token);
  return EM_TRUE;
}
EM_BOOL ws_on_error(int, const EmscriptenWebSocketErrorEvent*, void* user) {
  std::uint64_t token;
  if (auto core = core_of(user, token)) core->on_error(token);
  return EM_TRUE;
}
EM_BOOL ws_on_close(int, const EmscriptenWebSocketCloseEvent* e, void* user) {
  std::uint64_t token;
  if (auto core = core_of(user, token)) core->on_close(token, e->code, e->reason);
  return EM_TRUE;
}
EM_BOOL ws_on_message(int, const EmscriptenWebSocketMessageEvent* e, void* user) {
  std::uint64_t token;
  if (auto core = core_of(user, token)) core->on_message(token, e->data, e->numBytes, e->isText != 0);
  return EM_TRUE;
}

// Main-thread trampolines: each owns one strong reference, taken when it was scheduled.
void run_timer(void* arg) {
  std::unique_ptr<std::shared_ptr<OvpWebSocketCore>> core(static_cast<std::shared_ptr<OvpWebSocketCore>*>(arg));
  (*core)->on_timer();
}
void run_flush(void* arg) {
  std::unique_ptr<std::shared_ptr<OvpWebSocketCore>> core(static_cast<std::shared_ptr<OvpWebSocketCore>*>(arg));
  (*core)->on_flush();
}
[[maybe_unused]] void run_drain(void* arg) {
  std::unique_ptr<std::shared_ptr<OvpWebSocketCore>> core(static_cast<std::shared_ptr<OvpWebSocketCore>*>(arg));
  (*core)->drain();
}

}  // namespace

// ---- submission ---------------------------------------------------------------------

void OvpWebSocketCore::submit(IoRequest request) noexcept {
  if (on_main_thread()) {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        request.done.fail(kIoShuttingDown);
        return;
      }
      process(std::move(request));
    }
    after_turn();
    return;
  }
#if defined(__EMSCRIPTEN_PTHREADS__)
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    if (stopped_) {
      request.done.fail(kIoShuttingDown);
      return;
    }
    inbox_.push_back(std::move(request));
    schedule = !std::exchange(drain_scheduled_, true);
  }
  if (schedule) {
    emscripten_async_run_in_main_runtime_thread(EM_FUNC_SIG_VI, &run_drain,
                                                new std::shared_ptr<OvpWebSocketCore>(shared_from_this()));
  }
#else
  request.done.fail("OVP: submitted from a thread in the single-threaded build");  // cannot happen
#endif
}

void OvpWebSocketCore::drain() {
  {
    std::lock_guard lock(mutex_);
    drain_scheduled_ = false;
    auto batch = std::move(inbox_);
    inbox_.clear();
    for (auto& request : batch) {
      if (stopped_) {
        request.done.fail(kIoShuttingDown);
      } else {
        process(std::move(request));
      }
    }
  }
  after_turn();
}

void OvpWebSocketCore::process(IoRequest&& request) {
  const std::int64_t deadline = request.deadline_ns;
  const std::int64_t now = now_ns();
  auto& op = request.op.variant();
  if (auto* init_op = std::get_if<io_ops::OvpInit>(&op)) {
    init(std::move(*init_op), deadline, std::move(request.done));
  } else if (auto* emit_op = std::get_if<io_ops::OvpEmit>(&op)) {
    if (Conn* c = find(emit_op->socket_token, "OvpEmit", request.done)) {
      c->session->emit(*emit_op, std::move(request.done), now);
      schedule_flush();  // emits made in one JS task share one flush
    }
  } else if (auto* receive_op = std::get_if<io_ops::OvpReceive>(&op)) {
    if (Conn* c = find(receive_op->socket_token, "OvpReceive", request.done)) {
      c->session->receive(std::move(request.done), deadline, now);
    }
  } else if (auto* close_op = std::get_if<io_ops::OvpClose>(&op)) {
    close(*close_op, std::move(request.done));
  } else {
    request.done.fail("OVP transport: not an OVP operation");
  }
}

void OvpWebSocketCore::init(io_ops::OvpInit&& op, std::int64_t deadline, IoCompletion&& done) {
  std::string groups;
  for (auto g : op.groups) groups += (groups.empty() ? "" : ",") + std::to_string(g);
  std::string url(kMaxUrlBytes, '\0');
  const int need = omega_ovp_ws_prepare_url(op.interface.c_str(), op.my_drone_id, groups.c_str(), url.data(),
                                            static_cast<int>(url.size()));
  if (need > static_cast<int>(url.size())) {
    done.fail("OvpInit: the gateway URL is longer than " + std::to_string(kMaxUrlBytes) + " bytes");
    return;
  }
  url.resize(static_cast<std::size_t>(need - 1));
  if (!url.empty() && url[0] == '!') {
    done.fail("OvpInit: \"" + op.interface + "\" is not a usable gateway URL: " + url.substr(1));
    return;
  }
  // A fresh incarnation per connection, above any this transport used (see session_epoch).
  const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  last_epoch_ = ovp::session_epoch(static_cast<std::uint64_t>(unix_ms.count()), last_epoch_);
  auto link = std::make_unique<WebSocketLink>(url, messages_sent_, send_failures_);
  WebSocketLink* link_ptr = link.get();
  auto session = io::OvpSession::create(op, last_epoch_, std::move(link));
  if (!session) {
    done.fail("OvpInit: " + session.error());
    return;
  }
  auto conn = std::make_unique<Conn>();
  conn->token = next_token_++;
  conn->url = std::move(url);
  conn->session = std::move(*session);
  conn->link = link_ptr;
  conn->handle = new WsHandle{weak_from_this(), conn->token};
  EmscriptenWebSocketCreateAttributes attrs;
  emscripten_websocket_init_create_attributes(&attrs);
  attrs.url = conn->url.c_str();
  attrs.protocols = nullptr;
  attrs.createOnMainThread = EM_TRUE;
  const int ws = emscripten_websocket_new(&attrs);
  if (ws <= 0) {
    delete conn->handle;
    connect_failures_.add();
    done.fail("OvpInit: could not create a WebSocket to " + conn->url + " (emscripten result " + std::to_string(ws) +
              ")");
    return;
  }
  conn->ws = ws;
  emscripten_websocket_set_onopen_callback(ws, conn->handle, &ws_on_open);
  emscripten_websocket_set_onerror_callback(ws, conn->handle, &ws_on_error);
  emscripten_websocket_set_onclose_callback(ws, conn->handle, &ws_on_close);
  emscripten_websocket_set_onmessage_callback(ws, conn->handle, &ws_on_message);
  conn->init.emplace(std::move(done));
  conn->init_deadline = deadline;
  counters_.open_sockets.add(1);
  conns_.emplace(conn->token, std::move(conn));
}

OvpWebSocketCore::Conn* OvpWebSocketCore::find(SocketToken token, const char* op, IoCompletion& done) {
  auto it = conns_.find(token.value);
  if (it == conns_.end() || it->second->state == State::Connecting || it->second->state == State::Lingering) {
    // Connecting: the token has not been handed out yet, so whoever names it guessed.
    // Lingering: it was closed.
    counters_.bad_tokens.add();
    done.fail(std::string(op) + ": bad socket token " + std::to_string(token.value) +
              " (never issued, or its socket was closed)");
    return nullptr;
  }
  return it->second.get();
}

void OvpWebSocketCore::close(const io_ops::OvpClose& op, IoCompletion&& done) {
  Conn* c = find(op.socket_token, "OvpClose", done);
  if (!c) return;
  const bool linger = c->state == State::Open && c->session->close(now_ns());
  if (linger) {
    c->state = State::Lingering;  // after_turn() releases the socket once the session is done
  } else {
    release_socket(*c, kCloseNormal);
    conns_.erase(c->token);
  }
  woke_ = true;
  done.complete(IoOutput{});
}

// The socket is closed and deleted by after_turn(), outside mutex_: some WebSocket
// implementations (Node's undici) fire error/close events synchronously inside close(),
// and those callbacks take mutex_.
void OvpWebSocketCore::release_socket(Conn& c, unsigned short code) {
  if (c.ws > 0) {
    to_close_.push_back(ToClose{c.ws, c.handle, code});
    c.ws = 0;
    c.handle = nullptr;
    c.link->detach();
    counters_.open_sockets.add(-1);
  }
}

// ---- main-thread events ---------------------------------------------------------------

void OvpWebSocketCore::on_open(std::uint64_t token) {
  {
    std::lock_guard lock(mutex_);
    auto it = conns_.find(token);
    if (stopped_ || it == conns_.end() || it->second->state != State::Connecting) return;
    Conn& c = *it->second;
    c.state = State::Open;
    c.link->attach(c.ws);
    connects_.add();
    IoOutput out;
    out.socket = SocketToken{c.token};
    c.init->complete(std::move(out));
    c.init.reset();
    woke_ = true;
    schedule_flush();  // the HELLO
  }
  after_turn();
}

void OvpWebSocketCore::fail_connect(ConnMap::iterator it, const std::string& detail) {
  Conn& c = *it->second;
  connect_failures_.add();
  // Browsers report a refused connection, a failed TLS handshake and an HTTP refusal of the
  // upgrade (the gateway rejecting the drone id, Origin or path) alike: an error event, then
  // close code 1006. Scripts are not told which.
  c.init->fail("OvpInit: could not connect to " + c.url +
               ": connection refused, or the gateway rejected the WebSocket handshake (drone id already "
               "connected or not allowed, wrong path, Origin refused) (" +
               detail + ")");
  c.init.reset();
  woke_ = true;
  release_socket(c, 0);
  conns_.erase(it);  // its token was never handed out
}

// Before the handshake completes an error ends the attempt at once: Node 20's experimental
// WebSocket reports a refused connection with an error event and no close event. Once open,
// the close event that follows an error carries the code, so the error is left to it.
void OvpWebSocketCore::on_error(std::uint64_t token) {
  {
    std::lock_guard lock(mutex_);
    auto it = conns_.find(token);
    if (stopped_ || it == conns_.end() || it->second->state != State::Connecting) return;
    fail_connect(it, "WebSocket error before the handshake completed");
  }
  after_turn();
}

void OvpWebSocketCore::on_close(std::uint64_t token, unsigned short code, const char* reason) {
  {
    std::lock_guard lock(mutex_);
    auto it = conns_.find(token);
    if (stopped_ || it == conns_.end()) return;
    Conn& c = *it->second;
    if (c.state == State::Connecting) {
      fail_connect(it, describe_close(code, reason));
    } else if (c.state == State::Open) {
      disconnects_.add();
      c.state = State::Failed;
      c.session->fail("the OVP gateway connection " + c.url + " closed (" + describe_close(code, reason) + ")");
      release_socket(c, 0);
    } else if (c.state == State::Lingering) {
      release_socket(c, 0);  // what was still unacknowledged is lost with the connection
      conns_.erase(it);
    }
  }
  after_turn();
}

void OvpWebSocketCore::on_message(std::uint64_t token, const std::uint8_t* data, std::uint32_t size, bool text) {
  {
    std::lock_guard lock(mutex_);
    auto it = conns_.find(token);
    if (stopped_ || it == conns_.end() ||
        (it->second->state != State::Open && it->second->state != State::Lingering)) {
      return;
    }
    Conn& c = *it->second;
    messages_received_.add();
    if (text) {
      text_messages_.add();  // the gateway speaks binary only
      malformed_messages_.add();
      return;
    }
    const std::int64_t now = now_ns();
    // A bad frame is counted by reason in the session's decoder, and here.
    if (!c.session->on_frame(std::span<const std::uint8_t>(data, size), now)) malformed_messages_.add();
    if (c.session->next_deadline(now) <= now) schedule_flush();  // acks
  }
  after_turn();
}

void OvpWebSocketCore::on_flush() {
  {
    std::lock_guard lock(mutex_);
    flush_scheduled_ = false;
    if (stopped_) return;
    const std::int64_t now = now_ns();
    for (auto& [token, c] : conns_) {
      if (c->state == State::Open || c->state == State::Lingering) (void)c->session->flush(now);
    }
  }
  after_turn();
}

void OvpWebSocketCore::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  omega_ovp_ws_microtask(reinterpret_cast<void*>(&run_flush), new std::shared_ptr<OvpWebSocketCore>(shared_from_this()));
}

void OvpWebSocketCore::on_timer() {
  {
    std::lock_guard lock(mutex_);
    timer_ = 0;
    timer_at_ = INT64_MAX;
    if (stopped_) return;
    const std::int64_t now = now_ns();
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn& c = *it->second;
      if (c.init && c.init_deadline <= now) {
        c.init->complete(Err(TaskError::TimedOut{}));  // cancelled: the socket goes
        c.init.reset();
        woke_ = true;
        release_socket(c, kCloseNormal);
        it = conns_.erase(it);
        continue;
      }
      if (c.state != State::Connecting) (void)c.session->service(now);  // timeouts, retransmissions
      ++it;
    }
  }
  after_turn();
}

void OvpWebSocketCore::after_turn() {
  std::vector<ToClose> closing;
  bool wake;
  {
    std::lock_guard lock(mutex_);
    const std::int64_t now = now_ns();
    std::int64_t next = INT64_MAX;
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn& c = *it->second;
      if (c.session->take_resolved()) woke_ = true;
      if (c.state == State::Lingering && c.session->finished(now)) {
        release_socket(c, kCloseNormal);
        it = conns_.erase(it);
        continue;
      }
      if (!stopped_) {
        if (c.init) next = std::min(next, c.init_deadline);
        if (c.state != State::Connecting) next = std::min(next, c.session->next_deadline(now));
      }
      ++it;
    }
    closing = std::move(to_close_);
    to_close_.clear();
    if (next != timer_at_) {
      if (timer_ != 0) delete static_cast<std::shared_ptr<OvpWebSocketCore>*>(omega_ovp_ws_clear_timer(timer_));
      timer_ = 0;
      timer_at_ = next;
      if (next != INT64_MAX) {
        // setTimeout takes at most 2^31-1 ms (a later deadline re-arms when that fires).
        // Rounded up: timers take whole milliseconds, and one that fired early would find
        // nothing due and re-arm.
        const double ms = next <= now ? 0.0 : std::min(std::ceil(static_cast<double>(next - now) / 1e6), 2147483647.0);
        timer_ = omega_ovp_ws_set_timer(ms, reinterpret_cast<void*>(&run_timer), new std::shared_ptr<OvpWebSocketCore>(shared_from_this()));
      }
    }
    wake = std::exchange(woke_, false);
  }
  for (auto& t : closing) {
    if (t.code != 0) emscripten_websocket_close(t.ws, t.code, nullptr);
    emscripten_websocket_delete(t.ws);  // unhooks the callbacks: `handle` is unreachable now
    omega_ovp_ws_forget(t.ws);
    delete t.handle;
  }
  if (wake) omega_ovp_ws_wake();
}

// ---- shutdown and metrics -------------------------------------------------------------

void OvpWebSocketCore::shutdown() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& r : inbox_) r.done.fail(kIoShuttingDown);
    inbox_.clear();
    for (auto& [token, c] : conns_) {
      if (c->init) c->init->fail(std::string("OvpInit: ") + kIoShuttingDown);
      c->session->fail(kIoShuttingDown);
      if (c->ws > 0) {
        to_close_.push_back(ToClose{c->ws, c->handle, kCloseNormal});
        c->link->detach();
        counters_.open_sockets.add(-1);
      }
    }
    conns_.clear();
    woke_ = true;
  }
  if (on_main_thread()) {
    after_turn();  // closes the sockets and disarms the timer now
  } else {
#if defined(__EMSCRIPTEN_PTHREADS__)
    emscripten_async_run_in_main_runtime_thread(EM_FUNC_SIG_VI, &run_drain,
                                                new std::shared_ptr<OvpWebSocketCore>(shared_from_this()));
#endif
  }
}

void OvpWebSocketCore::add_metrics(MetricsSnapshot& snap) const {
  std::lock_guard lock(mutex_);
  const struct {
    const char* name;
    const char* help;
    const Counter& counter;
  } rows[] = {
      {"omega_ovp_ws_connects_total", "OVP gateway WebSocket connections opened", connects_},
      {"omega_ovp_ws_connect_failures_total",
       "OVP gateway connections refused, rejected at the handshake, or not creatable", connect_failures_},
      {"omega_ovp_ws_disconnects_total", "Open OVP gateway connections the gateway or network closed", disconnects_},
      {"omega_ovp_ws_messages_sent_total", "Binary WebSocket messages (OVP frames) sent", messages_sent_},
      {"omega_ovp_ws_messages_received_total", "WebSocket messages received from the gateway", messages_received_},
      {"omega_ovp_ws_malformed_messages_total",
       "Messages from the gateway dropped as malformed (text, or not a valid OVP frame)", malformed_messages_},
      {"omega_ovp_ws_text_messages_total", "Text messages from the gateway (it speaks binary only)", text_messages_},
      {"omega_ovp_ws_send_failures_total", "Frames the WebSocket refused, or emits refused for a full send buffer",
       send_failures_},
  };
  for (const auto& row : rows) (void)snap.add_counter(row.name, row.help, {}, row.counter.value());
  // The native reactor's series and labels, so dashboards read both alike.
  for (const auto& [token, c] : conns_) c->session->add_metrics(snap);
}

// ---- the facade -----------------------------------------------------------------------

OvpWebSocketTransport::OvpWebSocketTransport(IoCounters& counters)
    : core_(std::make_shared<OvpWebSocketCore>(counters)) {}
OvpWebSocketTransport::~OvpWebSocketTransport() { core_->shutdown(); }
void OvpWebSocketTransport::submit(IoRequest request) noexcept { core_->submit(std::move(request)); }
void OvpWebSocketTransport::shutdown() noexcept { core_->shutdown(); }
void OvpWebSocketTransport::add_metrics(MetricsSnapshot& snapshot) const { core_->add_metrics(snapshot); }

}  // namespace omega::wasm
