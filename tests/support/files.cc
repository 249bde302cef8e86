#include "tests/support/files.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace portcullis::testing {
namespace fs = std::filesystem;

std::string PkiDir() { return std::string(PORTCULLIS_BINARY_DIR) + "/test-pki"; }

std::string MakeTempDir(const std::string& name) {
  std::string dir = std::string(PORTCULLIS_BINARY_DIR) + "/test-tmp/" + name + "-" + std::to_string(::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> FileNamesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace portcullis::testing
