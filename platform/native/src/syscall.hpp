#pragma once
// The native platform's one way to turn a failed system call into text: the call, what it
// acted on (when that helps: an interface, an address), the kernel's message and the errno,
// e.g. "bind 127.0.0.1:80: Permission denied (errno 13)". Error values carry these strings
// (Result<T, std::string>, ExecutionFailed); nothing here throws or prints.
#include <string>
#include <string_view>
#include <system_error>

namespace omega::native {

[[nodiscard]] inline std::string errno_text(std::string_view what, int err) {
  std::string s(what);
  s += ": ";
  s += std::system_category().message(err);
  s += " (errno " + std::to_string(err) + ")";
  return s;
}

// "<what> (<subject>): <message> (errno N)"; an empty subject is left out.
[[nodiscard]] inline std::string errno_text(std::string_view what, std::string_view subject, int err) {
  if (subject.empty()) return errno_text(what, err);
  std::string s(what);
  s += " (";
  s += subject;
  s += ")";
  return errno_text(s, err);
}

}  // namespace omega::native
