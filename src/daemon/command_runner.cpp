// posix_spawn with a pipe and a deadline.
#include "daemon/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace kplug {

namespace {

using Clock = std::chrono::steady_clock;

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(command_search_path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string path = dir + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  CommandResult r;
  auto start = Clock::now();
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
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::string path_env = std::string("PATH=") + command_search_path;
  char* envp[] = {path_env.data(), nullptr};
  pid_t pid = 0;
  int err = posix_spawn(&pid, program.c_str(), &actions, nullptr, args.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (err != 0) {
    close(pipe_fds[0]);
    r.error = "cannot start " + program + ": " + std::strerror(err);
    return r;
  }
  r.started = true;

  std::string pending;
  auto deadline = start + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = read(pipe_fds[0], buf, sizeof buf);
    if (got <= 0) break;  // EOF: the program closed its output
    pending.append(buf, static_cast<std::size_t>(got));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      if (r.output.size() < 100) r.output.push_back(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty() && r.output.size() < 100) r.output.push_back(pending);
  close(pipe_fds[0]);
  int status = 0;
  // After EOF the program may still be running: give it until the deadline, then kill it.
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    usleep(5000);
  }
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  r.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return r;
}

}  // namespace kplug
