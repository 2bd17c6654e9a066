#pragma once
// omega-gateway's HTTP/1.1 pieces that involve no sockets, so they are tested on their own:
// request-head parsing with limits, the static-file mapping (the same as scripts/serve.mjs),
// content types, response heads, and the WebSocket handshake's key check and accept value.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <omega/base/result.hpp>

namespace omega::gateway {

struct HttpLimits {
  std::size_t max_head_bytes = 8192;  // request line + headers + the blank line
  std::size_t max_headers = 64;
};

struct HttpRequest {
  std::string method;
  std::string target;  // as sent (origin-form, or absolute-form reduced to its path and query)
  std::string path;    // target up to '?' or '#', still percent-encoded
  std::string query;   // after '?', without it ("" when absent)
  int version_minor = 1;  // HTTP/1.<minor>: 0 or 1
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed

  // First value of a header (name in lower case), or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view lower_name) const;
  // True if a comma-separated header (Connection, Upgrade) lists `token` (case-insensitive).
  [[nodiscard]] bool header_has_token(std::string_view lower_name, std::string_view token) const;
  // HTTP/1.1 without "Connection: close", or HTTP/1.0 with "Connection: keep-alive".
  [[nodiscard]] bool keep_alive() const;
};

// Why a request was refused: the status to answer with and a reason for the counters.
struct HttpError {
  int status = 400;
  std::string reason;  // short, [a-z_]: a metrics label value
  std::string detail;  // for the response body
};

// Finds the end of a request head in `buffer` ("\r\n\r\n"): the head's size including the
// blank line, or nullopt if it is not complete yet. Fails with 431 when no end lies within
// limits.max_head_bytes.
Result<std::optional<std::size_t>, HttpError> find_head_end(std::string_view buffer, const HttpLimits& limits);

// Parses one complete head (what find_head_end measured). Strict: CRLF line ends, token
// method and header names, no obsolete line folding, no control bytes in values, exactly
// one Host for HTTP/1.1; HTTP/1.0 and 1.1 only (505 otherwise); request bodies are refused
// (Transfer-Encoding, or a Content-Length other than 0: 400).
Result<HttpRequest, HttpError> parse_request_head(std::string_view head, const HttpLimits& limits);

// Percent-decodes a URL path; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view s);

// The file a URL path names, exactly as scripts/serve.mjs maps it: /omega and /omega/...
// under package_dir, everything else under web_root; a path ending in '/' (or empty) gets
// index.html; dot segments are resolved lexically and can never leave the root. nullopt for
// a bad escape, a NUL byte, or anything that would escape (answered 404, as serve.mjs does).
std::optional<std::filesystem::path> resolve_static(std::string_view url_path, const std::filesystem::path& web_root,
                                                    const std::filesystem::path& package_dir);

// serve.mjs's table: .html .mjs .js .css .json .wasm .svg .ts .txt; anything else
// application/octet-stream.
std::string_view content_type_for(const std::filesystem::path& file);

// A response head: status line, `headers` in order, Content-Length when given, and the
// blank line.
std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                          std::optional<std::size_t> content_length);
std::string_view status_text(int status);

// RFC 6455: a valid Sec-WebSocket-Key is base64 of exactly 16 bytes.
bool valid_websocket_key(std::string_view key);
// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), with nettle.
std::string websocket_accept(std::string_view key);

// Query string parameters (application/x-www-form-urlencoded style, no '+' decoding: the
// gateway's parameters are numbers). A malformed escape yields nullopt.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query);

// A drone or group id written in decimal: digits only, no sign, at most 10 digits, fitting
// 32 bits. nullopt otherwise.
std::optional<std::uint32_t> parse_u32(std::string_view text);

}  // namespace omega::gateway
