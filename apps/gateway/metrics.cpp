// The gateway's counters, rendered for /metrics (Prometheus text) and /status (JSON).
#include <nlohmann/json.hpp>

#include <type_traits>
#include <variant>

#include <omega/base/assert.hpp>

#include "gateway_impl.hpp"

namespace omega::gateway {
namespace {

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

GatewayCounters::GatewayCounters()
    : http_rejects(zeroed(kHttpRejectReasons)),
      handshake_rejects(zeroed(kHandshakeRejectReasons)),
      hostile_closes(zeroed(kHostileReasons)),
      ws_closes(zeroed(kCloseReasons)),
      dropped(zeroed(kDropReasons)),
      bridged(zeroed(kBridgePaths)) {}

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
  check(s.add_counter("omega_gateway_connections_accepted_total", "TCP connections accepted", {}, counters_.connections_accepted));
  check(s.add_counter("omega_gateway_websockets_opened_total", "WebSocket handshakes completed", {}, counters_.websockets_opened));
  check(s.add_counter("omega_gateway_accept_errors_total", "accept() failures (out of descriptors or memory)", {},
                      counters_.accept_errors));
  check(s.add_counter("omega_gateway_http_requests_total", "HTTP requests parsed", {}, counters_.http_requests));
  for (const auto& [status, n] : counters_.http_responses) {
    check(s.add_counter("omega_gateway_http_responses_total", "HTTP responses by status",
                        {{"status", std::to_string(status)}}, n));
  }
  labelled("omega_gateway_http_rejects_total", "HTTP requests refused, by reason", "reason", counters_.http_rejects);
  labelled("omega_gateway_handshake_rejects_total", "WebSocket handshakes refused, by reason", "reason",
           counters_.handshake_rejects);
  labelled("omega_gateway_hostile_closes_total", "Connections closed for misbehaving, by reason", "reason",
           counters_.hostile_closes);
  labelled("omega_gateway_websocket_closes_total", "WebSocket drones gone, by how", "reason", counters_.ws_closes);
  labelled("omega_gateway_frames_bridged_total", "OVP frames delivered, by path (one per receiving drone)", "path",
           counters_.bridged);
  labelled("omega_gateway_frames_dropped_total", "OVP frames not delivered, by reason", "reason", counters_.dropped);
  check(s.add_counter("omega_gateway_source_rewrites_total",
                      "Frames whose source field differed from the bound drone id (overwritten)", {}, counters_.source_rewrites));
  check(s.add_counter("omega_gateway_bytes_total", "TCP bytes (HTTP and WebSocket)", {{"direction", "in"}}, counters_.bytes_in));
  check(s.add_counter("omega_gateway_bytes_total", "TCP bytes (HTTP and WebSocket)", {{"direction", "out"}}, counters_.bytes_out));
  check(counters_.ws_decoder.export_to(s, {{"side", "websocket"}}));
  check(counters_.raw_decoder.export_to(s, {{"side", "raw"}}));
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
                        counters_.raw_receive_errors));
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

}  // namespace omega::gateway
