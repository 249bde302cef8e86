#include "mtls/officer_assertion_source.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include <cstdlib>
#include <ctime>
#include <fstream>
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

// Runs `/bin/sh -c command` in its own process group, collecting stdout and
// stderr, killing the group at the deadline.
absl::StatusOr<Output> RunCommand(const std::string& command, const std::map<std::string, std::string>& extra_env,
                                  std::chrono::milliseconds timeout) {
  std::vector<std::string> env = CommandEnvironment(extra_env);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "sh", dash_c = "-c", text = command;
  char* argv[] = {sh.data(), dash_c.data(), text.data(), nullptr};
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0) return absl::InternalError("pipe failed");
  if (pipe(err_pipe) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return absl::InternalError("pipe failed");
  }
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return absl::InternalError("fork failed");
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // Also here: whichever runs first, the group exists before a kill.
  close(out_pipe[1]);
  close(err_pipe[1]);
  Output result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  constexpr size_t kMaxOutput = 64 * 1024;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      std::string& into = i == 0 ? result.out : result.err;
      if (n > 0 && into.size() < kMaxOutput) into.append(buf, static_cast<size_t>(n));
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (result.timed_out) {
    kill(-pid, SIGKILL);  // The shell and whatever it started.
    kill(pid, SIGKILL);
  }
  waitpid(pid, &result.status, 0);
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

namespace {

class AssertionPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit AssertionPlugin(std::shared_ptr<OfficerAssertionSource> source) : source_(std::move(source)) {}
  bool IsBlocking() const override { return true; }  // A command may take a moment.
  const char* GetType() const override { return "portcullis-officer-assertion"; }
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* metadata) override {
    absl::StatusOr<std::string> token = source_->Get();
    if (!token.ok()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          absl::StrCat("officer assertion: ", token.status().message()));
    }
    metadata->emplace("authorization", absl::StrCat("Bearer ", *token));
    return grpc::Status::OK;
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
