// posix_spawn into a new session, a pipe, a deadline, and the group killed at the end.
#include "daemon/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>

namespace kplug {

namespace {

using SteadyClock = std::chrono::steady_clock;

// After the program exits, how long its output may still take to arrive.
constexpr std::chrono::milliseconds drain_after_exit{200};

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(command_search_path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string path = dir + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

class Output {
 public:
  explicit Output(std::vector<std::string>& lines) : lines_(lines) {}
  void add(const char* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        flush();
      } else if (pending_.size() < max_output_line) {
        pending_ += data[i];
      }
    }
  }
  void flush() {
    if (lines_.size() < max_output_lines) lines_.push_back(pending_);
    pending_.clear();
  }
  void finish() {
    if (!pending_.empty()) flush();
  }

 private:
  std::vector<std::string>& lines_;
  std::string pending_;
};

// Has PID exited? Leaves it a zombie, so its pid (and so its group id) cannot be reused
// before the group is killed.
bool has_exited(pid_t pid) {
  siginfo_t info{};
  return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

}  // namespace

void RunningGroups::finished(pid_t pgid) {
  std::lock_guard lock(mutex_);
  groups_.erase(pgid);
}

std::size_t RunningGroups::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  for (pid_t pgid : groups_) kill(-pgid, SIGKILL);
  return groups_.size();
}

namespace {

// stdin from /dev/null, stdout and stderr into OUT_FD, nothing else; a session of its own.
void prepare_spawn(posix_spawn_file_actions_t& actions, posix_spawnattr_t& attr, int out_fd) {
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  // Nothing else: even a descriptor some library opened without O_CLOEXEC stays behind.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_init(&attr);
  // A session of its own (so a process group to kill whole), every signal unblocked and
  // at its default: kplugd's threads block signals, and SIGPIPE is ignored in kplugd.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

// Reads the program's output from FD into OUT until it has exited and its output is all
// read, or DEADLINE passes; true when the deadline came first with it still running.
bool read_until_done(int fd, pid_t pid, SteadyClock::time_point deadline, Output& out) {
  bool eof = false;
  std::optional<SteadyClock::time_point> exited_at;
  for (;;) {
    auto now = SteadyClock::now();
    if (now >= deadline) return !has_exited(pid);
    if (!exited_at && has_exited(pid)) exited_at = now;
    // The program is gone and its output is all read (or a process that escaped its
    // group still holds the pipe: do not wait for that one).
    if (exited_at && (eof || now - *exited_at >= drain_after_exit)) return false;
    if (eof) {
      usleep(5000);
      continue;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd pfd{fd, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 50)));
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      eof = true;
      continue;
    }
    out.add(buf, static_cast<std::size_t>(got));
  }
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
                          RunningGroups* groups) {
  CommandResult r;
  auto start = SteadyClock::now();
  if (argv.empty()) {
    r.error = "empty command";
    return r;
  }
  std::string program = find_program(argv[0]);
  if (program.empty()) {
    r.error = "'" + argv[0] + "' not found in " + command_search_path;
    return r;
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) {
    r.error = std::string("cannot create a pipe: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  prepare_spawn(actions, attr, pipe_fds[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::string path_env = std::string("PATH=") + command_search_path;
  char* envp[] = {path_env.data(), nullptr};
  pid_t pid = 0;
  int err = 0;
  auto spawn = [&]() -> pid_t {
    err = posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(), envp);
    return err == 0 ? pid : 0;
  };
  bool allowed = groups ? groups->start(spawn) : (spawn(), true);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipe_fds[1]);
  if (!allowed || err != 0) {
    close(pipe_fds[0]);
    r.stopped = !allowed;
    r.error = !allowed ? "not started: kplugd is stopping" : "cannot start " + program + ": " + std::strerror(err);
    return r;
  }
  r.started = true;

  Output out(r.output);
  r.timed_out = read_until_done(pipe_fds[0], pid, start + limit, out);
  // The whole group: the program if it still runs, and whatever it left behind.
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (groups) groups->finished(pid);
  out.finish();
  close(pipe_fds[0]);
  if (groups && groups->stopping() && !r.timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
    r.stopped = true;
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  return r;
}

}  // namespace kplug
