// Certificate rotation without restart, under traffic: no call fails.
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {
namespace fs = std::filesystem;

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  if (p) pclose(p);
  return out;
}

// SHA-256 fingerprint of the certificate the server presents now.
std::string PresentedFingerprint(int port) {
  ClientCert c = PkiCert("parties/uk-nca");
  return Run("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -cert " + c.cert + " -key " + c.key +
             " -alpn h2 </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256");
}

std::string FileFingerprint(const std::string& pem) {
  return Run("openssl x509 -in " + pem + " -noout -fingerprint -sha256");
}

TEST(Rotation, ServerCertificateRotatesUnderTrafficWithNoFailedCall) {
  std::string certs = MakeTempDir("rotation-certs");
  fs::copy_file(PkiDir() + "/gateway/server.pem", certs + "/server.pem");
  fs::copy_file(PkiDir() + "/gateway/server.key", certs + "/server.key");
  HarnessOptions o;
  o.server_cert_dir = certs;
  GatewayHarness h("rotation", o);
  ASSERT_EQ(PresentedFingerprint(h.port()), FileFingerprint(PkiDir() + "/gateway/server.pem"));

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread traffic([&] {
    int i = 0;
    while (!stop) {
      auto client = h.Client("parties/uk-border-force");  // New channel: new handshake.
      v1::Receipt r;
      grpc::Status s = Submit(*client, SampleReferral("ROT-" + std::to_string(i++)), &r);
      (s.ok() ? ok : failed)++;
    }
  });
  // Count-based, not time-based: calls must succeed before, during and after the swap.
  auto wait_for_ok = [&](int target) {
    for (int i = 0; i < 600 && ok.load() < target && failed.load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  wait_for_ok(3);
  // Atomic replacement, as a deployment would do it (key first, then cert).
  fs::copy_file(PkiDir() + "/gateway/server-next.key", certs + "/server.key.new");
  fs::copy_file(PkiDir() + "/gateway/server-next.pem", certs + "/server.pem.new");
  fs::rename(certs + "/server.key.new", certs + "/server.key");
  fs::rename(certs + "/server.pem.new", certs + "/server.pem");
  const std::string next = FileFingerprint(PkiDir() + "/gateway/server-next.pem");
  bool rotated = false;
  for (int i = 0; i < 100 && !rotated; ++i) {
    rotated = PresentedFingerprint(h.port()) == next;
    if (!rotated) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int ok_at_rotation = ok.load();
  wait_for_ok(ok_at_rotation + 5);
  stop = true;
  traffic.join();
  EXPECT_TRUE(rotated) << "the gateway still presents the old certificate";
  EXPECT_GE(ok.load(), ok_at_rotation + 5) << "too few calls completed after the rotation";
  EXPECT_EQ(failed.load(), 0);
}

}  // namespace
}  // namespace portcullis::testing
