#include "mtls/officer_assertion_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace portcullis::mtls {
namespace {

// Tokens are one line of base64url and dots: anything else would let a
// careless source put a newline or other bytes into a header.
absl::StatusOr<std::string> CleanToken(std::string text, const std::string& from) {
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return absl::UnauthenticatedError(absl::StrCat(from, " gave no officer assertion"));
  for (char c : token) {
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) return absl::UnauthenticatedError(absl::StrCat(from, " gave text that is not a compact JWS"));
  }
  return token;
}

struct Output {
  int status = -1;  // waitpid status; -1 if not collected.
  bool timed_out = false;
  std::string out, err;
};

// The command's environment: ours, with each of `extra` added or replaced.
// Built before fork (the child only calls async-signal-safe functions).
std::vector<std::string> CommandEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (extra.count(entry.substr(0, entry.find('='))) == 0) env.push_back(std::move(entry));
  }
  for (const auto& [name, value] : extra) env.push_back(absl::StrCat(name, "=", value));
  return env;
}

// Whether the shell has exited, without reaping it: while it is a zombie its
// pid (the group's id) cannot be reused, so killing the group stays safe.
// ECHILD (someone else reaped it, e.g. SIGCHLD ignored) counts as exited.
bool HasExited(pid_t pid) {
  siginfo_t info = {};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
  return info.si_pid == pid;
}

// In the child, between fork and exec (async-signal-safe calls only): `from`
// becomes descriptor `to` without close-on-exec.
void MoveTo(int from, int to) {
  if (from == to) {
    fcntl(to, F_SETFD, 0);
  } else {
    dup2(from, to);
  }
}

// Runs `/bin/sh -c command` in its own process group, stdin /dev/null,
// collecting stdout and stderr; no other descriptor of ours reaches it.
// Ends when the shell has exited and what it wrote is read (a background
// process it left holding the pipes is not waited for), or at the deadline
// (also when the shell closed its pipes but lives on). Then the whole group
// is killed (what the shell left running, or the shell itself at the
// deadline) and the shell reaped.
absl::StatusOr<Output> RunCommand(const std::string& command, const std::map<std::string, std::string>& extra_env,
                                  std::chrono::milliseconds timeout) {
  std::vector<std::string> env = CommandEnvironment(extra_env);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c", text = command;
  char* argv[] = {sh.data(), dash_c.data(), text.data(), nullptr};
  const long open_max = sysconf(_SC_OPEN_MAX);  // For the child's fallback; sysconf is not async-signal-safe.
  const int max_fd = open_max > 0 && open_max < (1 << 20) ? static_cast<int>(open_max) : (1 << 20);
  // Close-on-exec from the start: a command another thread runs meanwhile never holds our pipe ends.
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    for (int fd : {null_fd, out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      if (fd >= 0) close(fd);
    }
    return absl::InternalError("cannot open /dev/null or a pipe");
  }
  sigset_t no_signals;  // The child unblocks every signal: a daemon's blocked SIGTERM must not reach the hook.
  sigemptyset(&no_signals);
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {null_fd, out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    setpgid(0, 0);
    // Default dispositions and an empty mask, whatever the client set
    // (sigaction and sigprocmask are async-signal-safe).
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
    }
    sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    MoveTo(null_fd, 0);
    MoveTo(out_pipe[1], 1);
    MoveTo(err_pipe[1], 2);
    // Every other descriptor (the adapter's files, sockets, other commands' pipes) stays ours.
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
    {
      for (int fd = 3; fd < max_fd; ++fd) close(fd);
    }
    execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // Also here: whichever runs first, the group exists before a kill.
  close(null_fd);
  close(out_pipe[1]);
  close(err_pipe[1]);
  int exit_fd = -1;  // Readable once the shell has exited; without it, poll in short steps.
#ifdef SYS_pidfd_open
  exit_fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));  // Close-on-exec by definition.
#endif
  Output result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int pipes[2] = {out_pipe[0], err_pipe[0]};
  constexpr size_t kMaxOutput = 64 * 1024;
  bool exited = false;
  while (true) {
    if (!exited) exited = HasExited(pid);
    if (exited && pipes[0] < 0 && pipes[1] < 0) break;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = !exited;
      break;
    }
    pollfd fds[3];
    int which[3];  // Index into pipes, or -1 for exit_fd.
    nfds_t n = 0;
    for (int i = 0; i < 2; ++i) {
      if (pipes[i] >= 0) {
        fds[n] = {pipes[i], POLLIN, 0};
        which[n++] = i;
      }
    }
    if (!exited && exit_fd >= 0) {
      fds[n] = {exit_fd, POLLIN, 0};
      which[n++] = -1;
    }
    // Once the shell has exited, everything it wrote is already in the pipes: read it, do not wait for more.
    int wait_ms = exited ? 0 : static_cast<int>(exit_fd >= 0 ? left.count() : std::min<int64_t>(left.count(), 10));
    int ready = poll(fds, n, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      result.timed_out = !exited;
      break;
    }
    if (ready == 0 && exited) break;  // Drained; a background process may still hold the pipes.
    for (nfds_t k = 0; k < n; ++k) {
      if (which[k] < 0 || fds[k].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[k].fd, buf, sizeof buf);
      std::string& into = which[k] == 0 ? result.out : result.err;
      if (got > 0 && into.size() < kMaxOutput) into.append(buf, static_cast<size_t>(got));
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        close(pipes[which[k]]);
        pipes[which[k]] = -1;
      }
    }
  }
  for (int fd : pipes) {
    if (fd >= 0) close(fd);
  }
  if (exit_fd >= 0) close(exit_fd);
  kill(-pid, SIGKILL);  // What the shell left running, and the shell itself if it outlived the deadline.
  if (!exited) kill(pid, SIGKILL);  // Not reaped yet, so still ours: in case setpgid failed.
  while (waitpid(pid, &result.status, 0) < 0 && errno == EINTR) {
  }
  return result;
}

// The payload of a compact JWS, decoded; false if it is not one.
bool Payload(const std::string& token, std::string* payload) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  return parts.size() == 3 && absl::WebSafeBase64Unescape(parts[1], payload);
}

}  // namespace

int64_t UnverifiedExpiry(const std::string& token) {
  std::string payload;
  if (!Payload(token, &payload)) return 0;
  // A flat search is enough for a hint: the gateway verifies the real claim.
  size_t at = payload.find("\"exp\":");
  if (at == std::string::npos) return 0;
  size_t start = at + 6, end = payload.find_first_of(",}", start);
  int64_t exp = 0;
  double d = 0;
  std::string text(absl::StripAsciiWhitespace(payload.substr(start, end - start)));
  if (absl::SimpleAtoi(text, &exp)) return exp;
  if (absl::SimpleAtod(text, &d)) return static_cast<int64_t>(d);
  return 0;
}

bool UnverifiedHasJti(const std::string& token) {
  std::string payload;
  if (!Payload(token, &payload)) return true;
  // A flat search errs only towards "has one" (then the token is not reused).
  for (size_t at = payload.find("\"jti\""); at != std::string::npos; at = payload.find("\"jti\"", at + 1)) {
    size_t next = payload.find_first_not_of(" \t\r\n", at + 5);
    if (next != std::string::npos && payload[next] == ':') return true;
  }
  return payload.find("\\u") != std::string::npos;  // An escaped key could spell jti.
}

std::shared_ptr<OfficerAssertionSource> OfficerAssertionSource::FromOptions(const AssertionSourceOptions& options) {
  if (options.file.empty() && options.env_var.empty() && options.command.empty()) return nullptr;
  return std::shared_ptr<OfficerAssertionSource>(new OfficerAssertionSource(options));
}

std::shared_ptr<PerOfficerAssertions> PerOfficerAssertions::FromOptions(const AssertionSourceOptions& base) {
  if (base.file.empty() && base.env_var.empty() && base.command.empty()) return nullptr;
  return std::shared_ptr<PerOfficerAssertions>(new PerOfficerAssertions(base));
}

std::shared_ptr<OfficerAssertionSource> PerOfficerAssertions::SourceFor(const std::string& officer) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_officer_.find(officer);
  if (it != by_officer_.end()) return it->second;
  constexpr size_t kMaxOfficers = 4096;  // Officer ids come from files: bound what is kept.
  if (by_officer_.size() >= kMaxOfficers) by_officer_.clear();
  AssertionSourceOptions options = base_;
  options.command_env["PORTCULLIS_OFFICER"] = officer;
  return by_officer_[officer] = OfficerAssertionSource::FromOptions(options);
}

std::shared_ptr<grpc::CallCredentials> PerOfficerAssertions::CredentialsFor(const std::string& officer) {
  return OfficerAssertionCallCredentials(SourceFor(officer));
}

absl::StatusOr<std::string> OfficerAssertionSource::FromFile() {
  std::ifstream in(options_.file);
  if (!in) return absl::UnauthenticatedError(absl::StrCat("cannot read the assertion file ", options_.file));
  std::stringstream text;
  text << in.rdbuf();
  return CleanToken(text.str(), absl::StrCat("assertion file ", options_.file));
}

absl::StatusOr<std::string> OfficerAssertionSource::FromCommand() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (!cached_.empty() && cached_exp_ - options_.refresh_before_expiry_seconds > now) return cached_;
  absl::StatusOr<Output> run = RunCommand(options_.command, options_.command_env, options_.command_timeout);
  if (!run.ok()) return absl::UnavailableError(absl::StrCat("cannot run the assertion command: ", run.status().message()));
  std::string first_err = std::string(absl::StripAsciiWhitespace(run->err.substr(0, run->err.find('\n'))));
  if (first_err.size() > 300) first_err = absl::StrCat(first_err.substr(0, 300), "...");
  if (run->timed_out) {
    return absl::UnauthenticatedError(absl::StrCat("the assertion command did not finish within ",
                                                   options_.command_timeout.count(), " ms"));
  }
  if (!WIFEXITED(run->status) || WEXITSTATUS(run->status) != 0) {
    std::string how = WIFEXITED(run->status) ? absl::StrCat("exited ", WEXITSTATUS(run->status))
                                             : absl::StrCat("was killed by signal ", WTERMSIG(run->status));
    return absl::UnauthenticatedError(absl::StrCat("the assertion command ", how, first_err.empty() ? "" : ": ",
                                                   first_err));
  }
  absl::StatusOr<std::string> token = CleanToken(run->out, "the assertion command");
  if (!token.ok()) return token.status();
  // A jti token is single use at the gateway: never kept for another call.
  if (UnverifiedHasJti(*token)) return token;
  cached_ = *token;
  cached_exp_ = UnverifiedExpiry(cached_);
  return cached_;
}

absl::StatusOr<std::string> OfficerAssertionSource::Get() {
  if (!options_.file.empty()) return FromFile();
  if (!options_.command.empty()) return FromCommand();
  const char* value = std::getenv(options_.env_var.c_str());
  if (value == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat("environment variable ", options_.env_var, " is not set"));
  }
  return CleanToken(value, absl::StrCat("environment variable ", options_.env_var));
}

grpc::Status AddAssertionMetadata(OfficerAssertionSource& source, std::multimap<grpc::string, grpc::string>* metadata) {
  absl::StatusOr<std::string> token = source.Get();
  if (!token.ok()) {
    // Transient for the caller (docs/tools.md): the source may work on the next try
    // (an identity provider back, a refresher's file rewritten).
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, absl::StrCat("officer assertion: ", token.status().message()));
  }
  metadata->emplace("authorization", absl::StrCat("Bearer ", *token));
  return grpc::Status::OK;
}

namespace {

class AssertionPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit AssertionPlugin(std::shared_ptr<OfficerAssertionSource> source) : source_(std::move(source)) {}
  bool IsBlocking() const override { return true; }  // A command may take a moment.
  const char* GetType() const override { return "portcullis-officer-assertion"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    return AddAssertionMetadata(*source_, metadata);
  }

 private:
  std::shared_ptr<OfficerAssertionSource> source_;
};

}  // namespace

std::shared_ptr<grpc::CallCredentials> OfficerAssertionCallCredentials(
    std::shared_ptr<OfficerAssertionSource> source) {
  return grpc::MetadataCredentialsFromPlugin(std::make_unique<AssertionPlugin>(std::move(source)));
}

}  // namespace portcullis::mtls
