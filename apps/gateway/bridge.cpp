// The OVP bridge: frames from WebSocket drones (source rewritten to the bound id) and from
// the raw interface, delivered to the WebSocket drones they address and, from WebSocket
// drones, to the raw interface in batches.
#include <algorithm>
#include <iterator>

#include "gateway_impl.hpp"

namespace omega::gateway {

void Gateway::Impl::on_frame(Conn& c, std::span<const std::uint8_t> msg) {
  ++c.frames_in;
  auto view = counters_.ws_decoder.record(ovp::decode_ovp(msg, ovp::DecodeFilter{}));
  if (!view) return;  // counted by reason
  std::vector<std::uint8_t> frame(msg.begin(), msg.end());
  ovp::FrameHeader h = view->header;
  if (h.source != c.drone) {
    ++counters_.source_rewrites;
    h.source = c.drone;
    [[maybe_unused]] auto sealed = ovp::seal_ovp(h, view->payload.size(), frame);
  }
  route(frame, h, &c);
}

void Gateway::Impl::route(const std::vector<std::uint8_t>& frame, const ovp::FrameHeader& h, Conn* from) {
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
      ++counters_.dropped["to_self"];
    } else if (to && to->phase == Phase::WebSocket) {
      send_ws(*to, frame, path);
    } else {
      ++counters_.dropped["receiver_closing"];
    }
  } else if (from) {
    if (raw_) {
      to_raw = true;
    } else {
      ++counters_.dropped["no_route"];
    }
  }
  // A raw frame for a drone that is not ours is another native drone's business: not
  // counted. Broadcast without a raw side: the WebSocket drones were the whole audience.
  if (to_raw && raw_) queue_raw(frame, h);
}

void Gateway::Impl::send_ws(Conn& to, const std::vector<std::uint8_t>& frame, const char* path) {
  if (to.closing) {
    ++counters_.dropped["receiver_closing"];
    return;
  }
  if (queued_bytes(to) + frame.size() > config_.max_outgoing) {
    ++counters_.dropped["slow_reader"];
    close_ws(to, WSLAY_CODE_POLICY_VIOLATION, "slow reader: outgoing buffer full", "slow_reader");
    return;
  }
  wslay_event_msg msg{WSLAY_BINARY_FRAME, frame.data(), frame.size()};
  if (wslay_event_queue_msg(to.ws, &msg) != 0) {  // copies; fails only when closing or out of memory
    ++counters_.dropped["receiver_closing"];
    return;
  }
  ++to.frames_out;
  ++counters_.bridged[path];
  mark_dirty(to);
}

void Gateway::Impl::queue_raw(const std::vector<std::uint8_t>& frame, const ovp::FrameHeader& h) {
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

void Gateway::Impl::flush_raw() {
  if (!raw_ || raw_out_.empty()) return;
  counters_.bridged["ws_to_raw"] += raw_out_.size();
  raw_->send(raw_out_);
  raw_out_.clear();
  // The kernel's queue was full: try again shortly (the socket reports no writability edge).
  if (raw_->backlogged()) flush_raw_retry();
}

void Gateway::Impl::flush_raw_retry() {
  if (!raw_retry_) {
    raw_retry_ = loop_.add_timer(1'000'000, [this] {
      raw_retry_ = 0;
      raw_->retry();
      if (raw_->backlogged()) flush_raw_retry();
    });
  }
}

void Gateway::Impl::raw_receive() {
  const std::int64_t now = native::EventLoop::now_ns();
  auto got = raw_->receive([&](std::span<const std::uint8_t> eth) {
    auto view = counters_.raw_decoder.record(ovp::decode_ethernet(eth, ovp::DecodeFilter{}));
    if (!view) return;
    if (drones_.count(view->header.source)) {
      // Our own frame seen again, or a native drone using a WebSocket drone's id: never
      // hand a WebSocket drone a frame that claims to come from itself or a peer here.
      ++counters_.dropped["raw_echo"];
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
    ++counters_.raw_receive_errors;
    last_raw_error_ = got.error();
  }
  if (raw_sources_.size() >= kMaxRawSources) forget_old_raw_sources(now);
}

void Gateway::Impl::forget_old_raw_sources(std::int64_t now) {
  for (auto it = raw_sources_.begin(); it != raw_sources_.end();) {
    it = now - it->second.last_seen >= kRawSourceMemoryNs ? raw_sources_.erase(it) : std::next(it);
  }
}

}  // namespace omega::gateway
