// Transport-level behaviour of the gateway listener: protocol versions,
// client certificates required, health service over mTLS, and CA bundle /
// CRL directory rotation without a restart.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {
namespace fs = std::filesystem;

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  if (p) pclose(p);
  return out;
}

// openssl s_client against the gateway with a party certificate; `extra`
// selects protocol versions. Returns s_client's -brief report.
std::string Handshake(int port, const std::string& extra, bool with_cert = true) {
  ClientCert c = PkiCert("parties/uk-nca");
  std::string cmd = "openssl s_client -brief -connect 127.0.0.1:" + std::to_string(port) + " -alpn h2 -CAfile " +
                    PkiDir() + "/ca/bundle.pem " + extra;
  if (with_cert) cmd += " -cert " + c.cert + " -key " + c.key;
  // Send nothing; give the server time to send its verdict on the client certificate (TLS 1.3 alerts it late).
  return Run("(sleep 1) | " + cmd);
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { harness_ = new GatewayHarness("tls"); }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }
  static GatewayHarness* harness_;
};
GatewayHarness* TlsTest::harness_ = nullptr;

TEST_F(TlsTest, Tls13IsNegotiatedByDefault) {
  std::string out = Handshake(harness_->port(), "");
  EXPECT_NE(out.find("Protocol version: TLSv1.3"), std::string::npos) << out;
  EXPECT_NE(out.find("Verification: OK"), std::string::npos) << out;
}

TEST_F(TlsTest, Tls12IsAcceptedAsTheMinimum) {
  std::string out = Handshake(harness_->port(), "-tls1_2");
  EXPECT_NE(out.find("Protocol version: TLSv1.2"), std::string::npos) << out;
}

TEST_F(TlsTest, Tls11AndTls10AreRefused) {
  // The client is told to allow the old protocol at all (OpenSSL 3 disables it at security level 1).
  // gRPC's server closes the socket without an alert, so the evidence is: no session, and EOF.
  for (const char* v : {"-tls1_1", "-tls1"}) {
    std::string out = Handshake(harness_->port(), std::string(v) + " -cipher DEFAULT@SECLEVEL=0");
    EXPECT_EQ(out.find("CONNECTION ESTABLISHED"), std::string::npos) << v << ": " << out;
    EXPECT_EQ(out.find("Protocol version"), std::string::npos) << v << ": " << out;
    EXPECT_NE(out.find("unexpected eof"), std::string::npos) << v << ": " << out;
  }
}

TEST_F(TlsTest, ConnectionWithoutClientCertificateIsRefused) {
  // Same server, same trust anchors, no client certificate: no call gets through.
  auto stub =
      v1::Exchange::NewStub(grpc::CreateChannel(harness_->address(), grpc::SslCredentials(PartySslOptions(""))));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::TrackRequest req;
  req.set_message_id("no-such-message");
  v1::TrackResponse resp;
  EXPECT_EQ(stub->Track(&ctx, req, &resp).error_code(), grpc::StatusCode::UNAVAILABLE);

  // With a certificate the same call passes the handshake (and finds no such message).
  grpc::ClientContext ok_ctx;
  EXPECT_EQ(harness_->Client("parties/uk-nca")->Track(&ok_ctx, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// The test credentials helper (tests/support/credentials.h): plain gRPC SSL
// options minted from the dev PKI for a party pass the handshake and the call
// is served as that party; a revoked fixture's are refused at the handshake.
TEST_F(TlsTest, PartySslOptionsFromTheDevPkiAuthenticateTheParty) {
  v1::TrackRequest req;
  req.set_message_id("no-such-message");
  v1::TrackResponse resp;
  for (const auto& [stem, want] : std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"parties/uk-nca", grpc::StatusCode::NOT_FOUND}, {"fixtures/revoked", grpc::StatusCode::UNAVAILABLE}}) {
    auto stub =
        v1::Exchange::NewStub(grpc::CreateChannel(harness_->address(), grpc::SslCredentials(PartySslOptions(stem))));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    EXPECT_EQ(stub->Track(&ctx, req, &resp).error_code(), want) << stem;
  }
}

// grpc.health.v1.Health/Check with an empty request, over the party's mTLS
// channel; the answer is HealthCheckResponse{status: SERVING} = bytes 08 01.
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel, std::string* response_bytes) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::ByteBuffer request(nullptr, 0), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  std::vector<grpc::Slice> slices;
  if (s.ok() && response.Dump(&slices).ok()) {
    for (const auto& slice : slices) response_bytes->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return s;
}

TEST_F(TlsTest, HealthServiceReportsServingOverMtls) {
  std::string bytes;
  grpc::Status s = HealthCheck(harness_->Channel("parties/uk-nca"), &bytes);
  ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
  // The health service sits behind the same handshake: a rogue certificate gets nothing.
  std::string rogue_bytes;
  EXPECT_EQ(HealthCheck(harness_->Channel("fixtures/rogue"), &rogue_bytes).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

// Is the handshake with `stem` accepted? Track of an unknown id answers
// NOT_FOUND once past the handshake, UNAVAILABLE when the handshake fails.
grpc::StatusCode TrackCode(const GatewayHarness& h, const std::string& stem) {
  auto stub = h.Client(stem);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::TrackRequest req;
  req.set_message_id("no-such-message");
  v1::TrackResponse resp;
  return stub->Track(&ctx, req, &resp).error_code();
}

bool WaitForCode(const GatewayHarness& h, const std::string& stem, grpc::StatusCode want) {
  for (int i = 0; i < 100; ++i) {
    if (TrackCode(h, stem) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

void ReplaceAtomically(const std::string& path, const std::string& content) {
  std::ofstream(path + ".new") << content;
  fs::rename(path + ".new", path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(TrustRotation, CaBundleAndCrlDirectoryRotateWithoutRestart) {
  // Copies of the bundle and CRL directory that the test edits while the gateway runs.
  const std::string dir = MakeTempDir("trust-rotation-files");
  const std::string bundle = dir + "/bundle.pem", crls = dir + "/crl";
  fs::copy_file(PkiDir() + "/ca/bundle.pem", bundle);
  fs::create_directories(crls);
  for (const char* f : {"root.crl.pem", "intermediate.crl.pem", "intermediate-revoked.crl.pem"})
    fs::copy_file(PkiDir() + "/crl/" + f, crls + "/" + f);
  HarnessOptions o;
  o.ca_bundle = bundle;
  o.crl_dir = crls;
  GatewayHarness h("trust-rotation", o);

  ASSERT_EQ(TrackCode(h, "parties/uk-nca"), grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(TrackCode(h, "fixtures/rogue"), grpc::StatusCode::UNAVAILABLE);

  // A new CA joins the bundle (with its CRL): its certificates are accepted without a restart.
  ReplaceAtomically(bundle, ReadFile(bundle) + ReadFile(PkiDir() + "/fixtures/rogue-root.pem"));
  fs::copy_file(PkiDir() + "/fixtures/rogue-root.crl.pem", crls + "/rogue-root.crl.pem");
  EXPECT_TRUE(WaitForCode(h, "fixtures/rogue", grpc::StatusCode::NOT_FOUND)) << "new CA not picked up";

  // The intermediate's CRL disappears: its certificates fail closed (CRL_MISSING), then recover.
  fs::rename(crls + "/intermediate.crl.pem", dir + "/intermediate.crl.pem.away");
  EXPECT_TRUE(WaitForCode(h, "parties/uk-nca", grpc::StatusCode::UNAVAILABLE)) << "missing CRL not noticed";
  EXPECT_TRUE(h.WaitForAudit({"\"action\":\"handshake\"", "\"reason\":\"CRL_MISSING\""}));
  fs::rename(dir + "/intermediate.crl.pem.away", crls + "/intermediate.crl.pem");
  EXPECT_TRUE(WaitForCode(h, "parties/uk-nca", grpc::StatusCode::NOT_FOUND)) << "restored CRL not picked up";

  // The new CA leaves the bundle again: refused again.
  ReplaceAtomically(bundle, ReadFile(PkiDir() + "/ca/bundle.pem"));
  EXPECT_TRUE(WaitForCode(h, "fixtures/rogue", grpc::StatusCode::UNAVAILABLE)) << "removed CA still trusted";
}

}  // namespace
}  // namespace portcullis::testing
