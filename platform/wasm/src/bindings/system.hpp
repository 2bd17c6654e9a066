#pragma once
// NativeSystem: the two circulations from JS, wrapped by js/system.mjs (omega.createSystem).
// The CPU circulation (system.cpp) runs built-in C++ workloads on the nodes; the I/O
// circulation (ovp.cpp) runs OVP operations through the platform's WebSocket frame link;
// the pulse part (pulse.cpp) spawns built-in cooperative workloads and reports on Pulse.
//
// Nothing here blocks and nothing calls into JS from a worker: each submission returns
// {ok: true, id} at once (or a refusal), and the wrapper collects finished results from the
// event loop through poll() and pollIo(), resolving its Promises on this thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "js_common.hpp"

namespace omega::js {

class JsSystem {
 public:
  // ---- the CPU circulation (system.cpp) ----
  val init(const val& config);
  val submit(const val& workload, const val& arg, const val& priority, const val& cost);
  val poll(const val& budget);
  double pending() const { return static_cast<double>(pending_.size() + spawned_.size() + io_pending_.size()); }
  val stats() const;
  std::string metrics_prometheus() const { return system_ ? system_->metrics().to_prometheus() : std::string(); }
  void begin_shutdown();
  bool shutdown_finished() const { return !system_ || system_->shutdown_finished(); }
  void shutdown();

  // ---- Pulse, cooperative tasks (pulse.cpp) ----
  // spawn(workload, arg, priority) -> {ok: true, id} | refusal; the result comes through poll().
  val spawn(const val& workload, const val& arg, const val& priority);
  val pulse_stats() const;
  val set_pulse_enabled(const val& on);
  val set_pulse_algorithm(const val& algorithm);

  // ---- OVP, the I/O circulation (ovp.cpp) ----
  val ovp_init(const val& options);
  val ovp_emit(const val& token, const val& targets, const val& data, const val& channel);
  val ovp_receive(const val& token, const val& timeout_ms);
  val ovp_close(const val& token);
  val poll_io();

 private:
  // A submission's outcome as JS sees it: {ok: true, id} with the handle kept in `pending`
  // until it finishes, or {ok: false, error, backpressure: true}.
  template <class T>
  val track(std::unordered_map<std::uint32_t, TaskHandle<T>>& pending, Result<TaskHandle<T>, NodeError> handle) {
    if (!handle) return backpressure(to_string(handle.error()));
    const std::uint32_t id = next_id_++;
    pending.emplace(id, std::move(*handle));
    return ok_result(val(id));
  }

  // Takes the finished handles out of `pending`, as [id, ok, value-or-error] triples; value:
  // to_js(the result).
  template <class T, class ToJs>
  static val take_finished(std::unordered_map<std::uint32_t, TaskHandle<T>>& pending, ToJs&& to_js) {
    val out = val::array();
    for (auto it = pending.begin(); it != pending.end();) {
      auto r = it->second.try_result();
      if (!r) {
        ++it;
        continue;
      }
      val triple = val::array();
      triple.call<void>("push", it->first);
      if (*r) {
        triple.call<void>("push", true, to_js(**r));
      } else {
        triple.call<void>("push", false, to_string(r->error()));
      }
      out.call<void>("push", triple);
      it = pending.erase(it);
    }
    return out;
  }

  val submit_io(IoOp op, std::optional<Nanos> timeout) {
    return track(io_pending_, system_->submit_io_task(std::move(op), timeout, rng_));
  }

  std::unique_ptr<UltraOmegaSystem> system_;
  OmegaRng rng_ = OmegaRng::from_entropy();
  std::unordered_map<std::uint32_t, TaskHandle<double>> pending_;
  std::unordered_map<std::uint32_t, TaskHandle<double>> spawned_;  // ids shared with pending_
  std::unordered_map<std::uint32_t, TaskHandle<IoOutput>> io_pending_;
  std::uint32_t next_id_ = 1;
};

}  // namespace omega::js
