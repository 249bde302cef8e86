#include "gateway/cluster/destination_leases.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"
#include "gateway/pg/pg_connection.h"

namespace portcullis {
namespace {

// Now on the database's clock, in microseconds (every replica compares
// expiries against this one clock, never its own).
#define PORTCULLIS_DB_NOW "(extract(epoch from clock_timestamp())*1e6)::bigint"

// $1 replica id, $2 info, $3 true on this process's first heartbeat.
constexpr const char* kHeartbeat =
    "INSERT INTO portcullis_replicas(replica_id, started_micros, heartbeat_micros, info) "
    "VALUES ($1, " PORTCULLIS_DB_NOW ", " PORTCULLIS_DB_NOW ", $2) "
    "ON CONFLICT (replica_id) DO UPDATE SET heartbeat_micros = EXCLUDED.heartbeat_micros, info = EXCLUDED.info, "
    "started_micros = CASE WHEN $3::boolean THEN EXCLUDED.started_micros "
    "ELSE portcullis_replicas.started_micros END";

// $1 destinations held (text[]), $2 replica id, $3 lease (micros): the ones renewed.
constexpr const char* kRenew =
    "UPDATE destination_leases SET expires_micros = " PORTCULLIS_DB_NOW " + $3::bigint "
    "WHERE recipient = ANY($1::text[]) AND holder = $2 RETURNING recipient";

// $1 lease (micros): replicas alive (this one included, just heartbeaten).
constexpr const char* kLiveReplicas =
    "SELECT count(*) FROM portcullis_replicas WHERE heartbeat_micros >= " PORTCULLIS_DB_NOW " - $1::bigint";

// $1 destinations (text[]), $2 replica id: those another holder's lease still covers.
constexpr const char* kTaken =
    "SELECT recipient FROM destination_leases WHERE recipient = ANY($1::text[]) AND holder <> '' "
    "AND holder <> $2 AND expires_micros >= " PORTCULLIS_DB_NOW;

// $1 destination, $2 replica id, $3 lease (micros): one row if taken: a lease
// released, expired, or this replica's own (held before a restart under the
// same id: ids are unique, so that process is gone). The generation grows at
// each change of holder (a fencing token).
constexpr const char* kAcquire =
    "INSERT INTO destination_leases AS l (recipient, holder, expires_micros, acquired_micros, generation) "
    "VALUES ($1, $2, " PORTCULLIS_DB_NOW " + $3::bigint, " PORTCULLIS_DB_NOW ", 1) "
    "ON CONFLICT (recipient) DO UPDATE SET holder = EXCLUDED.holder, expires_micros = EXCLUDED.expires_micros, "
    "acquired_micros = EXCLUDED.acquired_micros, "
    "generation = l.generation + CASE WHEN l.holder = EXCLUDED.holder THEN 0 ELSE 1 END "
    "WHERE l.holder = '' OR l.holder = EXCLUDED.holder OR l.expires_micros < EXCLUDED.acquired_micros "
    "RETURNING generation";

// $1 replica id.
constexpr const char* kRelease = "UPDATE destination_leases SET holder = '', expires_micros = 0 WHERE holder = $1";
constexpr const char* kGone = "UPDATE portcullis_replicas SET heartbeat_micros = 0 WHERE replica_id = $1";

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

DestinationLeases::DestinationLeases(DestinationLeasesOptions options) : options_(std::move(options)) {}

DestinationLeases::~DestinationLeases() { Stop(); }

std::chrono::milliseconds DestinationLeases::period() const {
  return std::max(std::chrono::milliseconds(10), options_.lease / 5);
}

std::chrono::milliseconds DestinationLeases::validity() const { return options_.lease - options_.lease / 10; }

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
  if (absl::Status s = conn_->Run(kRelease, {options_.replica_id}); !s.ok()) return s;
  return conn_->Run(kGone, {options_.replica_id});
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
  if (options_.healthy && !options_.healthy()) {
    status = absl::UnavailableError("the storage cannot record: no lease taken or renewed");
  } else {
    status = Connect();
    if (status.ok()) status = Heartbeat();
    if (status.ok()) status = Renew(&lost);
    if (status.ok()) status = Acquire(&gained);
  }
  Notify(lost, false);
  Notify(gained, true);
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

absl::Status DestinationLeases::Heartbeat() {
  absl::Status s = conn_->Run(kHeartbeat, {options_.replica_id, options_.info, first_heartbeat_});
  if (s.ok()) first_heartbeat_ = false;
  return s;
}

absl::Status DestinationLeases::Renew(std::vector<std::string>* lost) {
  std::vector<std::string> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [destination, until] : held_) mine.push_back(destination);
  }
  if (mine.empty()) return absl::OkStatus();
  const Clock::time_point sent = Clock::now();
  auto renewed = conn_->Exec(kRenew, {TextArray(mine), options_.replica_id,
                                      static_cast<long long>(options_.lease.count()) * 1000});
  if (!renewed.ok()) return renewed.status();
  std::set<std::string> kept;
  for (int i = 0; i < renewed->rows(); ++i) kept.insert(std::string(renewed->Text(i, 0)));
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& destination : mine) {
    auto it = held_.find(destination);
    if (it == held_.end()) continue;
    if (kept.count(destination) > 0) {
      it->second = sent + validity();
    } else {
      // Another replica holds it now (ours lapsed and was taken over): lost.
      lost->push_back(destination);
      held_.erase(it);
    }
  }
  return absl::OkStatus();
}

absl::Status DestinationLeases::Acquire(std::vector<std::string>* gained) {
  const auto& all = options_.destinations;
  if (all.empty()) return absl::OkStatus();
  auto live = conn_->Exec(kLiveReplicas, {static_cast<long long>(options_.lease.count()) * 1000});
  if (!live.ok()) return live.status();
  const size_t replicas = static_cast<size_t>(std::max<int64_t>(1, live->Int(0, 0)));
  const size_t fair_share = (all.size() + replicas - 1) / replicas;
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
    const Clock::time_point sent = Clock::now();
    auto row = conn_->Exec(kAcquire, {destination, options_.replica_id,
                                      static_cast<long long>(options_.lease.count()) * 1000});
    if (!row.ok()) return row.status();
    if (row->rows() == 0) continue;  // Another replica took it first.
    std::lock_guard<std::mutex> lock(mu_);
    held_[destination] = sent + validity();
    gained->push_back(destination);
  }
  return absl::OkStatus();
}

void DestinationLeases::Notify(const std::vector<std::string>& destinations, bool held) {
  for (const std::string& d : destinations) {
    LogLine("replica %s: %s the lease of push destination %s\n",
                 options_.replica_id.c_str(), held ? "took" : "lost", d.c_str());
    if (listener_) listener_(d, held);
  }
}

}  // namespace portcullis
