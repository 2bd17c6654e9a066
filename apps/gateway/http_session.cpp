// HTTP/1.1 on a gateway connection: keep-alive requests, /metrics and /status, static files
// sent with sendfile, and refusals with a status and a counted reason. Parsing and the
// static mapping are http.cpp's.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "gateway_impl.hpp"

namespace omega::gateway {

Gateway::Impl::Io Gateway::Impl::write_out(Conn& c) {
  if (const Io w = send_buffered(c.fd, c.out, c.out_off); w != Io::Done) return w;
  // Then the file being served, straight from the page cache: a client that does not
  // read holds a file descriptor, not a copy of the file.
  while (c.file_left > 0) {
    const ssize_t n = ::sendfile(c.fd, c.file_fd, nullptr, std::min<std::size_t>(c.file_left, 1 << 20));
    if (n > 0) {
      c.file_left -= static_cast<std::size_t>(n);
      counters_.bytes_out += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Pending;
    return Io::Failed;  // an error, or the file shrank under us (0): the length was promised
  }
  close_file(c);
  return Io::Done;
}

void Gateway::Impl::close_file(Conn& c) {
  if (c.file_fd >= 0) ::close(c.file_fd);
  c.file_fd = -1;
  c.file_left = 0;
}

Gateway::Impl::Io Gateway::Impl::read_in(Conn& c) {
  const std::size_t room = limits_.max_head_bytes > c.in.size() ? limits_.max_head_bytes - c.in.size() : 0;
  char buf[4096];
  const std::size_t want = std::min(room == 0 ? std::size_t{1} : room, sizeof buf);
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, want, 0);
    if (n > 0) {
      const bool was_empty = c.in.empty();
      c.in.append(buf, static_cast<std::size_t>(n));
      counters_.bytes_in += static_cast<std::uint64_t>(n);
      // The next request started on an idle keep-alive connection: it must now complete
      // within the handshake timeout, like the first one.
      if (was_empty && c.timer_kind == TimerKind::Idle) arm(c, TimerKind::Request, config_.handshake_timeout_ms);
      return Io::Done;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Io::Pending;
    return Io::Failed;  // EOF or error
  }
}

void Gateway::Impl::pump_http(Conn& c) {
  for (;;) {
    const std::uint64_t sent_before = counters_.bytes_out;
    const Io w = write_out(c);
    if (w == Io::Failed) return teardown(c, "peer_gone");
    if (w == Io::Pending) {
      // A download that progresses is not idle: the idle timeout counts from the last
      // bytes the client took.
      if (counters_.bytes_out != sent_before && c.timer_kind == TimerKind::Idle) {
        arm(c, TimerKind::Idle, config_.idle_timeout_ms);
      }
      return;
    }
    if (c.close_after_write) return begin_drain(c);
    if (c.upgrade_after_write) return start_ws(c);
    auto end = find_head_end(c.in, limits_);
    if (!end) {
      reject_http(c, end.error());
      continue;
    }
    if (*end) {
      const std::size_t n = **end;
      const std::string head = c.in.substr(0, n);
      c.in.erase(0, n);
      handle_request(c, head);
      continue;
    }
    const Io r = read_in(c);
    if (r == Io::Pending) return;
    if (r == Io::Failed) {
      // EOF: a client that sent a partial request and left, or a keep-alive close.
      return teardown(c, "peer_gone");
    }
  }
}

Headers Gateway::Impl::base_headers() const {
  Headers h{{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  if (config_.isolate) {
    h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
    h.emplace_back("Cross-Origin-Embedder-Policy", "require-corp");
    h.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  }
  return h;
}

void Gateway::Impl::respond(Conn& c, int status, Headers headers, const std::string& body, bool head_only, bool keep_alive,
             std::optional<std::size_t> length) {
  ++counters_.http_responses[status];
  if (!keep_alive) headers.emplace_back("Connection", "close");
  c.out += response_head(status, headers, length ? *length : body.size());
  if (!head_only) c.out += body;
  if (!keep_alive) c.close_after_write = true;
}

void Gateway::Impl::respond_text(Conn& c, int status, const std::string& text, Headers extra) {
  Headers h = base_headers();
  h.emplace_back("Content-Type", "text/plain; charset=utf-8");
  for (auto& e : extra) h.push_back(std::move(e));
  respond(c, status, std::move(h), text, false, false);
}

void Gateway::Impl::reject_http(Conn& c, const HttpError& e) {
  ++counters_.http_rejects[e.reason];
  c.in.clear();
  respond_text(c, e.status, e.detail + "\n");
}

void Gateway::Impl::handle_request(Conn& c, const std::string& head) {
  auto parsed = parse_request_head(head, limits_);
  if (!parsed) return reject_http(c, parsed.error());
  const HttpRequest& req = *parsed;
  ++counters_.http_requests;
  c.served_any = true;
  const bool head_only = req.method == "HEAD";
  if (req.path == "/ovp") return handshake(c, req);
  if (req.method != "GET" && req.method != "HEAD") {
    ++counters_.http_rejects["method"];
    return respond_text(c, 405, "method not allowed\n", {{"Allow", "GET, HEAD"}});
  }
  const bool keep = req.keep_alive() && !shutting_down_;
  if (req.path == "/metrics") {
    Headers h = base_headers();
    h.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    respond(c, 200, std::move(h), metrics().to_prometheus(), head_only, keep);
  } else if (req.path == "/status") {
    Headers h = base_headers();
    h.emplace_back("Content-Type", "application/json; charset=utf-8");
    respond(c, 200, std::move(h), status_json(), head_only, keep);
  } else {
    serve_file(c, req, head_only, keep);
  }
  if (keep && !c.close_after_write) arm(c, c.in.empty() ? TimerKind::Idle : TimerKind::Request,
                                        c.in.empty() ? config_.idle_timeout_ms : config_.handshake_timeout_ms);
}

void Gateway::Impl::serve_file(Conn& c, const HttpRequest& req, bool head_only, bool keep) {
  auto file = resolve_static(req.path, config_.web_root, config_.package_dir);
  const int fd = file ? ::open(file->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
  struct stat st{};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) ::close(fd);
    ++counters_.http_rejects["not_found"];
    Headers h = base_headers();
    h.emplace_back("Content-Type", "text/plain; charset=utf-8");
    respond(c, 404, std::move(h), "not found\n", head_only, keep);
    return;
  }
  Headers h = base_headers();
  h.emplace_back("Content-Type", std::string(content_type_for(*file)));
  const auto size = static_cast<std::size_t>(st.st_size);
  respond(c, 200, std::move(h), std::string(), true, keep, size);
  if (head_only || size == 0) {
    ::close(fd);
    return;
  }
  c.file_fd = fd;
  c.file_left = size;
}

}  // namespace omega::gateway
