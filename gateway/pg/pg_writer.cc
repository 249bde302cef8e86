#include "gateway/pg/pg_writer.h"

#include <cstdio>
#include <future>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/log.h"

namespace portcullis::pg {
namespace {

// Errors that end the session's ability to write, not one op's: the
// connection, the server shutting down, a standby, an abandoned transaction.
bool IsSessionLevel(const std::string& state) {
  return absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") || state == "25006" || state == "25P03";
}

}  // namespace

absl::StatusOr<Head*> Tx::head() {
  if (!locked_) {
    auto res = conn_->Exec(
        "SELECT audit_size, audit_head, next_seq, next_position FROM portcullis_head WHERE id = 1 FOR UPDATE");
    if (!res.ok()) return res.status();
    if (res->rows() != 1) return absl::DataLossError("postgres: the head row (portcullis_head) is missing");
    read_.audit_size = static_cast<uint64_t>(res->Int(0, 0));
    read_.audit_head = std::string(res->Text(0, 1));
    read_.next_seq = res->Int(0, 2);
    read_.next_position = res->Int(0, 3);
    current_ = read_;
    locked_ = true;
  }
  return &current_;
}

absl::StatusOr<std::unique_ptr<GroupWriter>> GroupWriter::Start(Options options) {
  if (options.max_batch == 0) options.max_batch = 1;
  auto conn = Connection::Open(options.dsn, options.connect_timeout_seconds, /*read_write=*/true);
  if (!conn.ok()) return conn.status();
  return std::unique_ptr<GroupWriter>(new GroupWriter(std::move(options), *std::move(conn)));
}

GroupWriter::GroupWriter(Options options, std::unique_ptr<Connection> conn)
    : options_(std::move(options)), conn_(std::move(conn)) {
  backend_pid_ = conn_->backend_pid();
  thread_ = std::thread([this] { Loop(); });
}

GroupWriter::~GroupWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void GroupWriter::Submit(Op op, Done done) {
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refused = absl::UnavailableError("postgres: the writer is stopping");
    } else if (!health_.ok()) {
      refused = health_;
    } else {
      pending_.push_back(Item{std::move(op), std::move(done)});
      ++queued_;
    }
  }
  if (!refused.ok()) {
    done(refused);
    return;
  }
  cv_.notify_one();
}

absl::Status GroupWriter::Run(Op op) {
  std::promise<absl::Status> outcome;
  std::future<absl::Status> f = outcome.get_future();
  Submit(std::move(op), [&outcome](absl::Status s) { outcome.set_value(std::move(s)); });
  return f.get();
}

absl::Status GroupWriter::Health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

void GroupWriter::Flush() {
  // Everything queued so far answered (whether it committed or failed).
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_;
  cv_.wait(lock, [&] { return answered_ >= target; });
}

absl::Status GroupWriter::Inject(absl::string_view point) const {
  return options_.fault_injector ? options_.fault_injector(point) : absl::OkStatus();
}

void GroupWriter::AnswerAll(std::vector<Item>* items, const absl::Status& status) {
  if (!status.ok() && (abandoned_ || !conn_->ok())) {
    // Unhealthy before anyone hears of the failure: a caller that retries at
    // once is refused now, not queued behind the reconnection (Loop).
    std::lock_guard<std::mutex> lock(mu_);
    health_ = absl::UnavailableError("postgres: the database is unreachable; reconnecting");
  }
  for (Item& item : *items) item.done(status);
  {
    std::lock_guard<std::mutex> lock(mu_);
    answered_ += items->size();
  }
  cv_.notify_all();
  items->clear();
}

void GroupWriter::Abandon() { abandoned_ = true; }

void GroupWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!cv_.wait_for(lock, options_.idle_probe, [this] { return stopping_ || !pending_.empty(); })) {
      lock.unlock();  // Idle: is the database still there, and still a primary?
      absl::StatusOr<Result> probe = conn_->ok() ? conn_->Exec("SELECT pg_is_in_recovery()")
                                                 : absl::StatusOr<Result>(absl::UnavailableError("broken"));
      if (!probe.ok()) {
        Reconnect(absl::UnavailableError("postgres: the connection to the database was lost (idle check)"));
      } else if (probe->Bool(0, 0)) {
        Reconnect(absl::UnavailableError("postgres: the server is a standby (in recovery) and cannot take writes"));
      }
      lock.lock();
      continue;
    }
    if (pending_.empty()) break;  // Stopping, and nothing left.
    std::vector<Item> batch;
    while (!pending_.empty() && batch.size() < options_.max_batch) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    lock.unlock();
    RunBatch(&batch);
    if (abandoned_ || !conn_->ok()) {
      Reconnect(absl::UnavailableError("postgres: the connection to the database was lost or cannot write"));
    }
    lock.lock();
  }
}

void GroupWriter::Reconnect(absl::Status cause) {
  std::vector<Item> queued;
  {
    std::lock_guard<std::mutex> lock(mu_);
    health_ = absl::UnavailableError("postgres: the database is unreachable; reconnecting");
    for (Item& item : pending_) queued.push_back(std::move(item));
    pending_.clear();
  }
  LogLine("storage: %s; refusing writes until it is back\n",
               std::string(cause.message()).c_str());
  AnswerAll(&queued, absl::UnavailableError("postgres: the database is unreachable"));
  backend_pid_ = 0;
  std::chrono::milliseconds backoff = options_.reconnect_min;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) return;  // Stays unhealthy.
    }
    auto conn = Connection::Open(options_.dsn, options_.connect_timeout_seconds, /*read_write=*/true);
    if (conn.ok()) {
      conn_ = *std::move(conn);
      abandoned_ = false;
      backend_pid_ = conn_->backend_pid();
      std::lock_guard<std::mutex> lock(mu_);
      health_ = absl::OkStatus();
      LogLine("storage: reconnected to the database\n");
      return;
    }
    backoff = std::min(options_.reconnect_max, backoff * 2);
  }
}

void GroupWriter::RunBatch(std::vector<Item>* batch) {
  constexpr int kMaxRuns = 5;  // Deadlock / serialisation failures in a row before giving up.
  for (int run = 1; !batch->empty(); ++run) {
    if (!conn_->ok()) return AnswerAll(batch, absl::UnavailableError("postgres: the database is unreachable"));
    absl::Status begun = Inject("begin");
    if (begun.ok()) begun = conn_->Run("BEGIN ISOLATION LEVEL READ COMMITTED");
    Tx tx(conn_.get());
    if (begun.ok()) begun = tx.head().status();  // The head row first, always (one lock order).
    if (!begun.ok()) {
      conn_->Run("ROLLBACK").IgnoreError();
      if (!conn_->ok() || IsSessionLevel(SqlState(begun))) Abandon();
      return AnswerAll(batch, begun);
    }
    std::vector<absl::Status> outcome(batch->size());  // OK, or the op's own refusal.
    absl::Status fatal;  // Ends the transaction for every op.
    for (size_t i = 0; i < batch->size(); ++i) {
      const Head before = tx.current_head();
      absl::Status s = conn_->Run("SAVEPOINT op");
      if (s.ok()) s = (*batch)[i].op(tx);
      if (s.ok()) s = conn_->Run("RELEASE SAVEPOINT op");
      if (s.ok()) continue;
      const std::string state = SqlState(s);
      if (!conn_->ok() || IsSessionLevel(state) || state == "40001" || state == "40P01") {
        fatal = s;
        break;
      }
      absl::Status undone = conn_->Run("ROLLBACK TO SAVEPOINT op");
      if (!undone.ok()) {
        fatal = undone;
        break;
      }
      tx.RestoreHead(before);
      outcome[i] = std::move(s);
    }
    if (!fatal.ok()) {
      conn_->Run("ROLLBACK").IgnoreError();
      const std::string state = SqlState(fatal);
      if (!conn_->ok() || IsSessionLevel(state)) {
        Abandon();
        return AnswerAll(batch, absl::UnavailableError(absl::StrCat("postgres: ", fatal.message())));
      }
      if ((state == "40001" || state == "40P01") && run < kMaxRuns) continue;  // Deadlock: run it all again.
      return AnswerAll(batch, fatal);
    }
    absl::Status committed;
    if (!(tx.current_head() == tx.read_head())) {
      const Head& h = tx.current_head();
      committed = conn_->Run(
          "UPDATE portcullis_head SET audit_size = $1, audit_head = $2, next_seq = $3, next_position = $4 "
          "WHERE id = 1",
          {h.audit_size, h.audit_head, h.next_seq, h.next_position});
    }
    if (committed.ok()) committed = Inject("commit");
    if (!committed.ok()) {
      conn_->Run("ROLLBACK").IgnoreError();
      if (!conn_->ok() || IsSessionLevel(SqlState(committed))) Abandon();
      return AnswerAll(batch, committed);
    }
    committed = conn_->Run("COMMIT");
    if (!committed.ok()) {
      if (!conn_->ok()) {
        // Sent, answer lost with the connection: it may have committed.
        Abandon();
        return AnswerAll(batch, absl::UnknownError(absl::StrCat(
                                    "postgres: the connection was lost during COMMIT; the outcome is unknown (",
                                    committed.message(), ")")));
      }
      const std::string state = SqlState(committed);
      if ((state == "40001" || state == "40P01") && run < kMaxRuns) continue;
      return AnswerAll(batch, committed);
    }
    batches_.fetch_add(1);
    // In submission order: the committed ones' callbacks learn indexes in order.
    for (size_t i = 0; i < batch->size(); ++i) {
      if (outcome[i].ok()) ops_.fetch_add(1);
      std::vector<Item> one;
      one.push_back(std::move((*batch)[i]));
      AnswerAll(&one, outcome[i]);
    }
    batch->clear();
    return;
  }
}

}  // namespace portcullis::pg
