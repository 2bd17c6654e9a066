#pragma once
// One OVP session: the drone behind one OvpInit token, on both targets. It owns the
// ovp::Endpoint (codec, batching, reliable mode), the ordered receive waiters, the emits
// waiting for their frames to leave, close/linger and the per-endpoint metrics; the platform
// gives it a FrameLink (frame_link.hpp) and drives it from its event loop. The platform
// keeps what is its own: tokens (which session an operation names), connecting the link,
// and when to call flush() (the end of a loop turn) and expire() (next_deadline()).
//
// Semantics (docs/ovp.md; the same on both targets):
// - emit(): all-or-nothing checks (closed, congested link, payload and targets, reliable
//   send buffer) fail the emit at once; otherwise the payload is staged and the emit
//   resolves at the next flush() with IoOutput::bytes = payload size, once the frames
//   carrying it were handed to the link, or fails with the link's refusal.
// - Receives resolve in submission order with the next message in arrival order; one that
//   finds a message waiting (and no earlier receive waiting) resolves at once. A waiter
//   past its deadline resolves TimedOut and consumes nothing.
// - close() (OvpClose) is a TCP-like linger, not a drain the caller waits for: it flushes
//   what was accepted (those emits resolve), fails every pending operation with
//   "<Op>: socket closed (OvpClose) while the operation was pending", and returns at once.
//   The platform makes the token stale. If reliable messages are still unacknowledged the
//   session lingers: it keeps flushing, retransmitting and taking acks (messages that arrive
//   are dropped: nobody can receive them) until the endpoint is idle or kOvpLingerNs passed
//   (finished()); then the platform releases the link. Chosen over the WASM transport's old
//   "drain" because it is what the native transport and the docs already promised, and
//   because a close that waited for the peer would hang on a silent one.
// - fail(why) (the link went away, or shutdown): every pending operation fails with
//   "<Op>: why", and so does every later one, until the platform drops the session.
// - Frames from the link go to the endpoint, which counts and drops bad ones (never trusts
//   them); they never fail an operation.
// - Fast paths for a platform whose submitters may touch the link themselves (natively):
//   emit_inline() sends on the caller's thread when the session is quiet (no emit in the
//   last kInlineGapNs, none waiting in the loop, at most one receive waiting: a
//   request/response exchange rather than a pipeline); receive_inline() takes a waiting
//   message on the caller's thread. Either returns false when the loop must take the
//   operation instead; the session then counts it as in transit, so order is kept: no
//   emit goes inline while an earlier one waits in the loop, and every flush sends what
//   was staged before it.
//
// Thread safety: every method takes the session's own mutex, so any thread may call any of
// them. A lone receive waiter (a request/response exchange), receive timeouts and what
// close()/fail() fail are completed after that mutex is released, in the order they were
// resolved: completing wakes the submitter, whose next operation (the exchange's emit)
// would otherwise find the mutex still held and sleep on it. Several waiters (a pipeline)
// and staged emits are completed with it held (completing only sets a result and wakes its
// waiter): their submitters then queue their next operations in batches. The inline paths'
// own operations are completed after it is released.
// add_metrics() reads atomics only.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include <omega/base/metrics.hpp>
#include <omega/base/result.hpp>
#include <omega/io/io_op.hpp>
#include <omega/ovp/endpoint.hpp>

#include "io/frame_link.hpp"
#include "io/reactor.hpp"

namespace omega::io {

// How long a closed session keeps delivering reliable messages it accepted.
inline constexpr std::int64_t kOvpLingerNs = 2'000'000'000;
// Emits closer together than this go through the platform's loop and are batched; further
// apart they may be sent inline by their submitter.
inline constexpr std::int64_t kInlineGapNs = 15'000;
inline constexpr const char* kOvpClosed = "socket closed (OvpClose) while the operation was pending";

class OvpSession {
 public:
  // The session for `init` over `link` (which it owns). `epoch`: this incarnation's
  // session epoch (ovp::session_epoch). Errors: the endpoint configuration's, naming
  // `init.interface`.
  static Result<std::unique_ptr<OvpSession>, std::string> create(const io_ops::OvpInit& init, std::uint32_t epoch,
                                                                 std::unique_ptr<FrameLink> link);
  ~OvpSession();
  OvpSession(const OvpSession&) = delete;
  OvpSession& operator=(const OvpSession&) = delete;

  [[nodiscard]] FrameLink& link() noexcept { return *link_; }
  [[nodiscard]] const std::string& interface() const noexcept { return interface_; }
  [[nodiscard]] std::uint32_t drone() const noexcept;

  // ---- operations --------------------------------------------------------------------
  void emit(const io_ops::OvpEmit& op, IoCompletion&& done, std::int64_t now);
  // True: `done` was resolved here. `wake_at` is then the endpoint's next deadline
  // (INT64_MAX: none), for a loop that sleeps past it to be woken.
  bool emit_inline(const io_ops::OvpEmit& op, IoCompletion& done, std::int64_t now, std::int64_t& wake_at);
  void receive(IoCompletion&& done, std::int64_t deadline, std::int64_t now);
  bool receive_inline(IoCompletion& done, std::int64_t now);
  // OvpClose (see above). True: the session lingers; false: the link may be released now.
  bool close(std::int64_t now);
  void fail(const std::string& why);

  // ---- driving (the platform's loop) -----------------------------------------------------
  // Pull links: takes what the link holds now. Push links: one frame; false if the
  // endpoint rejected it (counted by reason).
  void pull(std::int64_t now);
  bool on_frame(std::span<const std::uint8_t> frame, std::int64_t now);
  // Sends what is due (staged emits, acks, retransmissions, HELLO, a link backlog) and
  // resolves the emits it carried; `force`: flush even if nothing seems due. True if
  // anything went to the link.
  bool flush(std::int64_t now, bool force = false);
  // Resolves receive waiters past their deadline with TimedOut.
  void expire(std::int64_t now);
  // When flush() or expire() next has work (<= now: now), INT64_MAX when never.
  [[nodiscard]] std::int64_t next_deadline(std::int64_t now);
  [[nodiscard]] bool lingering();
  // Lingering and done (delivered everything, or out of time): release the link.
  [[nodiscard]] bool finished(std::int64_t now);
  // One loop turn's worth in one locked section: expire(), flush(), finished() and
  // next_deadline() (for the platform's timer).
  struct Service {
    bool sent = false;
    bool finished = false;
    std::int64_t next = INT64_MAX;
  };
  Service service(std::int64_t now);
  // Whether an operation was resolved since the last call (WASM wakes JS on it).
  bool take_resolved();

  // omega_ovp_* series with {interface, drone} labels: the endpoint's, the link's and the
  // inline paths' counters.
  void add_metrics(MetricsSnapshot& snapshot) const;
  [[nodiscard]] const ovp::Endpoint& endpoint() const noexcept { return *endpoint_; }

 private:
  enum class State : std::uint8_t { Open, Lingering, Failed, Closed };
  struct Waiter {
    std::uint64_t seq;
    IoCompletion done;
  };
  struct Staged {
    IoCompletion done;
    std::size_t bytes;
  };
  using Deadline = std::pair<std::int64_t, std::uint64_t>;  // (deadline, waiter seq)
  // An operation resolved under mu_, completed once it is released (Locked).
  struct Ready {
    IoCompletion done;
    Result<IoOutput, TaskError> result;
  };
  // Holds mu_; release() (or leaving the scope) unlocks it, then completes ready_.
  class Locked {
   public:
    explicit Locked(OvpSession& session) : session_(session), lock_(session.mu_) {}
    ~Locked() { release(); }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;
    void release() noexcept;

   private:
    OvpSession& session_;
    std::unique_lock<std::mutex> lock_;
  };

  OvpSession(std::unique_ptr<ovp::Endpoint> endpoint, std::unique_ptr<FrameLink> link, std::string interface);
  // All below: mu_ held.
  bool flush_locked(std::int64_t now, bool force);
  // Hands every due frame to the link and resolves the staged emits they carried (or fails
  // them with the link's `error`). True if anything went to the link.
  bool send_locked(std::int64_t now, std::string& error);
  void expire_locked(std::int64_t now);
  std::int64_t next_deadline_locked(std::int64_t now);
  void deliver_locked();
  void fail_pending_locked(const std::string& why);
  void fail_later_locked(IoCompletion& done, std::string why);
  void discard_locked();
  [[nodiscard]] std::string closed_text(const char* op) const;
  [[nodiscard]] std::string emit_error(ovp::EmitError error, std::size_t payload) const;
  static IoOutput message_output(ovp::Message& m);

  mutable std::mutex mu_;
  std::unique_ptr<ovp::Endpoint> endpoint_;
  std::unique_ptr<FrameLink> link_;
  const std::string interface_;
  const bool ethernet_;
  State state_ = State::Open;
  std::string failed_why_;  // State::Failed
  std::int64_t linger_until_ = 0;
  bool dirty_ = true;  // the HELLO goes out at the first flush
  bool resolved_ = false;

  std::deque<Waiter> waiters_;
  std::uint64_t next_seq_ = 0;
  // Waiters with a deadline; an entry is stale once its waiter left the front of waiters_
  // (they leave in order, or through expire(), which pops their entry).
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
  std::vector<Staged> staged_;
  std::vector<Ready> ready_;  // resolved, completed when mu_ is released
  ovp::Message message_;  // scratch

  // Inline paths.
  std::int64_t last_emit_ns_ = INT64_MIN / 2;
  std::uint32_t emits_via_loop_ = 0;     // declined by emit_inline, not yet staged by emit()
  std::uint32_t receives_via_loop_ = 0;  // declined by receive_inline, not yet resolved
  Counter inline_emits_;
  Counter inline_receives_;
};

}  // namespace omega::io
