#pragma once
// One row of the harness's table: two drones, A in the first namespace and B in the second,
// each a thread that enters its namespace and then builds its own UltraOmegaSystem, so the
// system's reactor thread (started by the first submit_io_task, from that thread) and every
// socket it opens live in the drone's namespace. Both drones do all their I/O through
// submit_io_task, TCP and OVP alike.
#include <cstdint>
#include <string>
#include <vector>

#include "netns_testbed.hpp"

namespace omega::harness {

// The two namespaces and veth ends the drones run in (apps/common).
using Testbed = netns::VethEnds;

enum class Transport : std::uint8_t { Tcp, OvpBestEffort, OvpReliable };
enum class Workload : std::uint8_t { PingPong, Pipelined, OneWay64, OneWay1K };

const char* name(Transport t);  // "tcp", "ovp", "ovp-reliable"
const char* name(Workload w);   // "ping-pong", "pipelined", "one-way-64", "one-way-1k"
std::size_t message_size(Workload w);

struct RowOptions {
  double seconds = 2.0;
  unsigned depth = 16;      // pipelined: requests in flight
  unsigned in_flight = 64;  // one-way: sends in flight; OVP: receives posted ahead
  // Best-effort OVP: a request unanswered this long is lost (and replaced). Well above the
  // scheduling delays of a loaded 2-core machine, which otherwise pass for losses.
  double loss_timeout_ms = 100;
  unsigned regular_threads = 2;  // per drone: 2 regular nodes and 1 super node, this many
  unsigned super_threads = 2;    // threads each (created up front)
};

struct RowResult {
  Workload workload{};
  Transport transport{};
  double window_s = 0;
  std::uint64_t ops = 0;
  std::vector<std::int64_t> rtt_ns;  // one per counted round trip
  std::uint64_t sent = 0;            // requests or one-way messages the sender submitted
  std::uint64_t refused = 0;         // reliable emits refused by a full send buffer
  std::uint64_t lost = 0;            // unanswered requests / messages sent but never received
  std::uint64_t late = 0;            // answers that came after their request was counted lost
  std::uint64_t out_of_order = 0;    // one-way: a sequence number below one already seen
  std::uint64_t corrupt = 0;         // wrong size, kind or content
  std::uint64_t link_drops = 0;      // veth rx/tx drops in both namespaces (/proc/net/dev)
  std::uint64_t kernel_drops = 0;    // OVP: PACKET_STATISTICS drops (socket buffer full), both drones
  std::uint64_t endpoint_drops = 0;  // OVP: the transport's other drop counters, both drones
  std::uint64_t tcp_retransmits = 0; // TCP: RetransSegs in both namespaces (/proc/net/snmp)
  std::uint64_t ovp_retransmissions = 0;  // reliable OVP: retransmitted messages, both drones
  std::uint64_t ovp_gaps = 0;  // best-effort OVP: sequence gaps the receiving endpoints saw
  unsigned workers_per_drone = 0;
  std::string error;  // empty when the row ran and its checks held
};

RowResult run_row(const Testbed& bed, Workload workload, Transport transport, const RowOptions& options);

}  // namespace omega::harness
