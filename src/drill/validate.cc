#include "drill/validate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lb::drill {

namespace {

double Seconds(TimeNs a, TimeNs b) { return static_cast<double>(b - a) / 1e9; }

[[noreturn]] void ExecChild(const std::string& command, const std::string& cwd,
                            const std::map<std::string, std::string>& env, int out_fd) {
  setpgid(0, 0);  // its own process group, so a timeout kills the whole pipeline
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(out_fd, STDERR_FILENO);
  if (::chdir(cwd.c_str()) != 0) {
    dprintf(STDERR_FILENO, "cannot enter %s: %s\n", cwd.c_str(), strerror(errno));
    _exit(126);
  }
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
  _exit(127);
}

// Reads the child's output until EOF or the deadline; returns false on timeout.
bool Collect(int fd, std::string& out, TimeNs deadline, const Clock& clock) {
  char buf[4096];
  for (;;) {
    const TimeNs now = clock.Now();
    if (deadline > 0 && now >= deadline) return false;
    const int wait_ms = deadline > 0 ? static_cast<int>(std::min<TimeNs>((deadline - now) / 1000000 + 1, 1000)) : 1000;
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    if (out.size() < kMaxOutput) out.append(buf, std::min<size_t>(n, kMaxOutput - out.size()));
  }
}

Result<CommandResult> RunOne(const std::string& command, const std::string& cwd,
                             const std::map<std::string, std::string>& env, int64_t timeout_ns,
                             const Clock& clock) {
  CommandResult r;
  r.command = command;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe", errno);
  const TimeNs start = clock.Now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return ErrnoStatus("fork", errno);
  }
  if (pid == 0) ExecChild(command, cwd, env, fds[1]);
  ::close(fds[1]);
  const bool finished = Collect(fds[0], r.output, timeout_ns > 0 ? start + timeout_ns : 0, clock);
  if (!finished) {
    ::kill(-pid, SIGKILL);
    r.timed_out = true;
  }
  ::close(fds[0]);
  int wst = 0;
  while (::waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = !r.timed_out && WIFEXITED(wst) ? WEXITSTATUS(wst) : -1;
  r.seconds = Seconds(start, clock.Now());
  return r;
}

}  // namespace

bool ValidationResult::ok() const {
  for (const auto& c : commands)
    if (!c.ok()) return false;
  return true;
}

std::string ValidationResult::FailureReason() const {
  for (const auto& c : commands) {
    if (c.ok()) continue;
    std::string first = c.output.substr(0, c.output.find('\n'));
    std::string why = c.timed_out ? "timed out" : c.exit_code < 0 ? "killed" : "exit " + std::to_string(c.exit_code);
    return "validation '" + c.command + "' failed (" + why + ")" + (first.empty() ? "" : ": " + first);
  }
  return "";
}

Result<ValidationResult> RunValidation(const std::vector<std::string>& commands,
                                       const std::string& cwd,
                                       const std::map<std::string, std::string>& env,
                                       int64_t timeout_ns, const Clock& clock) {
  ValidationResult v;
  const TimeNs start = clock.Now();
  for (const auto& cmd : commands) {
    LB_ASSIGN_OR_RETURN_CTX(CommandResult r, RunOne(cmd, cwd, env, timeout_ns, clock),
                            "validation '" + cmd + "'");
    const bool ok = r.ok();
    v.commands.push_back(std::move(r));
    if (!ok) break;
  }
  v.seconds = Seconds(start, clock.Now());
  return v;
}

}  // namespace lb::drill
