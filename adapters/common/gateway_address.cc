#include "adapters/common/gateway_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace portcullis::adapters {
namespace {

struct HostPort {
  std::string host;  // Without brackets.
  std::string port;
};

// Splits a checked address into host and port.
HostPort Split(absl::string_view address) {
  const size_t colon = address.rfind(':');
  absl::string_view host = address.substr(0, colon);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {std::string(host), std::string(address.substr(colon + 1))};
}

absl::Status Bad(absl::string_view address, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("gateway address \"", address, "\" ", why));
}

bool IsNameChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; }

}  // namespace

absl::Status CheckGatewayAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (address.empty()) return absl::InvalidArgumentError("gateway address is empty (expected HOST:PORT)");
  if (colon == absl::string_view::npos || colon + 1 == address.size()) {
    return Bad(address, "is not HOST:PORT (no port)");
  }
  absl::string_view host = address.substr(0, colon);
  const absl::string_view port = address.substr(colon + 1);
  uint32_t port_number = 0;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) || port.size() > 5 ||
      !absl::SimpleAtoi(port, &port_number) || port_number < 1 || port_number > 65535) {
    return Bad(address, "has a bad port (expected 1..65535)");
  }
  if (host.empty()) return Bad(address, "is not HOST:PORT (no host)");
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return Bad(address, "has a bad IPv6 literal (expected [ADDRESS]:PORT)");
    const std::string inner(host.substr(1, host.size() - 2));
    in6_addr a6{};
    if (inet_pton(AF_INET6, inner.c_str(), &a6) != 1) return Bad(address, "has a bad IPv6 literal");
    return absl::OkStatus();
  }
  if (host.find(':') != absl::string_view::npos) {
    return Bad(address, "is not HOST:PORT (an IPv6 literal goes in brackets: [::1]:8443)");
  }
  if (!std::all_of(host.begin(), host.end(), IsNameChar)) {
    return Bad(address, "is not HOST:PORT (HOST: a name, an IPv4 address or [IPv6])");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ParseGatewayList(absl::string_view list) {
  std::vector<std::string> out;
  for (absl::string_view entry : absl::StrSplit(list, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("gateway address list \"", list, "\" has an empty entry (expected HOST:PORT,HOST:PORT)"));
    }
    if (absl::Status s = CheckGatewayAddress(entry); !s.ok()) return s;
    out.emplace_back(entry);
  }
  return out;
}

absl::StatusOr<std::string> ResolvedTarget(const std::vector<std::string>& addresses) {
  if (addresses.empty()) return absl::InvalidArgumentError("no gateway address (expected HOST:PORT)");
  std::vector<std::string> v4, v6;
  std::string v4_only, v6_only;  // An entry with addresses of one family only.
  std::vector<std::string> unresolved;  // Why each skipped entry was skipped.
  for (const std::string& address : addresses) {
    const HostPort hp = Split(address);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found);
    if (rc != 0 || found == nullptr) {
      // Skipped: a replica whose DNS entry is gone (its machine retired, a
      // typo) must not stop the client from reaching the others.
      std::string why = absl::StrCat("cannot resolve gateway address \"", address, "\": ",
                                     rc != 0 ? gai_strerror(rc) : "no address");
      if (found != nullptr) freeaddrinfo(found);
      std::fprintf(stderr, "warning: %s; skipped, the other addresses are used\n", why.c_str());
      unresolved.push_back(std::move(why));
      continue;
    }
    bool has4 = false, has6 = false;
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      if (ai->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr, text, sizeof text);
        std::string a = absl::StrCat(text, ":", hp.port);
        if (std::find(v4.begin(), v4.end(), a) == v4.end()) v4.push_back(std::move(a));
        has4 = true;
      } else if (ai->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr, text, sizeof text);
        std::string a = absl::StrCat("[", text, "]:", hp.port);
        if (std::find(v6.begin(), v6.end(), a) == v6.end()) v6.push_back(std::move(a));
        has6 = true;
      }
    }
    freeaddrinfo(found);
    if (!has4 && !has6) {
      std::string why = absl::StrCat("cannot resolve gateway address \"", address, "\": no IPv4 or IPv6 address");
      std::fprintf(stderr, "warning: %s; skipped, the other addresses are used\n", why.c_str());
      unresolved.push_back(std::move(why));
      continue;
    }
    if (has4 && !has6 && v4_only.empty()) v4_only = address;
    if (has6 && !has4 && v6_only.empty()) v6_only = address;
  }
  if (v4.empty() && v6.empty()) {
    return absl::UnavailableError(absl::StrCat("no gateway address resolves: ", absl::StrJoin(unresolved, "; ")));
  }
  if (!v4_only.empty() && !v6_only.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("gateway addresses \"", v4_only, "\" (IPv4 only) and \"", v6_only,
                                                   "\" (IPv6 only) cannot share one channel: give one family"));
  }
  if (v6_only.empty()) return absl::StrCat("ipv4:", absl::StrJoin(v4, ","));
  return absl::StrCat("ipv6:", absl::StrJoin(v6, ","));
}

}  // namespace portcullis::adapters
