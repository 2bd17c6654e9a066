#include "testbed.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace omega::harness {
namespace {

// The removal command lines, prepared while it is still safe to allocate, so the signal
// handlers only fork, exec and wait.
struct Removal {
  char ip_path[256] = {};
  char netns_name[2][64] = {};
  // Idle -> Armed (create_testbed) -> Removing -> Removed. A signal may arrive twice and on
  // several threads at once (`timeout` signals the process and its group): whoever comes
  // second waits for the first removal to finish instead of exiting under it.
  enum State : int { kIdle, kArmed, kRemoving, kRemoved };
  std::atomic<int> state{kIdle};
};
Removal g_removal;

std::string find_ip() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

// Runs argv (no shell), returns its exit status (-1: could not start) with stdout and
// stderr together in `output`.
int run(const std::vector<std::string>& args, std::string& output) {
  output.clear();
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    output = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    output = args[0] + ": " + std::strerror(rc);
    return -1;
  }
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n > 0) {
      output.append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool permission_problem(const std::string& message) {
  return message.find("Operation not permitted") != std::string::npos ||
         message.find("Permission denied") != std::string::npos;
}

// Fork, exec `ip netns del name`, wait: async-signal-safe (_Fork runs no atfork handlers).
void delete_netns_signal_safe(const char* name) noexcept {
  if (name[0] == '\0') return;
  const pid_t pid = ::_Fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
    }
    char* const argv[] = {g_removal.ip_path, const_cast<char*>("netns"), const_cast<char*>("del"),
                          const_cast<char*>(name), nullptr};
    char* const envp[] = {nullptr};
    ::execve(g_removal.ip_path, argv, envp);
    ::_exit(127);
  }
  if (pid > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void write_stderr(const char* s) noexcept {
  const ssize_t ignored = ::write(STDERR_FILENO, s, std::strlen(s));
  (void)ignored;
}

void on_interrupt(int sig) {
  write_stderr("\nomega-harness: interrupted; removing the network namespaces\n");
  remove_testbed();
  ::_exit(128 + sig);
}

void on_fatal(int sig) {
  remove_testbed();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

SetupFailure create_testbed(Testbed& out, std::string& why) {
  const std::string ip = find_ip();
  if (ip.empty()) {
    why = "iproute2's `ip` was not found in /usr/sbin, /sbin, /usr/bin or /bin";
    return SetupFailure::Error;
  }
  const unsigned pid = static_cast<unsigned>(::getpid());
  // Interface names are at most 15 bytes: "omh" + up to 10 digits + 'a'/'b' fits. The /30
  // holds just the two ends; it varies with the pid only so that two beds never look alike
  // in captures (each namespace has its own routing table, so they could not collide).
  const unsigned net = pid % 16384;
  for (int i = 0; i < 2; ++i) {
    const char side = static_cast<char>('a' + i);
    out.netns[i] = "omh" + std::to_string(pid) + side;
    out.interface[i] = "omh" + std::to_string(pid) + side;
    out.address[i] = "10." + std::to_string(64 + net / 256) + "." + std::to_string(net % 256) + "." +
                     std::to_string(1 + i);
  }
  std::snprintf(g_removal.ip_path, sizeof g_removal.ip_path, "%s", ip.c_str());
  for (int i = 0; i < 2; ++i) {
    std::snprintf(g_removal.netns_name[i], sizeof g_removal.netns_name[i], "%s", out.netns[i].c_str());
  }

  std::string output;
  const auto step = [&](std::vector<std::string> args) {
    args.insert(args.begin(), ip);
    if (run(args, output) == 0) return true;
    std::string line;
    for (std::size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + args[i];
    why = "`ip " + line + "` failed: " + (output.empty() ? std::string("no message") : output);
    return false;
  };
  // Armed before the first command, so an interrupt at any point removes what exists
  // (deleting a namespace that was not created yet is harmless).
  g_removal.state.store(Removal::kArmed);
  const auto fail = [&] {
    remove_testbed();
    return permission_problem(output) ? SetupFailure::NotPermitted : SetupFailure::Error;
  };
  // The first namespace tells whether this process may do any of it.
  if (!step({"netns", "add", out.netns[0]}) || !step({"netns", "add", out.netns[1]})) return fail();
  if (!step({"-n", out.netns[0], "link", "add", out.interface[0], "type", "veth", "peer", "name", out.interface[1],
             "netns", out.netns[1]})) {
    return fail();
  }
  // No IPv6 on the pair: its neighbour discovery and MLD frames would show in the veth
  // counters the table reports. Best effort: a kernel without IPv6 has nothing to disable.
  for (int i = 0; i < 2; ++i) {
    std::thread([&] {
      if (!enter_netns(out.netns[i]).empty()) return;
      for (const char* path : {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
        if (FILE* f = std::fopen(path, "w")) {
          std::fputs("1", f);
          std::fclose(f);
        }
      }
    }).join();
  }
  for (int i = 0; i < 2; ++i) {
    if (!step({"-n", out.netns[i], "addr", "add", out.address[i] + "/30", "dev", out.interface[i]}) ||
        !step({"-n", out.netns[i], "link", "set", "lo", "up"}) ||
        !step({"-n", out.netns[i], "link", "set", out.interface[i], "up"})) {
      return fail();
    }
  }
  // A veth end reports LOWER_UP once both ends are up; frames sent before are dropped.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int i = 0; i < 2; ++i) {
    for (;;) {
      if (!step({"-n", out.netns[i], "-o", "link", "show", "dev", out.interface[i]})) return fail();
      if (output.find("LOWER_UP") != std::string::npos) {
        const auto at = output.find("link/ether ");
        if (at != std::string::npos) out.mac[i] = output.substr(at + 11, 17);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        why = "veth end " + out.interface[i] + " did not come up within 5 s: " + output;
        return fail();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return SetupFailure::None;
}

void remove_testbed() noexcept {
  int expected = Removal::kArmed;
  if (g_removal.state.compare_exchange_strong(expected, Removal::kRemoving)) {
    delete_netns_signal_safe(g_removal.netns_name[0]);
    delete_netns_signal_safe(g_removal.netns_name[1]);
    g_removal.state.store(Removal::kRemoved);
    return;
  }
  while (g_removal.state.load() == Removal::kRemoving) {
    const timespec pause{0, 1'000'000};
    ::nanosleep(&pause, nullptr);  // async-signal-safe
  }
}

std::string enter_netns(const std::string& netns) {
  const std::string path = "/run/netns/" + netns;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "open " + path + ": " + std::strerror(errno);
  const int rc = ::setns(fd, CLONE_NEWNET);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return "setns(" + path + "): " + std::strerror(err);
  return {};
}

void install_cleanup_handlers() {
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_interrupt;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    sigaddset(&sa.sa_mask, sig);
  }
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  struct sigaction fatal {};
  sigemptyset(&fatal.sa_mask);
  fatal.sa_handler = on_fatal;
  fatal.sa_flags = SA_RESETHAND;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &fatal, nullptr);
}

}  // namespace omega::harness
