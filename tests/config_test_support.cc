#include "tests/config_test_support.h"

#include <stdlib.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/config/config_loader.h"
#include "gtest/gtest.h"

namespace portcullis::config_test {

void WriteFile(const fs::path& path, absl::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path);
  out << content;
}

Workspace::Workspace() {
  std::string tmpl = ::testing::TempDir() + "config_test.XXXXXX";
  char* made = mkdtemp(tmpl.data());
  EXPECT_NE(made, nullptr) << "mkdtemp failed";
  dir = fs::path(tmpl);
  for (const char* file : {"pki/gateway/server.pem", "pki/gateway/server.key", "pki/gateway/client.pem",
                           "pki/gateway/client.key", "pki/ca/bundle.pem", "pki/audit/signing.key"}) {
    WriteFile(dir / file, "dummy\n");
  }
  fs::create_directories(dir / "pki/crl");
  fs::create_directories(dir / "state");
  fs::create_directories(dir / "state/witness");  // The shipped config keeps a witness folder.
}

Workspace::~Workspace() {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : name_(name) {
  const char* old = std::getenv(name);
  if (old != nullptr) old_ = old;
  had_old_ = old != nullptr;
  setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (had_old_) {
    setenv(name_, old_.c_str(), 1);
  } else {
    unsetenv(name_);
  }
}

LoadResult Load(const Workspace& ws, absl::string_view yaml) {
  return LoadConfigString(std::string(yaml), kSource, ws.dir.string());
}

// "test.yaml:<line>:<column>" of the first occurrence of `needle`, computed
// from the text alone (an oracle independent of yaml-cpp's marks).
std::string At(absl::string_view text, absl::string_view needle) {
  const size_t pos = text.find(needle);
  if (pos == absl::string_view::npos) {
    ADD_FAILURE() << "needle not in text: " << needle;
    return "?";
  }
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat(kSource, ":", line, ":", pos - line_start + 1);
}

// The error lines of a failed load (and a failure if it did not fail).
std::vector<std::string> ErrorLines(const LoadResult& result) {
  if (result.ok()) {
    ADD_FAILURE() << "expected the load to fail, but it succeeded";
    return {};
  }
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  return absl::StrSplit(result.status().message(), '\n');
}

}  // namespace portcullis::config_test
