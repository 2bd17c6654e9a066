#include "netns_testbed.hpp"

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
#include <thread>
#include <vector>

extern char** environ;

namespace omega::netns {
namespace {

// The removal table: one slot per live bed, holding the command lines prepared while it is
// still safe to allocate, so removal from a signal handler only forks, execs and waits.
struct Slot {
  // Free -> Claimed (being filled) -> Armed (namespaces may exist) -> Removing -> Removed
  // -> Free (the bed's destructor). A signal may arrive twice and on several threads at once
  // (`timeout` signals the process and its group): whoever comes second waits for the first
  // removal to finish instead of exiting under it.
  enum State : int { kFree, kClaimed, kArmed, kRemoving, kRemoved };
  std::atomic<int> state{kFree};
  char ip_path[64] = {};
  char netns[2][32] = {};
};
constexpr int kSlots = 16;
Slot g_slots[kSlots];

char g_program[64] = "omega";  // for the interrupt message

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
void delete_netns_signal_safe(char* ip_path, char* name) noexcept {
  if (ip_path[0] == '\0' || name[0] == '\0') return;
  const pid_t pid = ::_Fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDOUT_FILENO);
      ::dup2(devnull, STDERR_FILENO);
    }
    char* const argv[] = {ip_path, const_cast<char*>("netns"), const_cast<char*>("del"), name, nullptr};
    char* const envp[] = {nullptr};
    ::execve(ip_path, argv, envp);
    ::_exit(127);
  }
  if (pid > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void delete_slot_namespaces(Slot& s) noexcept {
  delete_netns_signal_safe(s.ip_path, s.netns[0]);
  delete_netns_signal_safe(s.ip_path, s.netns[1]);
}

// Removes the slot's namespaces if armed; if another removal is under way, waits for it
// (at most `patience_ms`, then deletes them again itself: deleting a namespace that is gone
// is harmless). Async-signal-safe.
void remove_slot(Slot& s, int patience_ms) noexcept {
  int expected = Slot::kArmed;
  if (s.state.compare_exchange_strong(expected, Slot::kRemoving)) {
    delete_slot_namespaces(s);
    s.state.store(Slot::kRemoved);
    return;
  }
  for (int waited = 0; s.state.load() == Slot::kRemoving; ++waited) {
    if (waited >= patience_ms) {
      delete_slot_namespaces(s);
      return;
    }
    const timespec pause{0, 1'000'000};
    ::nanosleep(&pause, nullptr);  // async-signal-safe
  }
}

void write_stderr(const char* s) noexcept {
  const ssize_t ignored = ::write(STDERR_FILENO, s, std::strlen(s));
  (void)ignored;
}

void on_interrupt(int sig) {
  write_stderr("\n");
  write_stderr(g_program);
  write_stderr(": interrupted; removing the network namespaces\n");
  remove_all_testbeds();
  ::_exit(128 + sig);
}

void on_fatal(int sig) {
  remove_all_testbeds();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

VethTestbed::VethTestbed(std::string_view prefix) { failure_ = create(prefix); }

VethTestbed::~VethTestbed() { remove(); }

SetupFailure VethTestbed::create(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 3 ||
      prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string_view::npos) {
    error_ = "test bed prefix '" + std::string(prefix) + "' must be 1 to 3 lowercase letters";
    return SetupFailure::Error;
  }
  const std::string ip = find_ip();
  if (ip.empty()) {
    error_ = "iproute2's `ip` was not found in /usr/sbin, /sbin, /usr/bin or /bin";
    return SetupFailure::Error;
  }
  for (int i = 0; i < kSlots && slot_ < 0; ++i) {
    int expected = Slot::kFree;
    if (g_slots[i].state.compare_exchange_strong(expected, Slot::kClaimed)) slot_ = i;
  }
  if (slot_ < 0) {
    error_ = "more than " + std::to_string(kSlots) + " test beds at once in one process";
    return SetupFailure::Error;
  }
  Slot& slot = g_slots[slot_];

  static std::atomic<unsigned> created{0};
  const unsigned k = created.fetch_add(1);
  const unsigned pid = static_cast<unsigned>(::getpid());
  const std::string tag = std::to_string(pid) + (k == 0 ? std::string() : "n" + std::to_string(k % 1000));
  // The /30 holds just the two ends; it varies with the pid only so that two beds never look
  // alike in captures (each namespace has its own routing table, so they could not collide).
  const unsigned net = pid % 16384;
  for (int i = 0; i < 2; ++i) {
    const char side = static_cast<char>('a' + i);
    ends_.netns[i] = std::string(prefix) + tag + side;  // at most 3 + 7 + 4 + 1 = 15 bytes
    ends_.interface[i] = ends_.netns[i];
    ends_.address[i] = "10." + std::to_string(64 + net / 256) + "." + std::to_string(net % 256) + "." +
                       std::to_string(1 + i);
  }
  std::snprintf(slot.ip_path, sizeof slot.ip_path, "%s", ip.c_str());
  for (int i = 0; i < 2; ++i) std::snprintf(slot.netns[i], sizeof slot.netns[i], "%s", ends_.netns[i].c_str());

  std::string output;
  const auto step = [&](std::vector<std::string> args) {
    args.insert(args.begin(), ip);
    if (run(args, output) == 0) return true;
    std::string line;
    for (std::size_t i = 1; i < args.size(); ++i) line += (i > 1 ? " " : "") + args[i];
    error_ = "`ip " + line + "` failed: " + (output.empty() ? std::string("no message") : output);
    return false;
  };
  // Armed before the first command, so an interrupt at any point removes what exists
  // (deleting a namespace that was not created yet is harmless).
  slot.state.store(Slot::kArmed);
  const auto fail = [&] {
    remove();
    return permission_problem(output) ? SetupFailure::NotPermitted : SetupFailure::Error;
  };
  // The first namespace tells whether this process may do any of it.
  if (!step({"netns", "add", ends_.netns[0]}) || !step({"netns", "add", ends_.netns[1]})) return fail();
  if (!step({"-n", ends_.netns[0], "link", "add", ends_.interface[0], "type", "veth", "peer", "name",
             ends_.interface[1], "netns", ends_.netns[1]})) {
    return fail();
  }
  // Best effort: a kernel without IPv6 has nothing to turn off.
  for (int i = 0; i < 2; ++i) {
    [[maybe_unused]] const std::string entered = run_in_netns(ends_.netns[i], [] {
      for (const char* path : {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
        if (FILE* f = std::fopen(path, "w")) {
          std::fputs("1", f);
          std::fclose(f);
        }
      }
    });
  }
  for (int i = 0; i < 2; ++i) {
    if (!step({"-n", ends_.netns[i], "addr", "add", ends_.address[i] + "/30", "dev", ends_.interface[i]}) ||
        !step({"-n", ends_.netns[i], "link", "set", "lo", "up"}) ||
        !step({"-n", ends_.netns[i], "link", "set", ends_.interface[i], "up"})) {
      return fail();
    }
  }
  // A veth end reports LOWER_UP once both ends are up; frames sent before are dropped.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (int i = 0; i < 2; ++i) {
    for (;;) {
      if (!step({"-n", ends_.netns[i], "-o", "link", "show", "dev", ends_.interface[i]})) return fail();
      if (output.find("LOWER_UP") != std::string::npos) {
        const auto at = output.find("link/ether ");
        if (at != std::string::npos) ends_.mac[i] = output.substr(at + 11, 17);
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        error_ = "veth end " + ends_.interface[i] + " did not come up within 5 s: " + output;
        return fail();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return SetupFailure::None;
}

void VethTestbed::remove() noexcept {
  if (slot_ < 0) return;
  Slot& slot = g_slots[slot_];
  remove_slot(slot, 5'000);
  slot_ = -1;
  slot.state.store(Slot::kFree);
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

std::string run_in_netns(const std::string& netns, const std::function<void()>& fn) {
  std::string why;
  std::thread([&] {
    why = enter_netns(netns);
    if (why.empty()) fn();
  }).join();
  return why;
}

void remove_all_testbeds() noexcept {
  for (Slot& s : g_slots) remove_slot(s, 2'000);
}

void install_cleanup_handlers(const char* program) {
  std::snprintf(g_program, sizeof g_program, "%s", program);
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_interrupt;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sa.sa_mask, sig);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  struct sigaction fatal {};
  sigemptyset(&fatal.sa_mask);
  fatal.sa_handler = on_fatal;
  fatal.sa_flags = SA_RESETHAND;
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::sigaction(sig, &fatal, nullptr);
}

}  // namespace omega::netns
