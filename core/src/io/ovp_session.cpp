#include "io/ovp_session.hpp"

#include <algorithm>
#include <utility>

namespace omega::io {

Result<std::unique_ptr<OvpSession>, std::string> OvpSession::create(const io_ops::OvpInit& init, std::uint32_t epoch,
                                                                    std::unique_ptr<FrameLink> link) {
  ovp::EndpointConfig config;
  config.my_drone_id = init.my_drone_id;
  config.groups = init.groups;
  config.reliable = init.reliable;
  config.max_frame = std::min(link->mtu(), ovp::kMaxOvpSize);
  config.epoch = epoch;
  auto endpoint = ovp::Endpoint::try_create(std::move(config));
  if (!endpoint) return Err(endpoint.error() + " (interface " + init.interface + ")");
  return std::unique_ptr<OvpSession>(new OvpSession(std::move(*endpoint), std::move(link), init.interface));
}

OvpSession::OvpSession(std::unique_ptr<ovp::Endpoint> endpoint, std::unique_ptr<FrameLink> link, std::string interface)
    : endpoint_(std::move(endpoint)),
      link_(std::move(link)),
      interface_(std::move(interface)),
      ethernet_(link_->framing() == FrameLink::Framing::Ethernet) {}

OvpSession::~OvpSession() = default;

void OvpSession::Locked::release() noexcept {
  if (!lock_.owns_lock()) return;
  if (session_.ready_.empty()) return lock_.unlock();
  std::vector<Ready> ready;
  ready.swap(session_.ready_);
  lock_.unlock();
  for (Ready& r : ready) r.done.complete(std::move(r.result));
}

void OvpSession::fail_later_locked(IoCompletion& done, std::string why) {
  ready_.push_back(Ready{std::move(done), Err(TaskError::ExecutionFailed{std::move(why)})});
}

std::uint32_t OvpSession::drone() const noexcept { return endpoint_->id(); }

IoOutput OvpSession::message_output(ovp::Message& m) {
  IoOutput out;
  out.bytes = m.payload.size();
  out.data = std::move(m.payload);
  out.source_drone = m.source;
  out.channel = m.channel;
  return out;
}

std::string OvpSession::closed_text(const char* op) const {
  return std::string(op) + ": " + (state_ == State::Failed ? failed_why_ : std::string(kOvpClosed));
}

std::string OvpSession::emit_error(ovp::EmitError error, std::size_t payload) const {
  if (error == ovp::EmitError::SendBufferFull) {
    return "OvpEmit: the reliable send buffer to a target is full (the peer does not acknowledge): back off and retry";
  }
  return "OvpEmit: " + std::string(ovp::to_string(error)) + " (payload " + std::to_string(payload) +
         " bytes, link MTU " + std::to_string(link_->mtu()) + ")";
}

// ---- operations ------------------------------------------------------------------------

void OvpSession::emit(const io_ops::OvpEmit& op, IoCompletion&& done, std::int64_t now) {
  Locked lock(*this);
  if (emits_via_loop_ > 0) --emits_via_loop_;
  resolved_ = true;  // at once, or at the flush this asks for
  if (state_ != State::Open) return done.fail(closed_text("OvpEmit"));
  if (std::string why = link_->congested(); !why.empty()) return done.fail("OvpEmit: " + why);
  std::optional<std::span<const std::uint32_t>> targets;
  if (op.targets) targets = std::span<const std::uint32_t>(*op.targets);
  auto r = endpoint_->emit(targets, op.payload, op.channel, Nanos(now));
  if (!r) return done.fail(emit_error(r.error(), op.payload.size()));
  dirty_ = true;
  staged_.push_back(Staged{std::move(done), op.payload.size()});
}

bool OvpSession::emit_inline(const io_ops::OvpEmit& op, IoCompletion& done, std::int64_t now, std::int64_t& wake_at) {
  Locked lock(*this);
  if (state_ != State::Open) return false;
  const bool burst = now - last_emit_ns_ < kInlineGapNs;
  last_emit_ns_ = now;
  // More than one receive waiting: the caller pipelines, and the loop's batching (and its
  // thread) serve it better than an inline send on the caller's thread.
  if (burst || emits_via_loop_ > 0 || receives_via_loop_ > 1) {
    ++emits_via_loop_;  // emit() takes it (and counts it back) in order
    return false;
  }
  if (std::string why = link_->congested(); !why.empty()) {
    lock.release();
    done.fail("OvpEmit: " + why);
    return true;
  }
  std::optional<std::span<const std::uint32_t>> targets;
  if (op.targets) targets = std::span<const std::uint32_t>(*op.targets);
  auto r = endpoint_->emit(targets, op.payload, op.channel, Nanos(now));
  if (!r) {
    std::string why = emit_error(r.error(), op.payload.size());
    lock.release();
    done.fail(std::move(why));
    return true;
  }
  std::string error;
  (void)send_locked(now, error);  // emits the loop staged earlier ride in the same frames
  inline_emits_.add();
  const auto deadline = endpoint_->next_deadline();
  wake_at = deadline ? std::max<std::int64_t>(deadline->count(), 0) : INT64_MAX;
  if (link_->backlogged()) wake_at = std::min(wake_at, now + 1'000'000);  // as next_deadline()
  lock.release();
  if (!error.empty()) {
    done.fail("OvpEmit: " + error);
  } else {
    IoOutput out;
    out.bytes = op.payload.size();
    done.complete(std::move(out));
  }
  return true;
}

void OvpSession::receive(IoCompletion&& done, std::int64_t deadline, std::int64_t now) {
  (void)now;
  Locked lock(*this);
  if (state_ != State::Open) {
    if (receives_via_loop_ > 0) --receives_via_loop_;
    resolved_ = true;
    return done.fail(closed_text("OvpReceive"));
  }
  const std::uint64_t seq = next_seq_++;
  if (deadline != INT64_MAX) deadlines_.emplace(deadline, seq);
  waiters_.push_back(Waiter{seq, std::move(done)});
  deliver_locked();
}

bool OvpSession::receive_inline(IoCompletion& done, std::int64_t now) {
  Locked lock(*this);
  if (state_ != State::Open) return false;
  if (receives_via_loop_ > 0 || !endpoint_->pop(message_)) {
    ++receives_via_loop_;
    return false;
  }
  IoOutput out = message_output(message_);
  // The pop may have made room for peers whose acks were held back: tell them now.
  if (auto t = endpoint_->next_deadline(); t && t->count() <= now) (void)flush_locked(now, false);
  inline_receives_.add();
  lock.release();
  done.complete(std::move(out));
  return true;
}

bool OvpSession::close(std::int64_t now) {
  Locked lock(*this);
  if (state_ == State::Open) (void)flush_locked(now, true);  // what was accepted goes out first
  fail_pending_locked(kOvpClosed);
  if (state_ == State::Open && !endpoint_->idle()) {
    state_ = State::Lingering;
    linger_until_ = now + kOvpLingerNs;
    discard_locked();
    return true;
  }
  state_ = State::Closed;
  return false;
}

void OvpSession::fail(const std::string& why) {
  Locked lock(*this);
  state_ = State::Failed;
  failed_why_ = why;
  fail_pending_locked(why);
}

// ---- driving ---------------------------------------------------------------------------

void OvpSession::pull(std::int64_t now) {
  Locked lock(*this);
  // A failing receive (the interface went away) is retried on the next readiness.
  (void)link_->receive([&](std::span<const std::uint8_t> frame) {
    (void)(ethernet_ ? endpoint_->on_ethernet(frame, Nanos(now)) : endpoint_->on_frame(frame, Nanos(now)));
  });
  if (state_ == State::Lingering) discard_locked();
  deliver_locked();
}

bool OvpSession::on_frame(std::span<const std::uint8_t> frame, std::int64_t now) {
  Locked lock(*this);
  const bool ok = (ethernet_ ? endpoint_->on_ethernet(frame, Nanos(now)) : endpoint_->on_frame(frame, Nanos(now)))
                      .has_value();
  if (state_ == State::Lingering) discard_locked();
  deliver_locked();
  return ok;
}

bool OvpSession::flush(std::int64_t now, bool force) {
  Locked lock(*this);
  return flush_locked(now, force);
}

bool OvpSession::flush_locked(std::int64_t now, bool force) {
  if (state_ != State::Open && state_ != State::Lingering) return false;
  bool due = force || dirty_ || link_->backlogged();
  if (!due) {
    const auto t = endpoint_->next_deadline();
    due = t && t->count() <= now;
  }
  dirty_ = false;
  if (!due) return false;
  std::string error;
  return send_locked(now, error);
}

bool OvpSession::send_locked(std::int64_t now, std::string& error) {
  endpoint_->flush(Nanos(now), [&](std::uint32_t to, std::span<const std::uint8_t> frame) {
    std::optional<ovp::MacAddress> mac;
    if (ethernet_ && to != ovp::kBroadcast) mac = endpoint_->mac_of(to);
    link_->queue(to, mac ? &*mac : nullptr, frame);
  });
  const bool sent = link_->transmit(error);
  for (Staged& staged : staged_) {
    if (error.empty()) {
      IoOutput out;
      out.bytes = staged.bytes;
      staged.done.complete(std::move(out));
    } else {
      staged.done.fail("OvpEmit: " + error);
    }
    resolved_ = true;
  }
  staged_.clear();
  return sent;
}

void OvpSession::deliver_locked() {
  // A lone waiter (a request/response exchange) completes once mu_ is released: its
  // submitter wakes to emit the next request inline and must not find mu_ still held (it
  // would sleep on it: ~2.5 us a round trip). Several waiters (a pipeline) complete here,
  // under mu_: their submitters then queue their next operations in batches, which is what
  // makes pipelines fast.
  const bool lone = waiters_.size() == 1;
  while (!waiters_.empty() && endpoint_->pop(message_)) {
    if (lone) {
      ready_.push_back(Ready{std::move(waiters_.front().done), message_output(message_)});
    } else {
      waiters_.front().done.complete(message_output(message_));
    }
    waiters_.pop_front();
    if (receives_via_loop_ > 0) --receives_via_loop_;
    resolved_ = true;
  }
  // The pops may owe peers a window update: next_deadline() says so, the next flush sends it.
}

void OvpSession::expire(std::int64_t now) {
  Locked lock(*this);
  expire_locked(now);
}

void OvpSession::expire_locked(std::int64_t now) {
  while (!deadlines_.empty() && deadlines_.top().first <= now) {
    const std::uint64_t seq = deadlines_.top().second;
    deadlines_.pop();
    // Waiters are in seq order: find this one, if it is still waiting.
    auto it = std::lower_bound(waiters_.begin(), waiters_.end(), seq,
                               [](const Waiter& w, std::uint64_t s) { return w.seq < s; });
    if (it == waiters_.end() || it->seq != seq) continue;
    ready_.push_back(Ready{std::move(it->done), Err(TaskError::TimedOut{})});
    waiters_.erase(it);
    if (receives_via_loop_ > 0) --receives_via_loop_;
    resolved_ = true;
  }
}

std::int64_t OvpSession::next_deadline(std::int64_t now) {
  Locked lock(*this);
  return next_deadline_locked(now);
}

OvpSession::Service OvpSession::service(std::int64_t now) {
  Locked lock(*this);
  Service s;
  expire_locked(now);
  s.sent = flush_locked(now, false);
  s.finished = state_ == State::Lingering && (endpoint_->idle() || now >= linger_until_);
  s.next = s.finished ? INT64_MAX : next_deadline_locked(now);
  return s;
}

std::int64_t OvpSession::next_deadline_locked(std::int64_t now) {
  while (!deadlines_.empty() && (waiters_.empty() || deadlines_.top().second < waiters_.front().seq)) deadlines_.pop();
  std::int64_t next = deadlines_.empty() ? INT64_MAX : deadlines_.top().first;
  if (state_ != State::Open && state_ != State::Lingering) return next;
  if (dirty_) return now;
  // A medium that could not take everything gets another try in a millisecond even if no
  // writability edge comes (ENOBUFS raises none).
  if (link_->backlogged()) next = std::min(next, now + 1'000'000);
  if (auto t = endpoint_->next_deadline()) next = std::min(next, std::max<std::int64_t>(t->count(), 0));
  if (state_ == State::Lingering) next = std::min(next, linger_until_);
  return next;
}

bool OvpSession::lingering() {
  Locked lock(*this);
  return state_ == State::Lingering;
}

bool OvpSession::finished(std::int64_t now) {
  Locked lock(*this);
  return state_ == State::Lingering && (endpoint_->idle() || now >= linger_until_);
}

bool OvpSession::take_resolved() {
  Locked lock(*this);
  return std::exchange(resolved_, false);
}

void OvpSession::fail_pending_locked(const std::string& why) {
  for (Waiter& w : waiters_) fail_later_locked(w.done, "OvpReceive: " + why);
  for (Staged& s : staged_) fail_later_locked(s.done, "OvpEmit: " + why);
  resolved_ = resolved_ || !waiters_.empty() || !staged_.empty();
  waiters_.clear();
  staged_.clear();
  while (!deadlines_.empty()) deadlines_.pop();
  receives_via_loop_ = 0;
}

// Nobody can receive on a closed session; popping keeps the acks flowing (the receive
// window stays open) while it lingers.
void OvpSession::discard_locked() {
  while (endpoint_->pop(message_)) {
  }
}

void OvpSession::add_metrics(MetricsSnapshot& snap) const {
  const MetricLabels labels{{"interface", interface_}, {"drone", std::to_string(endpoint_->id())}};
  (void)endpoint_->export_to(snap, labels);
  link_->add_metrics(snap, labels);
  (void)snap.add_counter("omega_ovp_inline_emits_total",
                         "OvpEmits sent on the submitting thread (a quiet endpoint), not through the reactor", labels,
                         inline_emits_.value());
  (void)snap.add_counter("omega_ovp_inline_receives_total",
                         "OvpReceives that found their message waiting and resolved on the submitting thread", labels,
                         inline_receives_.value());
}

}  // namespace omega::io
