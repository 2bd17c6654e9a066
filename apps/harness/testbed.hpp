#pragma once
// The harness's test bed: two network namespaces joined by a veth pair, each end addressed,
// created with iproute2 (`ip`) and removed again on every way out of the program: normal
// exit, an error, SIGINT/SIGTERM/SIGHUP, and (best effort) a crash. Names carry the
// process id, so two harnesses never share a namespace or an interface.
#include <array>
#include <cstdint>
#include <string>

namespace omega::harness {

// What a failure to build the test bed means for the caller: not permitted (not root, no
// CAP_SYS_ADMIN/CAP_NET_ADMIN: the test suite skips) or anything else (an error).
enum class SetupFailure : std::uint8_t { None, NotPermitted, Error };

struct Testbed {
  std::array<std::string, 2> netns;      // "omh<pid>a", "omh<pid>b"
  std::array<std::string, 2> interface;  // the veth end inside each namespace
  std::array<std::string, 2> address;    // IPv4 of each end, without the prefix length
  std::array<std::string, 2> mac;        // each end's MAC address, for the record
};

// Creates the namespaces and the veth pair, brings both ends up and waits for the link.
// On failure nothing is left behind; `why` says what failed with iproute2's own message.
SetupFailure create_testbed(Testbed& out, std::string& why);

// Removes both namespaces (the veth pair goes with them). Idempotent and async-signal-safe:
// the command lines were prepared by create_testbed, and it only forks, execs and waits.
void remove_testbed() noexcept;

// Moves the calling thread into `netns` (by name, /run/netns/<name>). Sockets created
// afterwards on this thread, and threads it starts afterwards, live in that namespace.
// Empty on success, else the reason.
std::string enter_netns(const std::string& netns);

// Installs the handlers that remove the test bed on SIGINT/SIGTERM/SIGHUP (then exit 130)
// and on fatal signals (then re-raise). The bed is removed from the handler itself, at once:
// a drone blocked in a wait cannot delay it, and the process exit frees everything else.
void install_cleanup_handlers();

}  // namespace omega::harness
