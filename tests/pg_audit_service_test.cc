// `portcullis-audit` (the real tool, as a process) through the gateway's Audit
// service (the real AuditService over real mTLS from the dev PKI) on a
// PgAuditLog in a real PostgreSQL: `verify --gateway` downloads the records
// and a signed checkpoint and passes them to the offline verifier, and
// `export` writes the lines exactly as the database holds them. (Until the
// gateway itself opens a PgAuditLog, the service is served here on its own.)
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "gateway/config/config_loader.h"
#include "gateway/service/audit_service.h"
#include "gateway/service/officer_identity.h"
#include "mtls/credentials.h"
#include "tests/pg_audit_test_support.h"
#include "tests/support/harness.h"

namespace portcullis::testing {
namespace {

TEST(PgAuditService, PortcullisAuditVerifyAndExportThroughTheAuditService) {
  auto pg = PgCluster::Start();
  ASSERT_TRUE(pg.ok()) << "PostgreSQL could not be started: " << pg.status();
  const std::string dsn = FreshDatabase(**pg, "audit");
  const std::string dir = MakeTempDir("pg-audit-service");
  const std::string witness_dir = dir + "/witness";
  std::filesystem::create_directories(witness_dir);
  // Checkpoints only when asked: one signed while `verify --gateway` runs
  // would reach the witness file ahead of the records it downloaded (the
  // tool would call that truncation; see the report).
  PgGateway g = OpenGateway(dsn, SignedOptions(witness_dir));
  ASSERT_TRUE(g.log) << g.open_status;
  for (int i = 0; i < 45; ++i) {
    ASSERT_TRUE(g.log->AppendAndWait(PgSample(i)).ok());
    if (i % 10 == 9) {
      ASSERT_TRUE(g.log->CheckpointNow().ok());
    }
  }

  HarnessOptions ho;
  ho.witness_dir = witness_dir;
  auto config = LoadConfigFile(WriteTestConfig(dir, ho));
  ASSERT_TRUE(config.ok()) << config.status();
  auto audience = CertificateUriSan((*config)->tls.server_cert);
  ASSERT_TRUE(audience.ok()) << audience.status();
  auto officers = OfficerIdentity::Create(**config, *audience);
  ASSERT_TRUE(officers.ok()) << officers.status();
  AuditService service(*config, g.log.get(), officers->get());
  mtls::ServerTlsOptions tls;
  tls.files = {(*config)->tls.server_cert, (*config)->tls.server_key, (*config)->tls.ca_bundle,
               (*config)->tls.crl_dir, (*config)->tls.reload_interval_seconds};
  std::shared_ptr<const Config> cfg = *config;
  tls.identity_check = [cfg](const std::vector<std::string>& sans) {  // As the gateway's rule.
    return sans.size() == 1 && cfg->FindPartyByIdentity(sans[0]) != nullptr
               ? absl::OkStatus()
               : absl::PermissionDeniedError("not a party of this exchange");
  };
  tls.on_refused = [](const mtls::HandshakeRefusal&) {};
  auto creds = mtls::MakeServerCredentials(tls);
  ASSERT_TRUE(creds.ok()) << creds.status();
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_TRUE(server != nullptr && port > 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const std::vector<std::string> as_auditor = {"--gateway", address, "--as", "audit-ico", "--pki", PkiDir()};

  // verify --gateway: every record, a checkpoint covering them (signed on
  // demand by the PostgreSQL signer), the witness's copies; the offline verifier.
  ASSERT_TRUE(WaitUntil([&] { return LinesOf(witness_dir + "/checkpoints.log").size() == 4; }));
  std::vector<std::string> verify = {PORTCULLIS_AUDIT_TOOL, "verify"};
  verify.insert(verify.end(), as_auditor.begin(), as_auditor.end());
  verify.insert(verify.end(), {"--public-key", PublicKey(), "--witness", witness_dir + "/checkpoints.log", "--json"});
  auto verified = RunCommand(verify);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->exit_code, 0) << verified->output;
  EXPECT_NE(verified->output.find("\"ok\":true"), std::string::npos) << verified->output;
  EXPECT_NE(verified->output.find("\"witness_checkpoints\":"), std::string::npos) << verified->output;
  EXPECT_EQ(verified->output.find("\"witness_checkpoints\":0"), std::string::npos) << verified->output;

  // export --format jsonl: the lines exactly as stored.
  const std::string out = dir + "/export.jsonl";
  std::vector<std::string> exp = {PORTCULLIS_AUDIT_TOOL, "export"};
  exp.insert(exp.end(), as_auditor.begin(), as_auditor.end());
  exp.insert(exp.end(), {"--reason", "pg export check", "--format", "jsonl", "--out", out});
  auto exported = RunCommand(exp);
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->exit_code, 0) << exported->output;
  const std::vector<std::string> lines = LinesOf(out);
  ASSERT_GE(lines.size(), 45u);
  auto stored = g.log->ReadLines(0, lines.size());
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(lines, *stored) << "the export differs from the database";
  // The service recorded the auditor's queries in the same chain.
  auto last = g.log->ReadLines(g.log->size() - 1, 1);
  ASSERT_TRUE(last.ok() && last->size() == 1);
  EXPECT_NE(last->front().find("\"action\":\"audit_"), std::string::npos) << last->front();
  server->Shutdown();
}

}  // namespace
}  // namespace portcullis::testing
