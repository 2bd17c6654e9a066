#include "http.hpp"

#include <nettle/base64.h>
#include <nettle/sha1.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace omega::gateway {
namespace {

HttpError error(int status, std::string reason, std::string detail) {
  return HttpError{status, std::move(reason), std::move(detail)};
}

bool is_tchar(char c) {
  // RFC 9110 token characters.
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

bool HttpRequest::header_has_token(std::string_view lower_name, std::string_view token) const {
  for (const auto& [name, value] : headers) {
    if (name != lower_name) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (iequals(item, token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool HttpRequest::keep_alive() const {
  if (header_has_token("connection", "close")) return false;
  return version_minor == 1 || header_has_token("connection", "keep-alive");
}

Result<std::optional<std::size_t>, HttpError> find_head_end(std::string_view buffer, const HttpLimits& limits) {
  const std::size_t end = buffer.find("\r\n\r\n");
  if (end != std::string_view::npos && end + 4 <= limits.max_head_bytes) return std::optional<std::size_t>(end + 4);
  if (end != std::string_view::npos || buffer.size() >= limits.max_head_bytes) {
    return Err(error(431, "head_too_large",
                     "request head larger than " + std::to_string(limits.max_head_bytes) + " bytes"));
  }
  return std::optional<std::size_t>{};
}

Result<HttpRequest, HttpError> parse_request_head(std::string_view head, const HttpLimits& limits) {
  if (head.size() > limits.max_head_bytes) {
    return Err(error(431, "head_too_large", "request head larger than " + std::to_string(limits.max_head_bytes) + " bytes"));
  }
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    return Err(error(400, "malformed", "request head does not end with an empty line"));
  }
  head.remove_suffix(2);  // every line, the last header's included, now ends with "\r\n"
  for (char c : head) {
    if (c == '\0') return Err(error(400, "malformed", "NUL byte in request head"));
  }
  HttpRequest req;
  std::size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol + 2);
  if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
    return Err(error(400, "malformed", "bare CR or LF in request line"));
  }
  // request-line = method SP request-target SP HTTP-version
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Err(error(400, "malformed", "request line is not 'METHOD TARGET HTTP/1.x'"));
  }
  req.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!is_token(req.method)) return Err(error(400, "malformed", "method is not a token"));
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(static_cast<unsigned char>(version[5])) ||
      version[6] != '.' || !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return Err(error(400, "malformed", "bad HTTP version"));
  }
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return Err(error(505, "bad_version", "only HTTP/1.0 and HTTP/1.1 are served"));
  }
  req.version_minor = version[7] - '0';
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return Err(error(400, "malformed", "control byte in target"));
  }
  // absolute-form (a proxy's form): keep only its path and query.
  if (target.size() > 7 && (iequals(target.substr(0, 7), "http://") || iequals(target.substr(0, 8), "https://"))) {
    const std::size_t scheme_end = target.find("//") + 2;
    const std::size_t slash = target.find_first_of("/?#", scheme_end);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    if (target.front() != '/') return Err(error(400, "malformed", "absolute-form target without a path"));
  }
  if (target.empty() || target.front() != '/') return Err(error(400, "malformed", "request target must start with '/'"));
  req.target = std::string(target);
  const std::size_t q = target.find_first_of("?#");
  req.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos && target[q] == '?') {
    std::string_view query = target.substr(q + 1);
    req.query = std::string(query.substr(0, query.find('#')));
  }

  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head.remove_prefix(eol + 2);
    if (line.empty()) return Err(error(400, "malformed", "empty line inside the head"));
    if (line.front() == ' ' || line.front() == '\t') return Err(error(400, "malformed", "obsolete header line folding"));
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Err(error(400, "malformed", "header line without ':'"));
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return Err(error(400, "malformed", "header name is not a token"));
    const std::string_view value = trim(line.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Err(error(400, "malformed", "control byte in a header value"));
    }
    if (req.headers.size() >= limits.max_headers) {
      return Err(error(431, "too_many_headers", "more than " + std::to_string(limits.max_headers) + " headers"));
    }
    req.headers.emplace_back(lower(name), std::string(value));
  }

  const auto hosts = std::count_if(req.headers.begin(), req.headers.end(), [](const auto& h) { return h.first == "host"; });
  if (hosts > 1 || (req.version_minor == 1 && hosts == 0)) {
    return Err(error(400, "bad_host", "HTTP/1.1 needs exactly one Host header"));
  }
  if (req.header("transfer-encoding")) return Err(error(400, "has_body", "request bodies are not accepted"));
  int lengths = 0;
  for (const auto& [name, value] : req.headers) {
    if (name != "content-length") continue;
    if (++lengths > 1 || value != "0") return Err(error(400, "has_body", "request bodies are not accepted"));
  }
  return req;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

namespace {

// What Node's `new URL(path, 'http://localhost').pathname` makes of a path: '\\' is '/' for
// http URLs, and dot segments ("." ".." and their %2e spellings) are removed, a trailing one
// leaving a trailing '/' ("/a/.." is "/"). Percent escapes stay as they are.
std::string url_pathname(std::string_view raw) {
  std::string path(raw);
  std::replace(path.begin(), path.end(), '\\', '/');
  auto is_dot = [](std::string_view seg) { return seg == "." || iequals(seg, "%2e"); };
  auto is_dotdot = [](std::string_view seg) {
    return seg == ".." || iequals(seg, ".%2e") || iequals(seg, "%2e.") || iequals(seg, "%2e%2e");
  };
  std::vector<std::string> out;
  std::string_view rest = std::string_view(path).substr(1);  // after the leading '/'
  for (;;) {
    const std::size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (is_dotdot(seg)) {
      if (!out.empty()) out.pop_back();
      if (last) out.emplace_back();
    } else if (is_dot(seg)) {
      if (last) out.emplace_back();
    } else {
      out.emplace_back(seg);
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string result;
  for (const auto& seg : out) result += "/" + seg;
  return result.empty() ? "/" : result;
}

}  // namespace

std::optional<std::filesystem::path> resolve_static(std::string_view url_path, const std::filesystem::path& web_root,
                                                    const std::filesystem::path& package_dir) {
  if (url_path.empty() || url_path.front() != '/') return std::nullopt;
  auto decoded = percent_decode(url_pathname(url_path));
  if (!decoded || decoded->find('\0') != std::string::npos) return std::nullopt;
  const std::filesystem::path* root = &web_root;
  std::string rel = *decoded;
  if (rel == "/omega" || rel.rfind("/omega/", 0) == 0) {
    root = &package_dir;
    rel = rel.substr(6);
  }
  if (rel.empty() || rel.back() == '/') rel += "index.html";
  // Lexical normalisation of an absolute path drops ".." at the root: "/../x" is "/x".
  const std::filesystem::path normal = std::filesystem::path("/" + rel).lexically_normal();
  const std::filesystem::path file = (*root / normal.relative_path()).lexically_normal();
  // The same containment check as serve.mjs: strictly below the root, never the root itself.
  std::string prefix = root->lexically_normal().string();
  while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
  if (prefix != "/") prefix += '/';
  const std::string f = file.string();
  if (f.size() <= prefix.size() || f.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return file;
}

std::string_view content_type_for(const std::filesystem::path& file) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 9> kTypes{{
      {".html", "text/html; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".svg", "image/svg+xml"},
      {".ts", "text/plain; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  const std::string ext = file.extension().string();
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return type;
  }
  return "application/octet-stream";
}

std::string_view status_text(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

std::string response_head(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                          std::optional<std::size_t> content_length) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(status_text(status)) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  if (content_length) out += "Content-Length: " + std::to_string(*content_length) + "\r\n";
  out += "\r\n";
  return out;
}

bool valid_websocket_key(std::string_view key) {
  if (key.size() != 24) return false;
  base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  std::array<std::uint8_t, BASE64_DECODE_LENGTH(24)> out{};
  std::size_t n = out.size();
  if (!base64_decode_update(&ctx, &n, out.data(), key.size(), key.data())) return false;
  if (!base64_decode_final(&ctx)) return false;
  return n == 16;
}

std::string websocket_accept(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, key.size(), reinterpret_cast<const std::uint8_t*>(key.data()));
  sha1_update(&ctx, kGuid.size(), reinterpret_cast<const std::uint8_t*>(kGuid.data()));
  std::array<std::uint8_t, SHA1_DIGEST_SIZE> digest{};
  sha1_digest(&ctx, digest.size(), digest.data());
  std::string out(BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE), '\0');
  base64_encode_raw(out.data(), digest.size(), digest.data());
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    if (!item.empty()) {
      const std::size_t eq = item.find('=');
      auto name = percent_decode(item.substr(0, eq));
      auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
      if (!name || !value) return std::nullopt;
      out.emplace_back(std::move(*name), std::move(*value));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<std::uint32_t> parse_u32(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0xFFFFFFFFu) return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

}  // namespace omega::gateway
