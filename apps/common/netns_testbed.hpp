#pragma once
// A test bed of two network namespaces joined by a veth pair, for the programs and tests
// that put raw sockets on a real link (omega-harness, tests/native). Built with iproute2
// (`ip`, run without a shell) and removed again on every way out:
//
// - the destructor (normal end, an early return, an exception or a failed REQUIRE);
// - remove_all_testbeds(), which is async-signal-safe: the handlers install_cleanup_handlers()
//   sets up call it on SIGINT/SIGTERM/SIGHUP and on fatal signals. The command lines are
//   prepared when the bed is created, so removal only forks, execs and waits.
//
// Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN); failure() says NotPermitted when that is what
// is missing, so callers can skip instead of failing.
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace omega::netns {

// Why a bed could not be built: not permitted (not root, no CAP_SYS_ADMIN/CAP_NET_ADMIN:
// callers skip) or anything else (an error).
enum class SetupFailure : std::uint8_t { None, NotPermitted, Error };

// Index 0 is side A, 1 side B.
struct VethEnds {
  std::array<std::string, 2> netns;      // "<prefix><pid>a", "<prefix><pid>b" (see VethTestbed)
  std::array<std::string, 2> interface;  // the veth end inside each namespace (same names)
  std::array<std::string, 2> address;    // IPv4 of each end (one /30), without the prefix length
  std::array<std::string, 2> mac;        // each end's MAC address
};

class VethTestbed {
 public:
  // Creates both namespaces and the veth pair, addresses the ends, brings them and `lo` up,
  // turns IPv6 off inside (its neighbour discovery would add frames to the link) and waits
  // until the link is up (frames sent before are dropped). On failure nothing is left behind
  // and error() quotes iproute2's own message.
  //
  // `prefix` (1 to 3 lowercase letters) names the owner. Names are <prefix><pid><side> for a
  // process's first bed and <prefix><pid>n<k><side> for its k-th after that (interface names
  // have at most 15 bytes), so two processes, or two beds in one, never share a namespace.
  explicit VethTestbed(std::string_view prefix);
  ~VethTestbed();  // remove()
  VethTestbed(const VethTestbed&) = delete;
  VethTestbed& operator=(const VethTestbed&) = delete;

  [[nodiscard]] bool ok() const noexcept { return failure_ == SetupFailure::None; }
  [[nodiscard]] SetupFailure failure() const noexcept { return failure_; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] const VethEnds& ends() const noexcept { return ends_; }

  // Deletes both namespaces (the veth pair goes with them). Idempotent.
  void remove() noexcept;

 private:
  SetupFailure create(std::string_view prefix);

  VethEnds ends_;
  SetupFailure failure_ = SetupFailure::Error;
  std::string error_;
  int slot_ = -1;  // this bed's entry in the signal-safe removal table; -1: none
};

// Moves the calling thread into `netns` (by name, /run/netns/<name>). Sockets it creates
// afterwards, and threads it starts afterwards, live in that namespace for their whole life.
// Empty on success, else the reason.
std::string enter_netns(const std::string& netns);

// Runs fn on a new thread that has entered `netns`, and waits for it. Empty when fn ran,
// else why the thread could not enter (fn did not run).
std::string run_in_netns(const std::string& netns, const std::function<void()>& fn);

// Removes every bed of this process that exists now. Async-signal-safe; a removal another
// thread has begun is waited for (briefly: when that thread is the one the signal
// interrupted, it cannot finish, and the namespaces are deleted again from here).
void remove_all_testbeds() noexcept;

// Handlers that remove every bed: on SIGINT/SIGTERM/SIGHUP after writing
// "\n<program>: interrupted; removing the network namespaces\n" to stderr, then _exit(128 +
// signal); on SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT, then the signal is raised again with its
// default action. Removal happens in the handler itself, at once: a thread blocked in a
// wait cannot delay it, and the process exit frees everything else. For programs; a test
// runner keeps its own handlers.
void install_cleanup_handlers(const char* program);

}  // namespace omega::netns
