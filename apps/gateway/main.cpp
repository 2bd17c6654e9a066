// omega-gateway: see gateway.hpp and docs/gateway.md.
//
// Prints one line when it is ready, "omega-gateway: listening on http://HOST:PORT/ ...", so
// a test or a script that started it with --port 0 learns the port from stdout. SIGINT and
// SIGTERM shut it down gracefully (WebSocket drones get close 1001); exit status 0 then, 2 for
// bad options, 1 when it cannot start (port taken, interface missing, no permission).
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "gateway.hpp"
#include "options.hpp"
#include "raw_port.hpp"

int main(int argc, char** argv) {
  using namespace omega;
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto cl = gateway::parse_command_line(args, OMEGA_GATEWAY_WEB_ROOT, OMEGA_GATEWAY_PACKAGE_DIR);
  if (!cl) {
    std::cerr << "omega-gateway: " << cl.error() << "\n";
    return 2;
  }
  if (cl->help) {
    std::cout << gateway::usage();
    return 0;
  }
  gateway::GatewayConfig config = cl->config;

  // Signals arrive as readable data on a signalfd: handled in the loop like any event.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);  // sends use MSG_NOSIGNAL; this covers anything else
  const int sfd = ::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    std::perror("omega-gateway: signalfd");
    return 1;
  }

  auto loop = native::EventLoop::create();
  if (!loop) {
    std::cerr << "omega-gateway: " << loop.error() << "\n";
    return 1;
  }
  std::unique_ptr<gateway::RawPort> raw;
  if (config.interface) {
    auto port = gateway::open_raw_port(*config.interface);
    if (!port) {
      std::cerr << "omega-gateway: --interface " << *config.interface << ": " << port.error() << "\n";
      return 1;
    }
    raw = std::move(*port);
  }
  auto gw = gateway::Gateway::create(**loop, config, std::move(raw));
  if (!gw) {
    std::cerr << "omega-gateway: " << gw.error() << "\n";
    return 1;
  }
  bool stopping = false;
  auto reg = (*loop)->add_fd(sfd, EPOLLIN, [&](std::uint32_t) {
    signalfd_siginfo info{};
    while (::read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (stopping) continue;
      stopping = true;
      std::cout << "omega-gateway: signal " << info.ssi_signo << ", shutting down" << std::endl;
      (*gw)->shutdown([&] { (*loop)->stop(); });
    }
  });
  if (!reg) {
    std::cerr << "omega-gateway: " << reg.error() << "\n";
    return 1;
  }
  const std::string base = "http://" + config.host + ":" + std::to_string((*gw)->port());
  std::cout << "omega-gateway: listening on " << base << "/ (WebSocket drones: ws://" << config.host << ":"
            << (*gw)->port() << "/ovp?drone=N; raw side: " << (config.interface ? *config.interface : "none")
            << "; web root " << config.web_root.string() << ")" << std::endl;
  (*loop)->run();
  (*loop)->remove_fd(*reg);
  ::close(sfd);
  gw->reset();
  return 0;
}
