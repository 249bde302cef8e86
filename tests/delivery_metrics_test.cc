// DeliveryMetrics: per-destination counters, fixed at construction from the
// parties that receive messages, correct under concurrent increments.
#include "gateway/delivery/delivery_metrics.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace portcullis {
namespace {

Config TwoDestinationsAndAnOperator() {
  Config c;
  Party europol;
  europol.id = "eu/europol";
  europol.delivery.mode = DeliveryMode::kPush;
  Party nca;
  nca.id = "uk/nca";
  nca.delivery.mode = DeliveryMode::kPull;
  Party ops;
  ops.id = "ops/operator";
  ops.kind = PartyKind::kOperator;
  c.parties = {europol, nca, ops};
  return c;
}

TEST(DeliveryMetrics, CountsPerDestination) {
  DeliveryMetrics m(TwoDestinationsAndAnOperator());
  m.CountAttempt("eu/europol");
  m.CountAttempt("eu/europol");
  m.CountFailure("eu/europol");
  m.CountRetryScheduled("eu/europol");
  m.CountDelivered("eu/europol");
  m.CountFailed("eu/europol");
  m.CountExpired("eu/europol");
  m.CountDelivered("uk/nca");
  m.CountAttempt("eu/unknown");  // Not a destination: dropped.
  m.CountAttempt("ops/operator");  // Receives nothing: dropped.

  const auto snap = m.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  const DestinationCounters& e = snap.at("eu/europol");
  EXPECT_EQ(e.attempts, 2u);
  EXPECT_EQ(e.failures, 1u);
  EXPECT_EQ(e.retries_scheduled, 1u);
  EXPECT_EQ(e.delivered, 1u);
  EXPECT_EQ(e.dead_lettered, 2u);  // One failed, one expired.
  EXPECT_EQ(e.expired, 1u);
  const DestinationCounters& n = snap.at("uk/nca");
  EXPECT_EQ(n.delivered, 1u);
  EXPECT_EQ(n.attempts, 0u);
}

TEST(DeliveryMetrics, NoIncrementIsLostUnderConcurrency) {
  DeliveryMetrics m(TwoDestinationsAndAnOperator());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 10000; ++i) {
        m.CountAttempt(t % 2 ? "eu/europol" : "uk/nca");
        m.CountDelivered("eu/europol");
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto snap = m.Snapshot();
  EXPECT_EQ(snap.at("eu/europol").attempts, 40000u);
  EXPECT_EQ(snap.at("uk/nca").attempts, 40000u);
  EXPECT_EQ(snap.at("eu/europol").delivered, 80000u);
}

}  // namespace
}  // namespace portcullis
