#pragma once
// omega-gateway's configuration and its command line. Every limit has a default that a
// browser drone never reaches and a hostile client reaches quickly; docs/gateway.md.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <omega/base/result.hpp>
#include <omega/ovp/frame.hpp>

namespace omega::gateway {

struct GatewayConfig {
  std::string host = "127.0.0.1";  // numeric IPv4 to listen on
  std::uint16_t port = 8080;       // 0: any free port (printed at start-up)
  std::optional<std::string> interface;  // raw side (AF_PACKET); none: WebSocket drones only
  std::filesystem::path web_root;        // served at /
  std::filesystem::path package_dir;     // served at /omega/
  bool isolate = true;                   // COOP/COEP/CORP on every response (as serve.mjs)

  // Origins a WebSocket handshake may come from. Empty: the gateway's own origin, i.e. the
  // Origin must be "http://" + the request's Host (the page was served by this gateway).
  // "*" allows any. A handshake without Origin (not a browser) is accepted: Origin guards
  // browsers against cross-site pages, and a non-browser client could send any value.
  std::vector<std::string> allow_origins;

  std::uint32_t drone_min = 1;  // ids a connection may bind (?drone=N), inclusive
  std::uint32_t drone_max = ovp::kBroadcast - 1;

  std::size_t max_connections = 256;           // TCP connections, HTTP and WebSocket together
  std::size_t max_message = ovp::kMaxOvpSize;  // bytes per WebSocket message (1009 past it)
  std::size_t max_outgoing = 256 * 1024;       // bytes queued to one client (slow reader past it)
  double rate = 20'000;                        // messages per second per connection, sustained
  double burst = 5'000;                        // messages a connection may send at once
  std::int64_t handshake_timeout_ms = 5'000;   // a request must be complete within this
  std::int64_t idle_timeout_ms = 30'000;       // idle keep-alive HTTP, or a download without progress
  std::int64_t close_timeout_ms = 2'000;       // after our close frame/FIN, wait this for the peer
  std::size_t max_head_bytes = 8192;
  std::size_t max_headers = 64;
};

// What main() should do.
struct CommandLine {
  GatewayConfig config;
  bool help = false;
};

// Parses argv (without argv[0]). Errors name the option and what was wrong with it.
// `default_web_root`/`default_package_dir`: where web/ and the built JS package are when
// --web-root/--package-dir are not given (the source tree, known at build time).
Result<CommandLine, std::string> parse_command_line(const std::vector<std::string>& args,
                                                    const std::filesystem::path& default_web_root,
                                                    const std::filesystem::path& default_package_dir);

std::string usage();

}  // namespace omega::gateway
