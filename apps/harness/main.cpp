// omega-harness: the seed's TCP-vs-OVP test (seed 000, issue 5). As root it creates two
// network namespaces joined by a veth pair, runs one drone in each, and counts for --seconds
// (default 2) per row the operations each workload completes over TCP (TCP_NODELAY), OVP
// best effort and OVP reliable, all through UltraOmegaSystem::submit_io_task. Prints a table
// (or --json) and removes the namespaces on every way out.
//
//   sudo build/native-release/apps/harness/omega-harness [--seconds 2] [--json]
//
// Exit status: 0 every row ran and its checks held; 1 a row failed (the table says why);
// 2 bad arguments; 77 not root, or not permitted to create network namespaces.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "drone.hpp"
#include "netns_testbed.hpp"

namespace h = omega::harness;

namespace {

constexpr int kExitNotPermitted = 77;

const char* const kUsage =
    "usage: omega-harness [options]   (run as root)\n"
    "  --seconds S         measurement window per row (default 2, the seed's \"ops in 2 seconds\")\n"
    "  --depth N           pipelined: requests in flight (default 16)\n"
    "  --in-flight N       one-way: sends in flight, and OVP receives posted ahead (default 64)\n"
    "  --loss-timeout-ms T best-effort OVP: a request unanswered this long counts lost (default 100)\n"
    "  --workloads LIST    comma-separated: ping-pong,pipelined,one-way-64,one-way-1k (default all)\n"
    "  --transports LIST   comma-separated: tcp,ovp,ovp-reliable (default all)\n"
    "  --runs N            rounds of every row; each row reports its median round by ops (default 1)\n"
    "  --json              print the results as JSON instead of the table\n"
    "exit status: 0 ok; 1 a row failed; 2 bad arguments; 77 not root / namespaces not permitted\n";

const char* const kDefinitions[] = {
    "ping-pong: one 64 B request in flight; an op is a round trip whose echoed answer arrived and was "
    "verified before the window closed",
    "pipelined: --depth 64 B requests in flight; an op is one verified answer before the window closed (each "
    "answer sends the next request)",
    "one-way-64 / one-way-1k: A sends messages back to back (--in-flight sends outstanding); an op is a message "
    "B received and verified (size, every byte, a sequence number above all seen) before the window closed",
    "RTT: from submitting the request to verifying its answer, on the requester; exact percentiles of every "
    "counted round trip",
    "dropped: frames lost on the way: veth rx/tx drops in both namespaces plus the OVP transport's own drop "
    "counters (kernel PACKET_STATISTICS, bad frames, full receive buffers); for TCP, segments retransmitted "
    "(RetransSegs in both namespaces); for reliable OVP also its retransmissions",
    "lost: best-effort OVP requests unanswered after --loss-timeout-ms (replaced by new ones), or one-way "
    "messages sent but never received; TCP and reliable OVP must lose none (the row fails otherwise)",
    "OVP/TCP: this row's ops divided by the TCP row's ops for the same workload",
};

bool parse_list(const std::string& s, std::vector<std::string>& out) {
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) return false;
    out.push_back(item);
  }
  return !out.empty();
}

std::string read_first_line(const char* path, const std::string& prefix = {}) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (prefix.empty()) return line;
    if (line.rfind(prefix, 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return {};
}

struct Machine {
  unsigned cores = 0;
  std::string kernel, cpu, loadavg;
};

Machine machine_facts() {
  Machine m;
  m.cores = std::thread::hardware_concurrency();
  utsname u{};
  if (::uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  m.cpu = read_first_line("/proc/cpuinfo", "model name");
  const std::string la = read_first_line("/proc/loadavg");
  std::istringstream s(la);
  std::string a, b, c;
  s >> a >> b >> c;
  m.loadavg = a + " " + b + " " + c;
  return m;
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {
  if (sorted.empty()) return -1;
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::string fmt_count(double v) {
  char buf[32];
  if (v >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
  } else if (v >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  }
  return buf;
}

std::string fmt_us(std::int64_t ns) {
  if (ns < 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f us", static_cast<double>(ns) / 1e3);
  return buf;
}

struct Row {
  h::RowResult r;
  std::int64_t p50 = -1, p99 = -1;
  std::optional<double> ratio;  // OVP rows: ops / TCP ops, when the TCP row ran
  std::vector<std::uint64_t> round_ops;  // every round's ops, in round order
};

std::string dropped_cell(const h::RowResult& r) {
  if (r.transport == h::Transport::Tcp) return std::to_string(r.tcp_retransmits) + " retx";
  const std::string drops = std::to_string(r.link_drops + r.kernel_drops + r.endpoint_drops);
  if (r.transport == h::Transport::OvpReliable) return drops + ", " + std::to_string(r.ovp_retransmissions) + " retx";
  return drops;
}

}  // namespace

int main(int argc, char** argv) {
  h::RowOptions options;
  bool json = false;
  unsigned runs = 1;
  std::vector<std::string> workload_names{"ping-pong", "pipelined", "one-way-64", "one-way-1k"};
  std::vector<std::string> transport_names{"tcp", "ovp", "ovp-reliable"};
  const auto bad = [](const std::string& why) {
    std::fprintf(stderr, "omega-harness: %s\n%s", why.c_str(), kUsage);
    return 2;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    const auto number = [&](double lo, double hi) -> std::optional<double> {
      const auto v = value();
      if (!v) return std::nullopt;
      char* end = nullptr;
      const double d = std::strtod(v->c_str(), &end);
      if (end == v->c_str() || *end != '\0' || !(d >= lo && d <= hi)) return std::nullopt;
      return d;
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--seconds") {
      const auto v = number(0.01, 600);
      if (!v) return bad("--seconds takes a number of seconds in 0.01..600");
      options.seconds = *v;
    } else if (a == "--depth") {
      const auto v = number(1, 4096);
      if (!v || *v != std::floor(*v)) return bad("--depth takes a whole number in 1..4096");
      options.depth = static_cast<unsigned>(*v);
    } else if (a == "--in-flight") {
      const auto v = number(1, 4096);
      if (!v || *v != std::floor(*v)) return bad("--in-flight takes a whole number in 1..4096");
      options.in_flight = static_cast<unsigned>(*v);
    } else if (a == "--runs") {
      const auto v = number(1, 99);
      if (!v || *v != std::floor(*v)) return bad("--runs takes a whole number in 1..99");
      runs = static_cast<unsigned>(*v);
    } else if (a == "--loss-timeout-ms") {
      const auto v = number(0.1, 10000);
      if (!v) return bad("--loss-timeout-ms takes milliseconds in 0.1..10000");
      options.loss_timeout_ms = *v;
    } else if (a == "--workloads" || a == "--transports") {
      const auto v = value();
      std::vector<std::string> list;
      if (!v || !parse_list(*v, list)) return bad(a + " takes a comma-separated list");
      (a == "--workloads" ? workload_names : transport_names) = list;
    } else {
      return bad("unknown argument '" + a + "'");
    }
  }
  std::vector<h::Workload> workloads;
  for (const auto& n : workload_names) {
    bool found = false;
    for (auto w : {h::Workload::PingPong, h::Workload::Pipelined, h::Workload::OneWay64, h::Workload::OneWay1K}) {
      if (n == h::name(w)) workloads.push_back(w), found = true;
    }
    if (!found) return bad("unknown workload '" + n + "'");
  }
  std::vector<h::Transport> transports;
  for (const auto& n : transport_names) {
    bool found = false;
    for (auto t : {h::Transport::Tcp, h::Transport::OvpBestEffort, h::Transport::OvpReliable}) {
      if (n == h::name(t)) transports.push_back(t), found = true;
    }
    if (!found) return bad("unknown transport '" + n + "'");
  }
  // TCP first in each workload, so each OVP row has its ratio.
  std::sort(transports.begin(), transports.end());
  transports.erase(std::unique(transports.begin(), transports.end()), transports.end());

  if (::geteuid() != 0) {
    std::fprintf(stderr,
                 "omega-harness: must run as root (it creates network namespaces and a veth pair, and OVP uses raw "
                 "AF_PACKET sockets); not root, nothing was measured\n");
    return kExitNotPermitted;
  }
  // The bed goes on every way out: its destructor (returns, exceptions), the explicit
  // remove() once the rows are done, and these handlers (signals).
  omega::netns::install_cleanup_handlers("omega-harness");
  omega::netns::VethTestbed testbed("omh");
  switch (testbed.failure()) {
    case omega::netns::SetupFailure::None: break;
    case omega::netns::SetupFailure::NotPermitted:
      std::fprintf(stderr, "omega-harness: not permitted to create network namespaces: %s\n", testbed.error().c_str());
      return kExitNotPermitted;
    case omega::netns::SetupFailure::Error:
      std::fprintf(stderr, "omega-harness: could not create the network namespaces: %s\n", testbed.error().c_str());
      return 1;
  }
  const h::Testbed& bed = testbed.ends();
  const Machine machine = machine_facts();
  std::fprintf(stderr, "omega-harness: drones in namespaces %s (%s, %s) and %s (%s, %s), %.2f s per row\n",
               bed.netns[0].c_str(), bed.interface[0].c_str(), bed.address[0].c_str(), bed.netns[1].c_str(),
               bed.interface[1].c_str(), bed.address[1].c_str(), options.seconds);

  // Rounds: every row once per round, so slow drifts in the machine's load touch every row
  // alike. Each row reports its median round by ops (a failed round fails the row).
  struct Plan {
    h::Workload w;
    h::Transport t;
    std::vector<h::RowResult> rounds;
  };
  std::vector<Plan> plan;
  for (auto w : workloads) {
    for (auto t : transports) plan.push_back({w, t, {}});
  }
  for (unsigned round = 0; round < runs; ++round) {
    if (runs > 1) std::fprintf(stderr, "  round %u of %u\n", round + 1, runs);
    for (auto& p : plan) {
      std::fprintf(stderr, "  %-11s %-13s ...", h::name(p.w), h::name(p.t));
      std::fflush(stderr);
      p.rounds.push_back(h::run_row(bed, p.w, p.t, options));
      const auto& r = p.rounds.back();
      std::fprintf(stderr, " %s\n",
                   r.error.empty() ? (std::to_string(r.ops) + " ops").c_str() : ("FAILED: " + r.error).c_str());
    }
  }
  std::vector<Row> rows;
  std::uint64_t tcp_ops = 0;  // this workload's TCP row; 0: none (it failed or was not run)
  for (auto& p : plan) {
    Row row;
    for (const auto& r : p.rounds) row.round_ops.push_back(r.ops);
    const auto failed_round = std::find_if(p.rounds.begin(), p.rounds.end(), [](const h::RowResult& r) {
      return !r.error.empty();
    });
    if (failed_round != p.rounds.end()) {
      row.r = std::move(*failed_round);
    } else {
      std::sort(p.rounds.begin(), p.rounds.end(),
                [](const h::RowResult& a, const h::RowResult& b) { return a.ops < b.ops; });
      row.r = std::move(p.rounds[p.rounds.size() / 2]);
    }
    std::sort(row.r.rtt_ns.begin(), row.r.rtt_ns.end());
    row.p50 = percentile(row.r.rtt_ns, 0.50);
    row.p99 = percentile(row.r.rtt_ns, 0.99);
    if (p.t == h::Transport::Tcp) tcp_ops = row.r.error.empty() ? row.r.ops : 0;
    if (p.t != h::Transport::Tcp && tcp_ops > 0 && row.r.error.empty()) {
      row.ratio = static_cast<double>(row.r.ops) / static_cast<double>(tcp_ops);
    }
    rows.push_back(std::move(row));
  }
  testbed.remove();

  const unsigned workers = rows.empty() ? 0 : rows.front().r.workers_per_drone;
  bool failed = false;
  for (const auto& row : rows) failed = failed || !row.r.error.empty();

  // The targets, each read from this run's own table.
  struct Target {
    std::string what;
    std::optional<double> value;
    double goal;
    bool at_most;  // value must be <= goal (else >=)
  };
  const auto find = [&](h::Workload w, h::Transport t) -> const Row* {
    for (const auto& row : rows) {
      if (row.r.workload == w && row.r.transport == t && row.r.error.empty()) return &row;
    }
    return nullptr;
  };
  std::vector<Target> targets;
  if (const Row* r = find(h::Workload::OneWay64, h::Transport::OvpBestEffort)) {
    targets.push_back({"OVP / TCP, one-way 64 B", r->ratio, 2.0, false});
  }
  if (const Row* r = find(h::Workload::PingPong, h::Transport::OvpBestEffort)) {
    targets.push_back({"OVP / TCP, ping-pong", r->ratio, 1.3, false});
  }
  for (auto w : workloads) {
    const Row* be = find(w, h::Transport::OvpBestEffort);
    const Row* rel = find(w, h::Transport::OvpReliable);
    if (be && rel && be->r.ops > 0) {
      targets.push_back({std::string("reliable below best effort, ") + h::name(w),
                         1.0 - static_cast<double>(rel->r.ops) / static_cast<double>(be->r.ops), 0.25, true});
    }
  }

  if (json) {
    nlohmann::json j;
    j["seconds"] = options.seconds;
    j["runs"] = runs;
    j["machine"] = {{"cores", machine.cores}, {"kernel", machine.kernel}, {"cpu", machine.cpu},
                    {"loadavg_at_start", machine.loadavg}};
    j["drones"] = {{"workers", workers}, {"submitting_threads", 1}, {"depth", options.depth},
                   {"in_flight", options.in_flight}, {"loss_timeout_ms", options.loss_timeout_ms},
                   {"netns", bed.netns}, {"interfaces", bed.interface}, {"addresses", bed.address}};
    j["definitions"] = kDefinitions;
    j["rows"] = nlohmann::json::array();
    for (const auto& row : rows) {
      const auto& r = row.r;
      nlohmann::json o = {{"workload", h::name(r.workload)},
                          {"transport", h::name(r.transport)},
                          {"ops", r.ops},
                          {"ops_per_s", static_cast<double>(r.ops) / r.window_s},
                          {"ops_each_run", row.round_ops},
                          {"sent", r.sent},
                          {"lost", r.lost},
                          {"late", r.late},
                          {"refused", r.refused},
                          {"out_of_order", r.out_of_order},
                          {"corrupt", r.corrupt},
                          {"link_drops", r.link_drops},
                          {"kernel_drops", r.kernel_drops},
                          {"endpoint_drops", r.endpoint_drops},
                          {"tcp_retransmits", r.tcp_retransmits},
                          {"ovp_retransmissions", r.ovp_retransmissions},
                          {"ovp_sequence_gaps", r.ovp_gaps},
                          {"error", r.error}};
      o["rtt_p50_ns"] = row.p50 >= 0 ? nlohmann::json(row.p50) : nlohmann::json(nullptr);
      o["rtt_p99_ns"] = row.p99 >= 0 ? nlohmann::json(row.p99) : nlohmann::json(nullptr);
      o["ovp_over_tcp"] = row.ratio ? nlohmann::json(*row.ratio) : nlohmann::json(nullptr);
      j["rows"].push_back(o);
    }
    j["targets"] = nlohmann::json::array();
    for (const auto& t : targets) {
      const bool met = t.value && (t.at_most ? *t.value <= t.goal : *t.value >= t.goal);
      j["targets"].push_back({{"what", t.what},
                              {"value", t.value ? nlohmann::json(*t.value) : nlohmann::json(nullptr)},
                              {"goal", t.goal},
                              {"comparison", t.at_most ? "<=" : ">="},
                              {"met", met}});
    }
    j["ok"] = !failed;
    std::printf("%s\n", j.dump(2).c_str());
    return failed ? 1 : 0;
  }

  std::printf("omega-harness: TCP vs OVP between two drones on a veth pair (%s %s <-> %s %s)\n",
              bed.interface[0].c_str(), bed.address[0].c_str(), bed.interface[1].c_str(), bed.address[1].c_str());
  std::printf("machine: %u cores, %s, %s, load average at start %s\n", machine.cores, machine.kernel.c_str(),
              machine.cpu.c_str(), machine.loadavg.c_str());
  std::printf("each drone: its own UltraOmegaSystem, %u workers, 1 submitting thread, all I/O through "
              "submit_io_task; window %.2f s per row; depth %u, in flight %u\n",
              workers, options.seconds, options.depth, options.in_flight);
  if (runs > 1) std::printf("each row: the median of %u rounds by ops (every round's ops below the table)\n", runs);
  std::printf("\n");
  char ops_header[32];
  std::snprintf(ops_header, sizeof ops_header, "ops in %.2g s", options.seconds);
  std::printf("| %-10s | %-12s | %12s | %10s | %10s | %10s | %9s | %6s | %7s |\n", "workload", "transport", ops_header,
              "ops/s", "RTT P50", "RTT P99", "dropped", "lost", "OVP/TCP");
  std::printf("|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", std::string(12, '-').c_str(), std::string(14, '-').c_str(),
              std::string(14, '-').c_str(), std::string(12, '-').c_str(), std::string(12, '-').c_str(),
              std::string(12, '-').c_str(), std::string(11, '-').c_str(), std::string(8, '-').c_str(),
              std::string(9, '-').c_str());
  for (const auto& row : rows) {
    const auto& r = row.r;
    if (!r.error.empty()) {
      std::printf("| %-10s | %-12s | FAILED: %s\n", h::name(r.workload), h::name(r.transport), r.error.c_str());
      continue;
    }
    char ratio[16] = "-";
    if (row.ratio) std::snprintf(ratio, sizeof ratio, "x%.2f", *row.ratio);
    std::printf("| %-10s | %-12s | %12llu | %10s | %10s | %10s | %9s | %6s | %7s |\n", h::name(r.workload),
                h::name(r.transport), static_cast<unsigned long long>(r.ops),
                fmt_count(static_cast<double>(r.ops) / r.window_s).c_str(), fmt_us(row.p50).c_str(),
                fmt_us(row.p99).c_str(), dropped_cell(r).c_str(),
                r.transport == h::Transport::Tcp ? "-" : std::to_string(r.lost).c_str(), ratio);
  }
  std::printf("\n");
  if (runs > 1) {
    std::printf("ops in each round:\n");
    for (const auto& row : rows) {
      std::string list;
      for (auto ops : row.round_ops) list += (list.empty() ? "" : " / ") + std::to_string(ops);
      std::printf("  %-10s %-12s %s\n", h::name(row.r.workload), h::name(row.r.transport), list.c_str());
    }
    std::printf("\n");
  }
  for (const char* d : kDefinitions) std::printf("  %s\n", d);
  if (!targets.empty()) {
    std::printf("\ntargets (issue 5):\n");
    for (const auto& t : targets) {
      const bool met = t.value && (t.at_most ? *t.value <= t.goal : *t.value >= t.goal);
      if (t.at_most) {
        std::printf("  %-40s %s %5.1f%% (goal <= %.0f%%)\n", t.what.c_str(), met ? "met    " : "NOT MET",
                    t.value ? *t.value * 100 : 0.0, t.goal * 100);
      } else if (t.value) {
        std::printf("  %-40s %s x%.3f (goal >= x%.2f)\n", t.what.c_str(), met ? "met    " : "NOT MET", *t.value,
                    t.goal);
      } else {
        std::printf("  %-40s no TCP row to compare with\n", t.what.c_str());
      }
    }
  }
  if (failed) std::fprintf(stderr, "omega-harness: some rows failed (see the table)\n");
  return failed ? 1 : 0;
}
