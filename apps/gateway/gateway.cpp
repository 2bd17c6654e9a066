// omega-gateway's lifecycle: the listening socket and the raw port registered with the loop,
// and the graceful shutdown; the public Gateway forwards to Gateway::Impl
// (gateway_impl.hpp says which file holds which section).
#include "gateway.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "gateway_impl.hpp"
#include "syscall.hpp"

namespace omega::gateway {

using native::errno_text;

Gateway::Impl::Impl(native::EventLoop& loop, GatewayConfig config, std::unique_ptr<RawPort> raw)
    : loop_(loop), config_(std::move(config)), raw_(std::move(raw)) {
  limits_.max_head_bytes = config_.max_head_bytes;
  limits_.max_headers = config_.max_headers;
  started_ns_ = native::EventLoop::now_ns();
}

Gateway::Impl::~Impl() {
  for (auto& [id, c] : conns_) release(*c);
  conns_.clear();
  if (listen_reg_) loop_.remove_fd(listen_reg_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (raw_reg_) loop_.remove_fd(raw_reg_);
  if (accept_retry_) loop_.cancel_timer(accept_retry_);
  if (shutdown_timer_) loop_.cancel_timer(shutdown_timer_);
  if (raw_retry_) loop_.cancel_timer(raw_retry_);
}

Result<void, std::string> Gateway::Impl::start() {
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

void Gateway::Impl::shutdown(std::function<void()> done) {
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

void Gateway::Impl::maybe_finish_shutdown() {
  if (shutting_down_ && conns_.empty()) finish_shutdown();
}

void Gateway::Impl::finish_shutdown() {
  if (!shutdown_done_) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  loop_.post(std::move(done));
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
