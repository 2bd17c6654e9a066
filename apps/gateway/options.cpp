#include "options.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <type_traits>

namespace omega::gateway {
namespace {

std::optional<std::uint64_t> parse_unsigned(const std::string& text, std::uint64_t min, std::uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

std::optional<double> parse_positive(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(v) || v <= 0) return std::nullopt;
  return v;
}

bool valid_origin(const std::string& o) {
  if (o == "*") return true;
  const bool http = o.rfind("http://", 0) == 0;
  const bool https = o.rfind("https://", 0) == 0;
  if (!http && !https) return false;
  const std::string rest = o.substr(http ? 7 : 8);
  // scheme://host[:port], no path: an Origin header never carries one.
  return !rest.empty() && rest.find_first_of("/?# \t") == std::string::npos;
}

}  // namespace

std::string usage() {
  return R"(usage: omega-gateway [options]

Serves web/ at / and the JS package at /omega/ (with COOP/COEP), /metrics (Prometheus text),
/status (JSON), and bridges OVP frames between WebSocket drones on /ovp?drone=N and the raw
interface.

  --port N               TCP port (default 8080; 0: any free port, printed at start-up)
  --host ADDR            numeric IPv4 address to listen on (default 127.0.0.1)
  --interface IF         raw side: bridge to this network interface (AF_PACKET, EtherType
                         0x88B5; needs root or CAP_NET_RAW). Without it only WebSocket drones
                         talk to each other.
  --web-root DIR         served at / (default: the source tree's web/)
  --package-dir DIR      served at /omega/ (default: the source tree's build/omega-js/)
  --no-isolation         no COOP/COEP/CORP headers (the page falls back to the single-threaded build)
  --allow-origin O       a WebSocket Origin to accept (repeatable, or comma-separated; "*" = any).
                         Default: only the gateway's own origin (http:// + the request's Host).
  --drone-range A-B      drone ids connections may bind, inclusive (default 1-4294967294)
  --max-connections N    open TCP connections, HTTP and WebSocket together (default 256)
  --max-message BYTES    largest WebSocket message, 32..1500 (default 1500: one OVP frame)
  --max-outgoing BYTES   bytes queued to one client before it is cut off as a slow reader
                         (default 262144)
  --rate N               messages per second one connection may send, sustained (default 20000)
  --burst N              messages one connection may send at once (default 5000)
  --handshake-timeout MS a request (and the WebSocket handshake) must arrive within (default 5000)
  --idle-timeout MS      keep-alive HTTP connections with nothing to do, and downloads that
                         make no progress, close after (default 30000)
  --close-timeout MS     after closing, how long the peer gets to close its side (default 2000)
  --max-head BYTES       largest HTTP request head (default 8192)
  --max-headers N        most HTTP request headers (default 64)
  --help                 this text
)";
}

Result<CommandLine, std::string> parse_command_line(const std::vector<std::string>& args,
                                                    const std::filesystem::path& default_web_root,
                                                    const std::filesystem::path& default_package_dir) {
  CommandLine cl;
  GatewayConfig& c = cl.config;
  c.web_root = default_web_root;
  c.package_dir = default_package_dir;

  auto number = [](const std::string& opt, const std::string& v, std::uint64_t min,
                   std::uint64_t max) -> Result<std::uint64_t, std::string> {
    auto n = parse_unsigned(v, min, max);
    if (!n) return Err(opt + ": expected an integer in " + std::to_string(min) + ".." + std::to_string(max) + ", got '" + v + "'");
    return *n;
  };

  using Setter = std::function<Result<void, std::string>(const std::string& opt, const std::string& value)>;
  // An option whose value is an integer in min..max, stored in `field`.
  const auto integer = [&number](auto& field, std::uint64_t min, std::uint64_t max) -> Setter {
    return [&field, &number, min, max](const std::string& o, const std::string& v) -> Result<void, std::string> {
      auto n = number(o, v, min, max);
      if (!n) return Err(n.error());
      field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
      return {};
    };
  };
  const std::map<std::string, Setter> with_value{
      {"--port", integer(c.port, 0, 65535)},
      {"--host", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         in_addr a{};
         if (::inet_pton(AF_INET, v.c_str(), &a) != 1) return Err(o + ": expected a numeric IPv4 address, got '" + v + "'");
         c.host = v;
         return {};
       }},
      {"--interface", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         // IFNAMSIZ is 16 with the terminating NUL; names hold no '/', ':' or whitespace.
         if (v.empty() || v.size() > 15 || v.find_first_of("/: \t\n") != std::string::npos || v == "." || v == "..") {
           return Err(o + ": '" + v + "' is not a network interface name (1-15 characters, no '/', ':' or spaces)");
         }
         c.interface = v;
         return {};
       }},
      {"--web-root", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         if (v.empty()) return Err(o + ": expected a directory");
         c.web_root = v;
         return {};
       }},
      {"--package-dir", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         if (v.empty()) return Err(o + ": expected a directory");
         c.package_dir = v;
         return {};
       }},
      {"--allow-origin", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         std::size_t start = 0;
         while (start <= v.size()) {
           const std::size_t comma = v.find(',', start);
           std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
           while (!item.empty() && item.back() == '/') item.pop_back();  // "http://h:1/" means "http://h:1"
           if (!valid_origin(item)) {
             return Err(o + ": '" + item + "' is not an origin (scheme://host[:port], or '*')");
           }
           c.allow_origins.push_back(item);
           if (comma == std::string::npos) break;
           start = comma + 1;
         }
         return {};
       }},
      {"--drone-range", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         const std::size_t dash = v.find('-');
         const std::string msg = o + ": expected A-B with 1 <= A <= B <= 4294967294, got '" + v + "'";
         if (dash == std::string::npos) return Err(msg);
         auto a = parse_unsigned(v.substr(0, dash), 1, ovp::kBroadcast - 1);
         auto b = parse_unsigned(v.substr(dash + 1), 1, ovp::kBroadcast - 1);
         if (!a || !b || *a > *b) return Err(msg);
         c.drone_min = static_cast<std::uint32_t>(*a);
         c.drone_max = static_cast<std::uint32_t>(*b);
         return {};
       }},
      {"--max-connections", integer(c.max_connections, 1, 1'000'000)},
      {"--max-message", integer(c.max_message, ovp::kHeaderSize, ovp::kMaxOvpSize)},
      {"--max-outgoing", integer(c.max_outgoing, ovp::kMaxOvpSize, std::uint64_t{1} << 30)},
      {"--rate", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         auto n = parse_positive(v);
         if (!n) return Err(o + ": expected a positive number of messages per second, got '" + v + "'");
         c.rate = *n;
         return {};
       }},
      {"--burst", [&](const std::string& o, const std::string& v) -> Result<void, std::string> {
         auto n = parse_positive(v);
         if (!n || *n < 1) return Err(o + ": expected a number of messages >= 1, got '" + v + "'");
         c.burst = *n;
         return {};
       }},
      {"--handshake-timeout", integer(c.handshake_timeout_ms, 1, 3'600'000)},
      {"--idle-timeout", integer(c.idle_timeout_ms, 1, 3'600'000)},
      {"--close-timeout", integer(c.close_timeout_ms, 1, 600'000)},
      {"--max-head", integer(c.max_head_bytes, 256, 1 << 20)},
      {"--max-headers", integer(c.max_headers, 1, 1000)},
  };

  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string opt = args[i];
    std::optional<std::string> value;
    if (const std::size_t eq = opt.find('='); opt.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = opt.substr(eq + 1);  // --port=8080
      opt = opt.substr(0, eq);
    }
    if (opt == "--help" || opt == "-h") {
      cl.help = true;
      continue;
    }
    if (opt == "--no-isolation") {
      if (value) return Err(std::string("--no-isolation takes no value"));
      c.isolate = false;
      continue;
    }
    auto it = with_value.find(opt);
    if (it == with_value.end()) return Err("unknown option '" + args[i] + "' (see --help)");
    if (!value) {
      if (i + 1 >= args.size()) return Err(opt + ": missing value");
      value = args[++i];
    }
    if (auto r = it->second(opt, *value); !r) return Err(r.error());
  }
  if (c.burst < 1) return Err(std::string("--burst must be >= 1"));
  return cl;
}

}  // namespace omega::gateway
