#include "bench/audit_bench_common.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/clock.h"

namespace portcullis::audit_bench {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

void Die(const std::string& message) {
  std::fprintf(stderr, "portcullis_audit_bench: %s\n", message.c_str());
  std::exit(2);
}

// ---------------------------------------------------------------- config

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

double EnvDouble(const char* name, double fallback) {
  double v;
  const std::string s = Env(name, "");
  if (s.empty()) return fallback;
  if (!absl::SimpleAtod(s, &v) || v < 0) Die(absl::StrCat(name, "=", s, " is not a number"));
  return v;
}

std::vector<uint64_t> EnvList(const char* name, const std::string& fallback) {
  std::vector<uint64_t> out;
  for (absl::string_view part : absl::StrSplit(Env(name, fallback), ',', absl::SkipEmpty())) {
    uint64_t v;
    if (!absl::SimpleAtoi(part, &v) || v == 0) Die(absl::StrCat(name, ": '", part, "' is not a positive integer"));
    out.push_back(v);
  }
  return out;
}

Config& Cfg() {
  static Config c;
  return c;
}

// -------------------------------------------------------------- fixtures

void GenerateKeys(const std::string& key_path, const std::string& pub_path) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) Die("Ed25519 key generation failed");
  int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE* f = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (f == nullptr || PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Die("cannot write " + key_path);
  }
  std::fclose(f);
  f = std::fopen(pub_path.c_str(), "w");
  if (f == nullptr || PEM_write_PUBKEY(f, key) != 1) Die("cannot write " + pub_path);
  std::fclose(f);
  EVP_PKEY_free(key);
}

ScratchDir::ScratchDir(const std::string& name) {
  static std::atomic<int> counter{0};
  path_ = absl::StrCat(Cfg().dir, "/", name, "-", counter++);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

const AuditRecord& TemplateRecord() {
  static const AuditRecord r = [] {
    AuditRecord t;
    t.action = "submit";
    t.actor_party = "uk/border-force";
    t.actor_officer = "BF-LO-4471";
    t.case_reference = "BF-2026-004512";
    t.sender = "uk/border-force";
    t.recipients = {"eu/europol"};
    t.classification = "OFFICIAL_SENSITIVE";
    t.handling = "uk=2/B/P";
    t.justification =
        "DPA 2018 s.35; TCA Art. LAW.EUROPOL.51 | Identify and disrupt the facilitation network that organised the "
        "crossing; the boat and engine supply chain runs through the EU and cannot be traced from UK holdings alone.";
    t.outcome = "accepted";
    t.payload_sha256 = "a3f211aa1c6a35150ee652653abd800df9b9f4d88db6b877a0ce08b1359004bd";
    return t;
  }();
  return r;
}

AuditRecord MakeRecord(uint64_t client, uint64_t seq) {
  AuditRecord r = TemplateRecord();
  r.time_micros = NowMicros();
  r.message_id = absl::StrCat("BF-REF-2026-", client, "-", seq);
  r.peer = absl::StrCat("ipv4:10.20.", client / 250 % 250, ".", client % 250, ":", 40000 + seq % 20000);
  return r;
}

FileAuditLogOptions LogOptions(const std::string& dir, uint64_t checkpoint_every) {
  FileAuditLogOptions o;
  o.path = dir + "/audit.log";
  if (checkpoint_every > 0) o.signing_key = Cfg().key_path;
  o.checkpoint_every_records = checkpoint_every > 0 ? checkpoint_every : 1000;
  o.checkpoint_interval = std::chrono::milliseconds(10000);
  return o;
}

uint64_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return static_cast<uint64_t>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
}

double Percentile(std::vector<uint32_t>* v, double p) {
  if (v->empty()) return 0;
  size_t k = std::min(v->size() - 1, static_cast<size_t>(p * static_cast<double>(v->size())));
  std::nth_element(v->begin(), v->begin() + static_cast<ptrdiff_t>(k), v->end());
  return (*v)[k];
}

// ------------------------------------------------------------------ main

std::string FsType(const std::string& path) {
  struct statfs s;
  if (::statfs(path.c_str(), &s) != 0) return "?";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    default: return absl::StrCat("0x", absl::Hex(static_cast<unsigned long>(s.f_type)));
  }
}

}  // namespace portcullis::audit_bench
