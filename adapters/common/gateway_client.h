// A client channel to the gateway (or to any Portcullis server) over mutual
// TLS: presents the party's certificate, verifies the server's full chain and
// revocation status, and requires the server's certificate to carry exactly
// `gateway_identity` as its URI SAN (mtls::MakeChannelCredentials).
//
// `address` is one HOST:PORT (any gRPC target, passed on as it is, with
// gRPC's default pick_first policy), or several replicas' addresses
// separated by commas, "HOST:PORT,HOST:PORT" (adapters/common/gateway_address.h):
// then ONE channel over all of them with the round_robin policy, so calls
// spread over the replicas and one that cannot be reached is skipped. Each
// connection, to whichever replica, passes the same identity check.
//
// Fails (without dialling) if the address is empty, an entry of a list is
// not HOST:PORT or does not resolve (the error names it), or a TLS file cannot be
// read or the CA/CRL set does not load; the error names the file. The channel
// connects lazily: a refused or failed handshake shows up as UNAVAILABLE on
// the first call. Channels are thread-safe and shared by their stubs.
//
// With `call_credentials` (e.g. mtls::OfficerAssertionCallCredentials) every
// call on the channel carries them (composed with the TLS credentials); a
// client that acts for several officers, or must not send them on some calls
// (Receive, Confirm), sets them per call instead (ClientContext::set_credentials).
#ifndef PORTCULLIS_ADAPTERS_COMMON_GATEWAY_CLIENT_H_
#define PORTCULLIS_ADAPTERS_COMMON_GATEWAY_CLIENT_H_

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/status/statusor.h"
#include "adapters/common/party_tls.h"

namespace portcullis::adapters {

inline constexpr char kGatewayIdentity[] = "spiffe://exchange.gov.uk/gateway";

// Largest request a party sends (8 MiB, the gateway's default
// limits.max_receive_message_bytes). What a party receives is sized from it
// (portcullis/v1/message_limits.h): a Delivery carrying the largest envelope
// such a Submit holds.
inline constexpr int kMaxMessageBytes = 8 * 1024 * 1024;

absl::StatusOr<std::shared_ptr<grpc::Channel>> DialGateway(const std::string& address, const PartyTls& tls,
                                                           const std::string& gateway_identity = kGatewayIdentity,
                                                           std::shared_ptr<grpc::CallCredentials> call_credentials = nullptr);

}  // namespace portcullis::adapters

#endif  // PORTCULLIS_ADAPTERS_COMMON_GATEWAY_CLIENT_H_
