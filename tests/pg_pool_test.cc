// pg::Pool against a real PostgreSQL: after a server restart the idle
// connections of before are not handed out broken (each idle one is checked
// before reuse; a broken one takes every idle one of its generation with it),
// so the very first read after the restart succeeds, and a caller waiting for
// a connection is counted.
#include "gateway/pg/pg_pool.h"

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/pg_cluster.h"
#include "tests/support/poll.h"

namespace portcullis::testing {
namespace {

// `n` connections opened at once, used, and given back idle.
void FillPool(pg::Pool& pool, size_t n) {
  std::vector<pg::Pool::Lease> leases;
  for (size_t i = 0; i < n; ++i) {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    ASSERT_TRUE((*lease)->Run("SELECT 1").ok());
    leases.push_back(*std::move(lease));
  }
}

TEST(PgPool, TheFirstReadAfterAServerRestartSucceeds) {
  auto cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  // Idle connections are checked before reuse once idle this long (0: always,
  // so that the test does not depend on how long the restart took).
  pg::Pool pool((*cluster)->dsn(), 8, 5, std::chrono::milliseconds(0));
  FillPool(pool, 8);
  ASSERT_TRUE((*cluster)->Stop(/*immediate=*/false).ok());
  ASSERT_TRUE((*cluster)->Restart().ok());
  // Every idle connection is now dropped by the server; none is handed out.
  for (int i = 0; i < 3; ++i) {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    auto res = (*lease)->Exec("SELECT 1");
    EXPECT_TRUE(res.ok()) << "read " << i << " after the restart: " << res.status();
  }
}

// Without the idle check (or within its second), a connection found broken
// takes the idle ones opened before it along: one failed read, not eight.
TEST(PgPool, ABrokenConnectionDropsTheIdleOnesOpenedBeforeIt) {
  auto cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  pg::Pool pool((*cluster)->dsn(), 8, 5, std::chrono::hours(1));  // Never checked: only the generation acts.
  FillPool(pool, 8);
  ASSERT_TRUE((*cluster)->Stop(/*immediate=*/false).ok());
  ASSERT_TRUE((*cluster)->Restart().ok());
  {
    auto lease = pool.Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_FALSE((*lease)->Run("SELECT 1").ok());  // Stale, not checked: found broken by its first use.
  }
  auto lease = pool.Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE((*lease)->Run("SELECT 1").ok()) << "an idle connection of before the restart was handed out";
}

TEST(PgPool, ACallerWaitingForAConnectionIsCounted) {
  auto cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  pg::Pool pool((*cluster)->dsn(), 1, 5);
  auto held = pool.Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(pool.waiting(), 0u);
  std::thread waiter([&pool] { EXPECT_TRUE(pool.Acquire(std::chrono::seconds(10)).ok()); });
  EXPECT_TRUE(WaitUntil([&pool] { return pool.waiting() == 1; }));
  { auto drop = std::move(*held); }
  waiter.join();
  EXPECT_EQ(pool.waiting(), 0u);
}

}  // namespace
}  // namespace portcullis::testing
