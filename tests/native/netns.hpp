#pragma once
// Two network namespaces joined by a veth pair, for raw-socket tests: created with unique
// names per process and test, and removed by the destructor (so also when a REQUIRE fails;
// deleting a namespace deletes the veth end inside it). Needs root (CAP_SYS_ADMIN and
// CAP_NET_ADMIN); VethPair::available() says why not when it cannot work.
//
// A thread enters a namespace with in_namespace(): sockets it creates belong to that
// namespace for their whole life, whichever thread uses them later, and threads it starts
// (a system's reactor thread) start in it.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace omega::test {

inline int run_quiet(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

class VethPair {
 public:
  // Empty when the machine can run these tests; otherwise why not (the skip message).
  static std::string available() {
    if (::geteuid() != 0) return "not root: raw-socket tests need root (CAP_NET_ADMIN, CAP_NET_RAW)";
    if (run_quiet("ip -V") != 0) return "the `ip` command (iproute2) is missing";
    VethPair probe;
    if (!probe.ok()) return "cannot create network namespaces and veth pairs here: " + probe.error_;
    return {};
  }

  VethPair() {
    static std::atomic<int> counter{0};
    const std::string tag = std::to_string(::getpid() % 100000) + "x" + std::to_string(counter++);
    ns_a_ = "omega-ovp-" + tag + "-a";
    ns_b_ = "omega-ovp-" + tag + "-b";
    if_a_ = "ova" + tag;  // veth names: at most 15 characters
    if_b_ = "ovb" + tag;
    if (if_a_.size() > 15) {
      error_ = "interface name too long";
      return;
    }
    const std::string steps[] = {
        "ip netns add " + ns_a_,
        "ip netns add " + ns_b_,
        "ip link add " + if_a_ + " netns " + ns_a_ + " type veth peer name " + if_b_ + " netns " + ns_b_,
        "ip -n " + ns_a_ + " link set " + if_a_ + " up",
        "ip -n " + ns_b_ + " link set " + if_b_ + " up",
        "ip -n " + ns_a_ + " link set lo up",
        "ip -n " + ns_b_ + " link set lo up",
    };
    for (const auto& s : steps) {
      if (run_quiet(s) != 0) {
        error_ = "`" + s + "` failed";
        return;
      }
    }
    ok_ = true;
  }
  ~VethPair() {
    run_quiet("ip netns del " + ns_a_);
    run_quiet("ip netns del " + ns_b_);
  }
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] const std::string& ns_a() const { return ns_a_; }
  [[nodiscard]] const std::string& ns_b() const { return ns_b_; }
  [[nodiscard]] const std::string& if_a() const { return if_a_; }
  [[nodiscard]] const std::string& if_b() const { return if_b_; }

  // Runs fn on a thread that has entered namespace `ns`, and waits for it.
  static void in_namespace(const std::string& ns, const std::function<void()>& fn) {
    std::thread t([&] {
      const int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
        std::fprintf(stderr, "setns(%s) failed\n", ns.c_str());
        std::abort();
      }
      ::close(fd);
      fn();
    });
    t.join();
  }

 private:
  std::string ns_a_, ns_b_, if_a_, if_b_, error_;
  bool ok_ = false;
};

}  // namespace omega::test
