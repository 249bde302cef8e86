#include "gateway/cluster/destination_leases.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/pg/pg_clock.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis {
namespace {

#define NOW PORTCULLIS_PG_NOW_MICROS

// Whether this process owns its replica id's heartbeat row ($I = its incarnation).
#define OURS(I) "EXISTS (SELECT 1 FROM portcullis_replicas p WHERE p.replica_id = $2 AND p.incarnation = " I ")"

// $1 replica id, $2 info, $3 incarnation, $4 lease (micros): one row if this
// process owns the id's row now: the row is its own, new, claimable (''), or
// the other incarnation's heartbeat is older than one lease (it is gone).
// started_micros is set when the row changes incarnation.
constexpr const char* kHeartbeat =
    "INSERT INTO portcullis_replicas AS r (replica_id, started_micros, heartbeat_micros, info, incarnation) "
    "VALUES ($1, " NOW ", " NOW ", $2, $3) "
    "ON CONFLICT (replica_id) DO UPDATE SET heartbeat_micros = EXCLUDED.heartbeat_micros, info = EXCLUDED.info, "
    "incarnation = EXCLUDED.incarnation, started_micros = CASE WHEN r.incarnation = EXCLUDED.incarnation "
    "THEN r.started_micros ELSE EXCLUDED.started_micros END "
    "WHERE r.incarnation = EXCLUDED.incarnation OR r.incarnation = '' "
    "OR r.heartbeat_micros < EXCLUDED.heartbeat_micros - $4::bigint "
    "RETURNING 1";

// $1 destinations held (text[]), $2 replica id, $3 lease (micros), $4
// incarnation: the ones renewed (none once another process owns the id).
constexpr const char* kRenew =
    "UPDATE destination_leases SET expires_micros = " NOW " + $3::bigint "
    "WHERE recipient = ANY($1::text[]) AND holder = $2 AND " OURS("$4") " RETURNING recipient";

// $1 lease (micros): replicas alive (this one included, just heartbeaten).
constexpr const char* kLiveReplicas =
    "SELECT count(*) FROM portcullis_replicas WHERE heartbeat_micros >= " NOW " - $1::bigint";

// $1 destinations (text[]), $2 replica id: those another holder's lease still covers.
constexpr const char* kTaken =
    "SELECT recipient FROM destination_leases WHERE recipient = ANY($1::text[]) AND holder <> '' "
    "AND holder <> $2 AND expires_micros >= " NOW;

// $1 destination, $2 replica id, $3 lease (micros), $4 incarnation: one row
// if taken, only while this process owns the id's heartbeat row: a lease
// released, expired, or this replica id's own (held by this process before it
// lost it locally, or by an earlier process with this id, gone since its
// heartbeat is older than a lease). The generation grows at each change of
// holder (a fencing token).
constexpr const char* kAcquire =
    "INSERT INTO destination_leases AS l (recipient, holder, expires_micros, acquired_micros, generation) "
    "SELECT $1::text, $2::text, " NOW " + $3::bigint, " NOW ", 1 WHERE " OURS("$4") " "
    "ON CONFLICT (recipient) DO UPDATE SET holder = EXCLUDED.holder, expires_micros = EXCLUDED.expires_micros, "
    "acquired_micros = EXCLUDED.acquired_micros, "
    "generation = l.generation + CASE WHEN l.holder = EXCLUDED.holder THEN 0 ELSE 1 END "
    "WHERE l.holder = '' OR l.holder = EXCLUDED.holder OR l.expires_micros < EXCLUDED.acquired_micros "
    "RETURNING generation";

// $1 destination, $2 replica id, $3 incarnation: a surplus lease given up (rebalancing).
constexpr const char* kReleaseOne =
    "UPDATE destination_leases SET holder = '', expires_micros = 0 "
    "WHERE recipient = $1 AND holder = $2 AND " OURS("$3");

// $1 replica id, $2 incarnation: every lease of this id released and its
// heartbeat zeroed, in one statement, only while this process owns the id's
// row. One row if it did.
constexpr const char* kReleaseAll =
    "WITH me AS (UPDATE portcullis_replicas SET heartbeat_micros = 0 "
    "WHERE replica_id = $1 AND incarnation = $2 RETURNING 1), "
    "released AS (UPDATE destination_leases SET holder = '', expires_micros = 0 "
    "WHERE holder = $1 AND EXISTS (SELECT 1 FROM me)) "
    "SELECT 1 FROM me";

#undef OURS
#undef NOW

// 128 random bits, hex: this process's incarnation.
std::string NewIncarnation() {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 4; ++i) absl::StrAppend(&out, absl::Hex(rd(), absl::kZeroPad8));
  return out;
}

// A text[] literal: {"a","b"} with " and \ escaped.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

DestinationLeases::DestinationLeases(DestinationLeasesOptions options)
    : options_(std::move(options)), incarnation_(NewIncarnation()) {}

DestinationLeases::~DestinationLeases() { Stop(); }

std::chrono::milliseconds DestinationLeases::period() const {
  return std::max(std::chrono::milliseconds(10), options_.lease / 5);
}

std::chrono::milliseconds DestinationLeases::validity() const { return options_.lease - options_.lease / 10; }

long long DestinationLeases::lease_micros() const { return static_cast<long long>(options_.lease.count()) * 1000; }

void DestinationLeases::SetListener(Listener listener) { listener_ = std::move(listener); }

void DestinationLeases::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { Loop(); });
}

void DestinationLeases::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status DestinationLeases::ReleaseAll() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.clear();  // Nothing starts from here on, whatever the database answers.
  }
  if (absl::Status s = Connect(); !s.ok()) return s;
  auto done = conn_->Exec(kReleaseAll, {options_.replica_id, incarnation_});
  if (!done.ok()) return done.status();
  if (done->rows() == 0) {
    // Another live process has this id now: its leases and heartbeat are not ours to clear.
    return absl::FailedPreconditionError(absl::StrCat("replica id ", options_.replica_id,
                                                      " is in use by another process: nothing released"));
  }
  return absl::OkStatus();
}

bool DestinationLeases::MayStart(const std::string& destination) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_.find(destination);
  return it != held_.end() && Clock::now() < it->second;
}

std::map<std::string, DestinationLeases::Clock::time_point> DestinationLeases::Held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

void DestinationLeases::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const Clock::time_point next = Clock::now() + period();
    lock.unlock();
    absl::Status s = RunRound();
    // Logged once per change (a database that is down would otherwise fill the log).
    const std::string error = s.ok() ? "" : s.ToString();
    if (error != last_error_) {
      if (error.empty()) {
        LogLine("replica %s: leases renewed again\n", options_.replica_id.c_str());
      } else {
        LogLine("replica %s: leases not renewed (they lapse): %s\n",
                     options_.replica_id.c_str(), error.c_str());
      }
      last_error_ = error;
    }
    lock.lock();
    cv_.wait_until(lock, next, [this] { return stop_; });
  }
}

absl::Status DestinationLeases::RunRound() {
  std::vector<std::string> lost, gained;
  ExpireLocal(&lost);
  absl::Status status;
  size_t fair_share = 0;
  bool ours = false;
  if (options_.healthy && !options_.healthy()) {
    status = absl::UnavailableError("the storage cannot record: no lease taken or renewed");
  } else {
    status = Connect();
    if (status.ok()) status = Heartbeat(&ours);
    if (status.ok() && !ours) DropAll(&lost);
    if (status.ok() && ours) status = Renew(&lost);
    if (status.ok() && ours) status = Acquire(&gained, &fair_share);
  }
  Notify(lost, false);
  Notify(gained, true);
  if (status.ok() && ours) return Rebalance(fair_share);
  surplus_rounds_ = 0;
  return status;
}

absl::Status DestinationLeases::Connect() {
  if (conn_ != nullptr && conn_->ok()) return absl::OkStatus();
  conn_.reset();
  auto conn = pg::Connection::Open(options_.dsn, 2, /*read_write=*/true);
  if (!conn.ok()) return conn.status();
  // A lease statement that waits longer than a lease is of no use: the lease has lapsed meanwhile.
  const std::string timeout = absl::StrCat("SET statement_timeout = ", options_.lease.count());
  if (absl::Status s = (*conn)->RunScript(timeout.c_str()); !s.ok()) return s;
  conn_ = *std::move(conn);
  return absl::OkStatus();
}

void DestinationLeases::ExpireLocal(std::vector<std::string>* lost) {
  const Clock::time_point now = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = held_.begin(); it != held_.end();) {
    if (now >= it->second) {
      lost->push_back(it->first);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

void DestinationLeases::DropAll(std::vector<std::string>* lost) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [destination, until] : held_) lost->push_back(destination);
  held_.clear();
}

absl::Status DestinationLeases::Heartbeat(bool* ours) {
  // Every lease renewed or taken in this round counts from here: before the
  // heartbeat reached the database, so this process stops before another
  // process with its id can own the row (the heartbeat older than a lease).
  round_sent_ = Clock::now();
  auto row = conn_->Exec(kHeartbeat, {options_.replica_id, options_.info, incarnation_, lease_micros()});
  if (!row.ok()) return row.status();
  *ours = row->rows() == 1;
  if (*ours == id_in_use_.load()) {  // A change: said once.
    if (*ours) {
      LogLine("replica id %s is ours again (the other process with it has stopped); delivering to push destinations\n",
              options_.replica_id.c_str());
    } else {
      LogLine("replica id %s is in use by another live process; not delivering to push destinations\n",
              options_.replica_id.c_str());
    }
    id_in_use_ = !*ours;
  }
  return absl::OkStatus();
}

absl::Status DestinationLeases::Renew(std::vector<std::string>* lost) {
  std::vector<std::string> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [destination, until] : held_) mine.push_back(destination);
  }
  if (mine.empty()) return absl::OkStatus();
  auto renewed = conn_->Exec(kRenew, {TextArray(mine), options_.replica_id, lease_micros(), incarnation_});
  if (!renewed.ok()) return renewed.status();
  std::set<std::string> kept;
  for (int i = 0; i < renewed->rows(); ++i) kept.insert(std::string(renewed->Text(i, 0)));
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& destination : mine) {
    auto it = held_.find(destination);
    if (it == held_.end()) continue;
    if (kept.count(destination) > 0) {
      it->second = round_sent_ + validity();
    } else {
      // Another replica holds it now (ours lapsed and was taken over): lost.
      lost->push_back(destination);
      held_.erase(it);
    }
  }
  return absl::OkStatus();
}

absl::Status DestinationLeases::Acquire(std::vector<std::string>* gained, size_t* fair_share_out) {
  const auto& all = options_.destinations;
  if (all.empty()) return absl::OkStatus();
  auto live = conn_->Exec(kLiveReplicas, {lease_micros()});
  if (!live.ok()) return live.status();
  const size_t replicas = static_cast<size_t>(std::max<int64_t>(1, live->Int(0, 0)));
  const size_t fair_share = (all.size() + replicas - 1) / replicas;
  *fair_share_out = fair_share;
  std::vector<std::string> candidates;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (held_.size() >= fair_share) return absl::OkStatus();
    for (const std::string& d : all) {
      if (held_.count(d) == 0) candidates.push_back(d);
    }
  }
  auto taken = conn_->Exec(kTaken, {TextArray(candidates), options_.replica_id});
  if (!taken.ok()) return taken.status();
  std::set<std::string> busy;
  for (int i = 0; i < taken->rows(); ++i) busy.insert(std::string(taken->Text(i, 0)));
  candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                  [&busy](const std::string& d) { return busy.count(d) > 0; }),
                   candidates.end());
  // In a random order: replicas starting together do not all contend for the same one first.
  std::shuffle(candidates.begin(), candidates.end(), rng_);
  for (const std::string& destination : candidates) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_.size() >= fair_share) break;
    }
    auto row = conn_->Exec(kAcquire, {destination, options_.replica_id, lease_micros(), incarnation_});
    if (!row.ok()) return row.status();
    if (row->rows() == 0) continue;  // Another replica took it first.
    std::lock_guard<std::mutex> lock(mu_);
    held_[destination] = round_sent_ + validity();
    gained->push_back(destination);
  }
  return absl::OkStatus();
}

absl::Status DestinationLeases::Rebalance(size_t fair_share) {
  std::string surplus;
  size_t held = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    held = held_.size();
    if (fair_share == 0 || held <= fair_share) {
      surplus_rounds_ = 0;
      return absl::OkStatus();
    }
    if (++surplus_rounds_ < kSurplusRounds) return absl::OkStatus();
    surplus_rounds_ = 0;  // The next one after as many rounds again.
    auto it = held_.begin();
    std::advance(it, std::uniform_int_distribution<size_t>(0, held - 1)(rng_));
    surplus = it->first;
    held_.erase(it);  // MayStart is false from here on, before the row changes.
  }
  LogLine("replica %s: holding %zu push destinations, more than its fair share %zu: releasing %s\n",
          options_.replica_id.c_str(), held, fair_share, surplus.c_str());
  Notify({surplus}, false);  // The dispatcher drops it before another replica can take it.
  // If this fails the row keeps this holder until it expires (no longer renewed).
  return conn_->Run(kReleaseOne, {surplus, options_.replica_id, incarnation_});
}

void DestinationLeases::Notify(const std::vector<std::string>& destinations, bool held) {
  for (const std::string& d : destinations) {
    LogLine("replica %s: %s the lease of push destination %s\n",
                 options_.replica_id.c_str(), held ? "took" : "lost", d.c_str());
    if (listener_) listener_(d, held);
  }
}

}  // namespace portcullis
