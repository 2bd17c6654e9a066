// NativeSystem's OVP methods, the I/O circulation from JS. Each returns {ok: true, id} (the
// result comes from pollIo) or {ok: false, error[, range]}. The JS wrapper (system.mjs) checks
// shapes first; these checks are the contract, and every refusal is counted in
// omega_js_invalid_arguments_total.
#include <chrono>
#include <vector>

#include "system.hpp"

namespace omega::js {
namespace {

constexpr double kMaxDroneId = 4294967294.0;  // 0 and 0xFFFFFFFF are reserved

bool token_arg(const val& v, SocketToken& out) {
  const auto d = integer_in(v, 1, kMaxSafeInteger);
  if (!d) {
    invalid_arguments().add();
    return false;
  }
  out.value = static_cast<std::uint64_t>(*d);
  return true;
}

// The argument checks below return the refusal, or nullopt when the value was taken.

// A drone or group id from JS into `out`: refused with `type_error` when not a number,
// with `range_error` (a RangeError in JS) when not an integer in [1, kMaxDroneId].
std::optional<val> drone_id_arg(const val& v, const char* type_error, const char* range_error, std::uint32_t& out) {
  if (!v.isNumber()) return refuse(type_error);
  const auto d = integer_in(v, 1, kMaxDroneId);
  if (!d) return refuse_range(range_error);
  out = static_cast<std::uint32_t>(*d);
  return std::nullopt;
}

// undefined keeps `out`; otherwise a finite number of milliseconds in [0, one day].
std::optional<val> timeout_arg(const val& v, const std::string& what, std::optional<Nanos>& out) {
  if (v.isUndefined()) return std::nullopt;
  if (!v.isNumber()) return refuse(what + ": timeoutMs must be a number of milliseconds");
  const auto ms = number_in(v, 0, 86400e3);
  if (!ms) return refuse_range(what + ": timeoutMs must lie in [0, 86400000]");
  out = Nanos(static_cast<std::int64_t>(*ms * 1e6));
  return std::nullopt;
}

}  // namespace

// options: {url, droneId, reliable = false, groups = [], timeoutMs = 10000}
val JsSystem::ovp_init(const val& options) {
  if (!system_) return refuse("no system: call init() first");
  if (!object_arg(options)) return refuse("ovp.init: options must be an object {url, droneId, ...}");
  io_ops::OvpInit op;
  if (!string_arg(options["url"], op.interface) || op.interface.empty()) {
    return refuse("ovp.init: url must be a non-empty string (the gateway's ws:// or wss:// URL)");
  }
  if (auto refused = drone_id_arg(options["droneId"], "ovp.init: droneId must be a number",
                                  "ovp.init: droneId must be an integer in [1, 4294967294]", op.my_drone_id)) {
    return *refused;
  }
  const val reliable = options["reliable"];
  if (!reliable.isUndefined()) {
    if (!reliable.isTrue() && !reliable.isFalse()) return refuse("ovp.init: reliable must be a boolean");
    op.reliable = reliable.isTrue();
  }
  const val groups = options["groups"];
  if (!groups.isUndefined()) {
    if (!groups.isArray()) return refuse("ovp.init: groups must be an array of group ids");
    const auto n = groups["length"].as<unsigned>();
    for (unsigned i = 0; i < n; ++i) {
      std::uint32_t group = 0;
      if (auto refused = drone_id_arg(groups[i], "ovp.init: groups must hold numbers",
                                      "ovp.init: group ids must be integers in [1, 4294967294]", group)) {
        return *refused;
      }
      op.groups.push_back(group);
    }
  }
  std::optional<Nanos> timeout = Nanos(std::chrono::seconds(10));
  if (auto refused = timeout_arg(options["timeoutMs"], "ovp.init", timeout)) return *refused;
  return submit_io(IoOp(std::move(op)), timeout);
}

// targets: null (every drone) or a non-empty array of drone ids; data: a Uint8Array.
val JsSystem::ovp_emit(const val& token, const val& targets, const val& data, const val& channel) {
  io_ops::OvpEmit op;
  if (!token_arg(token, op.socket_token)) return refuse("emit: endpoint is closed or not an OVP endpoint");
  if (!targets.isNull()) {
    if (!targets.isArray()) return refuse("emit: targets must be null (every drone) or an array of drone ids");
    const auto n = targets["length"].as<unsigned>();
    if (n == 0) return refuse_range("emit: targets is empty (null sends to every drone)");
    std::vector<std::uint32_t> list(n);
    for (unsigned i = 0; i < n; ++i) {
      if (auto refused = drone_id_arg(targets[i], "emit: targets must hold numbers",
                                      "emit: target drone ids must be integers in [1, 4294967294]", list[i])) {
        return *refused;
      }
    }
    op.targets = std::move(list);
  }
  if (!data.instanceof(val::global("Uint8Array"))) return refuse("emit: data must be a Uint8Array");
  const auto size = data["length"].as<std::size_t>();
  if (size > ovp::kMaxPayload) {
    return refuse_range("emit: data is " + std::to_string(size) + " bytes; at most " +
                        std::to_string(ovp::kMaxPayload) + " fit in one OVP frame");
  }
  op.payload = emscripten::convertJSArrayToNumberVector<std::uint8_t>(data);
  if (!channel.isUndefined()) {
    if (!channel.isNumber()) return refuse("emit: channel must be a number");
    const auto c = integer_in(channel, 0, 65535);
    if (!c) return refuse_range("emit: channel must be an integer in [0, 65535]");
    op.channel = static_cast<std::uint16_t>(*c);
  }
  return submit_io(IoOp(std::move(op)), std::nullopt);
}

// timeoutMs: undefined (wait until a message comes or the endpoint closes) or >= 0.
val JsSystem::ovp_receive(const val& token, const val& timeout_ms) {
  SocketToken t;
  if (!token_arg(token, t)) return refuse("receive: endpoint is closed or not an OVP endpoint");
  std::optional<Nanos> timeout;
  if (auto refused = timeout_arg(timeout_ms, "receive", timeout)) return *refused;
  return submit_io(IoOp(io_ops::OvpReceive{t}), timeout);
}

val JsSystem::ovp_close(const val& token) {
  SocketToken t;
  if (!token_arg(token, t)) return refuse("close: not an OVP endpoint");
  return submit_io(IoOp(io_ops::OvpClose{t}), std::nullopt);
}

// Finished I/O operations since the last call, as [id, ok, value-or-error] triples; value:
// {socket, bytes, data (Uint8Array), sourceDrone, channel}. Never runs CPU work.
val JsSystem::poll_io() {
  return take_finished(io_pending_, [](const IoOutput& o) {
    val v = val::object();
    if (o.socket) v.set("socket", static_cast<double>(o.socket->value));
    v.set("bytes", static_cast<double>(o.bytes));
    // A copy that owns its bytes (the heap view would change under it).
    v.set("data", val(emscripten::typed_memory_view(o.data.size(), o.data.data())).call<val>("slice"));
    set_numbers(v, "sourceDrone", o.source_drone, "channel", o.channel);
    return v;
  });
}

}  // namespace omega::js
