#pragma once
// Two network namespaces joined by a veth pair, for raw-socket tests: the test bed
// omega-harness uses (apps/common/netns_testbed.hpp), with unique names per process and
// test, removed by the destructor (so also when a REQUIRE fails; deleting a namespace
// deletes the veth end inside it). Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN);
// VethPair::available() says why not when it cannot work, and remembers that cases were
// skipped (tests/native/main.cpp then exits 77: ctest reports the entry as skipped).
//
// A thread enters a namespace with in_namespace(): sockets it creates belong to that
// namespace for their whole life, whichever thread uses them later, and threads it starts
// (a system's reactor thread) start in it.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "netns_testbed.hpp"

namespace omega::test {

class VethPair {
 public:
  // Empty when the machine can run these tests; otherwise why not (the skip message).
  static std::string available() {
    std::string why;
    if (::geteuid() != 0) {
      why = "not root: raw-socket tests need root (CAP_NET_ADMIN, CAP_NET_RAW)";
    } else if (VethPair probe; !probe.ok()) {
      why = "cannot create network namespaces and veth pairs here: " + probe.error();
    }
    if (!why.empty()) skipped_.store(true);
    return why;
  }
  // Whether available() has said no in this process.
  static bool skipped() { return skipped_.load(); }

  VethPair() : bed_("ovt") {}
  VethPair(const VethPair&) = delete;
  VethPair& operator=(const VethPair&) = delete;

  [[nodiscard]] bool ok() const { return bed_.ok(); }
  [[nodiscard]] const std::string& error() const { return bed_.error(); }
  [[nodiscard]] const std::string& ns_a() const { return bed_.ends().netns[0]; }
  [[nodiscard]] const std::string& ns_b() const { return bed_.ends().netns[1]; }
  [[nodiscard]] const std::string& if_a() const { return bed_.ends().interface[0]; }
  [[nodiscard]] const std::string& if_b() const { return bed_.ends().interface[1]; }

  // Runs fn on a thread that has entered namespace `ns`, and waits for it.
  static void in_namespace(const std::string& ns, const std::function<void()>& fn) {
    if (const std::string why = netns::run_in_netns(ns, fn); !why.empty()) {
      std::fprintf(stderr, "%s\n", why.c_str());
      std::abort();
    }
  }

 private:
  static inline std::atomic<bool> skipped_{false};
  netns::VethTestbed bed_;
};

}  // namespace omega::test
