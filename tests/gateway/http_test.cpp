// omega-gateway's HTTP pieces: head parsing and its limits, the static mapping (the same
// as scripts/serve.mjs), the WebSocket key and accept value, queries, and the options.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "http.hpp"
#include "options.hpp"

using namespace omega::gateway;
namespace fs = std::filesystem;

TEST_CASE("http: a well-formed GET parses; header names are lower-cased, values trimmed", "[http]") {
  const std::string head = "GET /omega/index.mjs?x=1#frag HTTP/1.1\r\nHost: a:1\r\nX-Thing:  v  \r\n\r\n";
  auto end = find_head_end(head, {});
  REQUIRE(end.has_value());
  REQUIRE(end->has_value());
  CHECK(**end == head.size());
  auto req = parse_request_head(head, {});
  REQUIRE(req.has_value());
  CHECK(req->method == "GET");
  CHECK(req->path == "/omega/index.mjs");
  CHECK(req->query == "x=1");
  CHECK(req->header("x-thing") == std::optional<std::string_view>("v"));
  CHECK(req->keep_alive());
}

TEST_CASE("http: incomplete heads wait; heads past the limit are 431", "[http]") {
  HttpLimits limits{.max_head_bytes = 64, .max_headers = 2};
  auto partial = find_head_end("GET / HTTP/1.1\r\nHost: x\r\n", limits);
  REQUIRE(partial.has_value());
  CHECK_FALSE(partial->has_value());
  auto big = find_head_end(std::string(64, 'a'), limits);
  REQUIRE_FALSE(big.has_value());
  CHECK(big.error().status == 431);
  auto headers = parse_request_head("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n", limits);
  REQUIRE_FALSE(headers.has_value());
  CHECK(headers.error().status == 431);
  CHECK(headers.error().reason == "too_many_headers");
}

TEST_CASE("http: malformed heads are refused with 400/505 and a reason", "[http]") {
  struct Case {
    const char* head;
    int status;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", 400},                           // no Host
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},     // two Hosts
      {"GET /\r\nHost: a\r\n\r\n", 400},                         // no version
      {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},               // two spaces
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTQ/1.1\r\nHost: a\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},                // method not a token
      {"GET x HTTP/1.1\r\nHost: a\r\n\r\n", 400},                // target without '/'
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},     // obs-fold
      {"GET / HTTP/1.1\r\nHost a\r\n\r\n", 400},                 // no colon
      {"GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400},               // bad name
      {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", 400},            // control byte
      {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400},                  // bare LF
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
  };
  for (const auto& c : cases) {
    INFO(c.head);
    auto r = parse_request_head(c.head, {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().status == c.status);
    CHECK_FALSE(r.error().reason.empty());
  }
  std::string nul = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  nul[5] = '\0';
  CHECK_FALSE(parse_request_head(nul, {}).has_value());
  // HTTP/1.0 needs no Host and is not keep-alive by default.
  auto old = parse_request_head("GET / HTTP/1.0\r\n\r\n", {});
  REQUIRE(old.has_value());
  CHECK_FALSE(old->keep_alive());
}

TEST_CASE("http: token lists in Connection/Upgrade are matched case-insensitively", "[http]") {
  auto req = parse_request_head("GET /ovp HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                                "Upgrade: WebSocket\r\n\r\n",
                                {});
  REQUIRE(req.has_value());
  CHECK(req->header_has_token("connection", "upgrade"));
  CHECK(req->header_has_token("upgrade", "websocket"));
  CHECK_FALSE(req->header_has_token("connection", "close"));
}

TEST_CASE("http: static mapping is serve.mjs's and never leaves its roots", "[http]") {
  const fs::path web = "/srv/web";
  const fs::path pkg = "/srv/pkg";
  auto r = [&](const char* p) { return resolve_static(p, web, pkg); };
  CHECK(r("/") == fs::path("/srv/web/index.html"));
  CHECK(r("/app.mjs") == fs::path("/srv/web/app.mjs"));
  CHECK(r("/sub/") == fs::path("/srv/web/sub/index.html"));
  CHECK(r("/omega") == fs::path("/srv/pkg/index.html"));
  CHECK(r("/omega/") == fs::path("/srv/pkg/index.html"));
  CHECK(r("/omega/omega.wasm") == fs::path("/srv/pkg/omega.wasm"));
  CHECK(r("/omegax") == fs::path("/srv/web/omegax"));
  CHECK(r("/%61pp.mjs") == fs::path("/srv/web/app.mjs"));
  // Traversal, encoded or not, is clamped at the root (as path.posix.normalize('/' + rel)).
  CHECK(r("/../../etc/passwd") == fs::path("/srv/web/etc/passwd"));
  CHECK(r("/%2e%2e/%2e%2e/etc/passwd") == fs::path("/srv/web/etc/passwd"));
  CHECK(r("/omega/../../x") == fs::path("/srv/web/x"));       // the URL step leaves "/x"
  CHECK(r("/omega/..%2f..%2fx") == fs::path("/srv/pkg/x"));   // decoded after it: clamped in pkg
  CHECK(r("/..%2f..%2fetc%2fpasswd") == fs::path("/srv/web/etc/passwd"));
  CHECK(r("/a/../../b") == fs::path("/srv/web/b"));
  // Refused: bad escapes, NUL bytes, the root itself.
  CHECK_FALSE(r("/%zz").has_value());
  CHECK_FALSE(r("/%4").has_value());
  CHECK_FALSE(r("/a%00b").has_value());
  // Dot segments as Node's URL parser removes them: a trailing one leaves a trailing '/'.
  CHECK(r("/..") == fs::path("/srv/web/index.html"));
  CHECK(r("/sub/.") == fs::path("/srv/web/sub/index.html"));
  CHECK(r("/sub/%2E%2e") == fs::path("/srv/web/index.html"));
  CHECK(r("/a\\..\\b") == fs::path("/srv/web/b"));
  // Decoded after the URL step, then normalised again (serve.mjs's path.posix.normalize).
  CHECK(r("/sub/..%2f") == fs::path("/srv/web/index.html"));
}

TEST_CASE("http: content types follow serve.mjs's table", "[http]") {
  CHECK(content_type_for("a/index.html") == "text/html; charset=utf-8");
  CHECK(content_type_for("a.mjs") == "text/javascript; charset=utf-8");
  CHECK(content_type_for("a.js") == "text/javascript; charset=utf-8");
  CHECK(content_type_for("a.css") == "text/css; charset=utf-8");
  CHECK(content_type_for("a.json") == "application/json; charset=utf-8");
  CHECK(content_type_for("a.wasm") == "application/wasm");
  CHECK(content_type_for("a.svg") == "image/svg+xml");
  CHECK(content_type_for("a.d.ts") == "text/plain; charset=utf-8");
  CHECK(content_type_for("a.txt") == "text/plain; charset=utf-8");
  CHECK(content_type_for("a.bin") == "application/octet-stream");
  CHECK(content_type_for("Makefile") == "application/octet-stream");
}

TEST_CASE("http: Sec-WebSocket-Accept is RFC 6455's example; keys must be base64 of 16 bytes", "[http]") {
  CHECK(websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK_FALSE(valid_websocket_key(""));
  CHECK_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZQ"));      // unpadded
  CHECK_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25jZSE="));    // 17 bytes
  CHECK_FALSE(valid_websocket_key("dGhlIHNhbXBsZSBub25j!Q=="));    // not base64
}

TEST_CASE("http: queries and decimal ids", "[http]") {
  auto q = parse_query("drone=7&groups=1,2&flag");
  REQUIRE(q.has_value());
  REQUIRE(q->size() == 3);
  CHECK((*q)[0] == std::pair<std::string, std::string>("drone", "7"));
  CHECK((*q)[1].second == "1,2");
  CHECK((*q)[2].first == "flag");
  CHECK_FALSE(parse_query("drone=%g1").has_value());
  CHECK(parse_u32("4294967295") == std::optional<std::uint32_t>(4294967295u));
  CHECK_FALSE(parse_u32("4294967296").has_value());
  CHECK_FALSE(parse_u32("-1").has_value());
  CHECK_FALSE(parse_u32("+1").has_value());
  CHECK_FALSE(parse_u32("1e3").has_value());
  CHECK_FALSE(parse_u32("").has_value());
  CHECK_FALSE(parse_u32("00000000001").has_value());
}

TEST_CASE("gateway options: values, defaults and clear errors", "[gateway_options]") {
  auto parse = [](std::vector<std::string> args) { return parse_command_line(args, "/w", "/p"); };
  auto ok = parse({"--port", "0", "--host=0.0.0.0", "--interface", "veth0", "--allow-origin",
                   "http://a:1,http://b:2/", "--drone-range", "10-20", "--max-message", "100", "--rate", "5.5",
                   "--burst", "3", "--no-isolation"});
  REQUIRE(ok.has_value());
  const GatewayConfig& c = ok->config;
  CHECK(c.port == 0);
  CHECK(c.host == "0.0.0.0");
  CHECK(c.interface == std::optional<std::string>("veth0"));
  CHECK(c.allow_origins == std::vector<std::string>{"http://a:1", "http://b:2"});
  CHECK(c.drone_min == 10);
  CHECK(c.drone_max == 20);
  CHECK(c.max_message == 100);
  CHECK(c.rate == 5.5);
  CHECK(c.burst == 3);
  CHECK_FALSE(c.isolate);
  CHECK(c.web_root == fs::path("/w"));

  auto defaults = parse({});
  REQUIRE(defaults.has_value());
  CHECK(defaults->config.port == 8080);
  CHECK(defaults->config.isolate);
  CHECK(defaults->config.package_dir == fs::path("/p"));
  CHECK(parse({"--help"})->help);

  struct Bad {
    std::vector<std::string> args;
    const char* says;
  };
  const Bad bad[] = {
      {{"--port", "65536"}, "--port"},
      {{"--port", "x"}, "--port"},
      {{"--port"}, "missing value"},
      {{"--host", "localhost"}, "numeric IPv4"},
      {{"--interface", "a/b"}, "interface name"},
      {{"--interface", "abcdefghijklmnop"}, "interface name"},
      {{"--drone-range", "5-4"}, "--drone-range"},
      {{"--drone-range", "0-4"}, "--drone-range"},
      {{"--drone-range", "1-4294967295"}, "--drone-range"},
      {{"--max-message", "5000"}, "--max-message"},
      {{"--rate", "-1"}, "--rate"},
      {{"--rate", "nan"}, "--rate"},
      {{"--burst", "0.5"}, "--burst"},
      {{"--allow-origin", "evil"}, "not an origin"},
      {{"--allow-origin", "http://a/b"}, "not an origin"},
      {{"--frobnicate"}, "unknown option"},
      {{"--no-isolation=1"}, "no value"},
  };
  for (const auto& b : bad) {
    auto r = parse(b.args);
    INFO(b.args[0]);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().find(b.says) != std::string::npos);
  }
}
