// Refused handshakes cannot flood the audit log (docs/architecture.md,
// "Refused handshakes"): at most one record per (direction, reason, subject)
// and interval, the first at once and the rest as a count; the tracking is
// bounded, so a flood of distinct subjects is counted in one overflow record.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <cctype>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "gateway/config/config_loader.h"
#include "gateway/service/handshake_audit.h"
#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {

using Clock = HandshakeAudit::Clock;
using std::chrono::seconds;

// ---------------------------------------------------------------- the rule, with a clock the test sets

mtls::HandshakeRefusal Refusal(const std::string& code, const std::string& subject) {
  mtls::HandshakeRefusal r;
  r.code = code;
  r.message = "refused for the test";
  r.subject = subject;
  r.uri_sans = {"spiffe://exchange.gov.uk/uk/nca"};
  return r;
}

struct Recorder {
  std::vector<AuditRecord> records;
  std::function<void(AuditRecord)> Sink() {
    return [this](AuditRecord r) { records.push_back(std::move(r)); };
  }
};

class HandshakeAuditRule : public ::testing::Test {
 protected:
  HandshakeAuditRule() {
    Party nca;
    nca.id = "uk/nca";
    nca.identity = "spiffe://exchange.gov.uk/uk/nca";
    config_.parties.push_back(nca);
  }
  std::unique_ptr<HandshakeAudit> Make(size_t max_tracked = 100) {
    HandshakeAudit::Options o;
    o.interval = seconds(60);
    o.max_tracked = max_tracked;
    return std::make_unique<HandshakeAudit>(&config_, o, rec_.Sink());
  }
  Config config_;
  Recorder rec_;
  const Clock::time_point t0_ = Clock::now();
};

TEST_F(HandshakeAuditRule, FirstIsRecordedAtOnceTheRestCountedAndWrittenWhenTheIntervalEnds) {
  auto audit = Make();
  audit->Refused(Refusal("CERT_REVOKED", "CN=a"), true, t0_);
  ASSERT_EQ(rec_.records.size(), 1u);
  EXPECT_EQ(rec_.records[0].action, "handshake");
  EXPECT_EQ(rec_.records[0].outcome, "refused");
  EXPECT_EQ(rec_.records[0].reason, "CERT_REVOKED");
  EXPECT_EQ(rec_.records[0].count, 1u);
  EXPECT_EQ(rec_.records[0].actor_party, "") << "a refused certificate proves no identity";
  EXPECT_NE(rec_.records[0].detail.find("subject=CN=a"), std::string::npos);
  EXPECT_NE(rec_.records[0].detail.find("claimed_uri_sans=spiffe://exchange.gov.uk/uk/nca"), std::string::npos);
  for (int i = 1; i < 50; ++i) audit->Refused(Refusal("CERT_REVOKED", "CN=a"), true, t0_ + seconds(1));
  EXPECT_EQ(rec_.records.size(), 1u) << "repeats within the interval are only counted";
  EXPECT_EQ(audit->Flush(t0_ + seconds(59)), t0_ + seconds(60));
  EXPECT_EQ(rec_.records.size(), 1u);
  audit->Flush(t0_ + seconds(60));
  ASSERT_EQ(rec_.records.size(), 2u);
  EXPECT_EQ(rec_.records[1].count, 49u);
  EXPECT_EQ(rec_.records[1].reason, "CERT_REVOKED");
  EXPECT_NE(rec_.records[1].detail.find("49 more refused handshake(s) within 60 s"), std::string::npos)
      << rec_.records[1].detail;

  // Still refused in the next interval: counted again, one record at its end (none at once).
  for (int i = 0; i < 7; ++i) audit->Refused(Refusal("CERT_REVOKED", "CN=a"), true, t0_ + seconds(70));
  EXPECT_EQ(rec_.records.size(), 2u);
  audit->Flush(t0_ + seconds(120));
  ASSERT_EQ(rec_.records.size(), 3u);
  EXPECT_EQ(rec_.records[2].count, 7u);
  // A quiet interval: nothing written, the subject forgotten; its next refusal is recorded at once.
  audit->Flush(t0_ + seconds(180));
  EXPECT_EQ(rec_.records.size(), 3u);
  EXPECT_EQ(audit->tracked(), 0u);
  EXPECT_EQ(audit->Flush(t0_ + seconds(181)), Clock::time_point::max());
  audit->Refused(Refusal("CERT_REVOKED", "CN=a"), true, t0_ + seconds(200));
  EXPECT_EQ(rec_.records.size(), 4u);
  EXPECT_EQ(rec_.records[3].count, 1u);
}

TEST_F(HandshakeAuditRule, ReasonSubjectAndDirectionAreSeparateGroups) {
  auto audit = Make();
  audit->Refused(Refusal("CERT_REVOKED", "CN=a"), true, t0_);
  audit->Refused(Refusal("CERT_EXPIRED", "CN=a"), true, t0_);
  audit->Refused(Refusal("CERT_REVOKED", "CN=b"), true, t0_);
  mtls::HandshakeRefusal out = Refusal("CERT_REVOKED", "CN=a");
  out.target = "127.0.0.1:9";
  audit->Refused(out, false, t0_);
  ASSERT_EQ(rec_.records.size(), 4u);
  EXPECT_EQ(rec_.records[3].detail.rfind("outbound to 127.0.0.1:9: ", 0), 0u) << rec_.records[3].detail;
}

TEST_F(HandshakeAuditRule, TrackingIsBoundedAndTheOverflowIsCountedInOneRecord) {
  auto audit = Make(/*max_tracked=*/10);
  for (int i = 0; i < 1000; ++i) audit->Refused(Refusal("CERT_UNTRUSTED", "CN=s" + std::to_string(i)), true, t0_);
  EXPECT_EQ(rec_.records.size(), 10u) << "the first 10 subjects are recorded at once";
  EXPECT_EQ(audit->tracked(), 11u) << "10 subjects and one overflow group, not 1000";
  audit->Flush(t0_ + seconds(60));
  ASSERT_EQ(rec_.records.size(), 11u);
  const AuditRecord& other = rec_.records.back();
  EXPECT_EQ(other.count, 990u);
  EXPECT_EQ(other.reason, "CERT_UNTRUSTED");
  EXPECT_EQ(other.actor_party, "");
  EXPECT_NE(other.detail.find("990 refused handshake(s) of subjects beyond the 10"), std::string::npos) << other.detail;
  EXPECT_NE(other.detail.find("subject=CN=s999"), std::string::npos) << other.detail;
}

TEST_F(HandshakeAuditRule, ShutdownWritesEveryCountNotYetWritten) {
  auto audit = Make(/*max_tracked=*/1);
  for (int i = 0; i < 5; ++i) audit->Refused(Refusal("CERT_REVOKED", "CN=a"), true, t0_);
  for (int i = 0; i < 3; ++i) audit->Refused(Refusal("CERT_REVOKED", "CN=b" + std::to_string(i)), true, t0_);
  ASSERT_EQ(rec_.records.size(), 1u);
  audit->FlushAll();
  ASSERT_EQ(rec_.records.size(), 3u);
  uint64_t total = 0;
  for (const AuditRecord& r : rec_.records) total += r.count;
  EXPECT_EQ(total, 8u);
  EXPECT_EQ(audit->tracked(), 0u);
}

// ---------------------------------------------------------------- a live gateway under a handshake flood

// One TLS handshake with the gateway presenting `cert` (chain) and `key`;
// returns once the gateway has given its verdict (alert or data) or closed.
void OneHandshake(int port, X509* cert, STACK_OF(X509)* chain, EVP_PKEY* key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(ctx, nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  ASSERT_EQ(SSL_CTX_use_certificate(ctx, cert), 1);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, i));
  }
  ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) == 1) {
    // TLS 1.3: the server checks the client certificate after our Finished
    // and answers with an alert; read until it does (or closes).
    char buf[256];
    while (SSL_read(ssl, buf, sizeof buf) > 0) {
    }
  }
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
}

struct Pem {
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  ~Pem() {
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

void LoadPki(const std::string& stem, Pem* out) {
  ClientCert c = PkiCert(stem);
  FILE* f = std::fopen(c.cert.c_str(), "r");
  ASSERT_NE(f, nullptr);
  out->cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  out->chain = sk_X509_new_null();
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) sk_X509_push(out->chain, x);
  std::fclose(f);
  f = std::fopen(c.key.c_str(), "r");
  ASSERT_NE(f, nullptr);
  out->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_TRUE(out->cert && out->key);
}

// A self-signed certificate (trusted by nobody) with subject CN=`cn`.
X509* SelfSigned(EVP_PKEY* key, const std::string& cn, long serial) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  return x;
}

struct HandshakeRecords {
  int records = 0;
  uint64_t events = 0;
};

// The handshake records whose line holds `needle`, and how many refusals
// they stand for: a record's count (the v2 "count" field when the log writes
// it, else the number its detail states; 1 for a first refusal).
HandshakeRecords Tally(const std::vector<std::string>& lines, const std::string& needle) {
  // The number that ends right before `at` in `line`, or 0.
  auto number_before = [](const std::string& line, size_t at) -> uint64_t {
    size_t begin = at;
    while (begin > 0 && std::isdigit(static_cast<unsigned char>(line[begin - 1]))) --begin;
    return begin == at ? 0 : std::stoull(line.substr(begin, at - begin));
  };
  HandshakeRecords t;
  for (const std::string& line : lines) {
    if (line.find("\"action\":\"handshake\"") == std::string::npos || line.find(needle) == std::string::npos) continue;
    ++t.records;
    uint64_t count = 0;
    if (size_t f = line.find("\"count\":"); f != std::string::npos) {
      size_t end = f + 8;
      while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) ++end;
      count = number_before(line, end);
    }
    if (count == 0) {
      for (const char* words : {" more refused handshake(s)", " refused handshake(s) of subjects"}) {
        if (size_t w = line.find(words); w != std::string::npos && count == 0) count = number_before(line, w);
      }
    }
    t.events += count == 0 ? 1 : count;
  }
  return t;
}

TEST(HandshakeFlood, TwoHundredRefusalsOfOneCertificateMakeTwoRecordsWithTheRightCount) {
  HarnessOptions o;
  o.handshake_audit_interval_seconds = 3600;  // The whole flood falls in one interval, however slow the machine.
  GatewayHarness h("handshake-flood", o);
  Pem revoked;
  LoadPki("fixtures/revoked", &revoked);
  const size_t lines_before = h.AuditLines().size();
  for (int i = 0; i < 200; ++i) OneHandshake(h.port(), revoked.cert, revoked.chain, revoked.key);
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"handshake\"", "\"reason\":\"CERT_REVOKED\""}));
  h.Stop();  // Shutdown writes the count of the interval still open.
  std::vector<std::string> lines = h.AuditLines();
  HandshakeRecords t = Tally(lines, "\"reason\":\"CERT_REVOKED\"");
  EXPECT_EQ(t.records, 2) << "one at once, one with the count";
  EXPECT_EQ(t.events, 200u);
  EXPECT_LE(lines.size() - lines_before, 4u) << "the flood wrote more than its handshake records";
  for (const std::string& line : lines) {
    if (line.find("\"action\":\"handshake\"") == std::string::npos) continue;
    EXPECT_NE(line.find("subject=CN=fixture-revoked"), std::string::npos) << line;
    EXPECT_NE(line.find("claimed_uri_sans=spiffe://exchange.gov.uk/uk/nca"), std::string::npos) << line;
    EXPECT_NE(line.find("\"actor_party\":\"\""), std::string::npos) << "an unverified certificate names no party: " << line;
  }
}

TEST(HandshakeFlood, AFloodOfDistinctSubjectsIsBoundedByTheTrackingLimit) {
  HarnessOptions o;
  o.handshake_audit_max_subjects = 5;
  o.handshake_audit_interval_seconds = 3600;
  GatewayHarness h("handshake-flood-subjects", o);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  for (int i = 0; i < 40; ++i) {
    X509* cert = SelfSigned(key, "flood-" + std::to_string(i), i + 1);
    OneHandshake(h.port(), cert, nullptr, key);
    X509_free(cert);
  }
  EVP_PKEY_free(key);
  ASSERT_TRUE(h.WaitForAudit({"\"action\":\"handshake\"", "subject=CN=flood-4;"}));
  h.Stop();
  HandshakeRecords t = Tally(h.AuditLines(), "\"reason\":\"CERT_UNTRUSTED\"");
  EXPECT_EQ(t.records, 6) << "5 subjects followed one by one, one record for the other 35";
  EXPECT_EQ(t.events, 40u);
}

TEST(HandshakeAuditConfig, IntervalAndLimitAreConfigurable) {
  HarnessOptions o;
  o.handshake_audit_interval_seconds = 7;
  o.handshake_audit_max_subjects = 3;
  const std::string dir = MakeTempDir("handshake-audit-config");
  auto config = LoadConfigFile(WriteTestConfig(dir, o));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ((*config)->tls.handshake_audit_interval_seconds, 7);
  EXPECT_EQ((*config)->tls.handshake_audit_max_subjects, 3);
  EXPECT_EQ(TlsConfig().handshake_audit_interval_seconds, 60);
  EXPECT_EQ(TlsConfig().handshake_audit_max_subjects, 256);
}

TEST(HandshakeAuditConfig, OutOfRangeValuesAreRefusedWithTheirKeys) {
  HarnessOptions o;
  o.handshake_audit_interval_seconds = 86401;
  o.handshake_audit_max_subjects = 100001;
  const std::string dir = MakeTempDir("handshake-audit-config-range");
  auto config = LoadConfigFile(WriteTestConfig(dir, o));
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_NE(message.find("tls.handshake_audit_interval_seconds"), std::string::npos) << message;
  EXPECT_NE(message.find("tls.handshake_audit_max_subjects"), std::string::npos) << message;
}

}  // namespace
}  // namespace portcullis::testing
