#include "gateway/pg/pg_writer.h"

#include <cstdio>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"

namespace portcullis::pg {

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
  auto conn = Connection::Open(options.dsn, options.connect_timeout_seconds);
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
  // Queued behind everything already queued; answered in order (or at once
  // while disconnected, when nothing queued is left waiting).
  Run([](Tx&) { return absl::OkStatus(); }).IgnoreError();
}

absl::Status GroupWriter::Inject(absl::string_view point) const {
  return options_.fault_injector ? options_.fault_injector(point) : absl::OkStatus();
}

void GroupWriter::AnswerAll(std::vector<Item>* items, const absl::Status& status) {
  if (!status.ok() && !conn_->ok()) {
    // Unhealthy before anyone hears of the failure (Reconnect, next, says it
    // too): a caller whose op failed and who then asks Health() sees it.
    std::lock_guard<std::mutex> lock(mu_);
    health_ = absl::UnavailableError("postgres: the database is unreachable; reconnecting");
  }
  for (Item& item : *items) item.done(status);
  items->clear();
}

void GroupWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!cv_.wait_for(lock, options_.idle_probe, [this] { return stopping_ || !pending_.empty(); })) {
      // Idle: a server gone meanwhile must turn Health() UNAVAILABLE now, not
      // at the next write (gRPC health goes NOT_SERVING while nothing is sent).
      lock.unlock();
      conn_->Run("SELECT 1").IgnoreError();
      if (!conn_->ok()) Reconnect(absl::UnavailableError("postgres: the connection to the database was lost"));
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
    if (!conn_->ok()) Reconnect(absl::UnavailableError("postgres: the connection to the database was lost"));
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
  std::fprintf(stderr, "portcullis: storage: %s; refusing writes until it is back\n",
               std::string(cause.message()).c_str());
  AnswerAll(&queued, absl::UnavailableError("postgres: the database is unreachable"));
  backend_pid_ = 0;
  std::chrono::milliseconds backoff = options_.reconnect_min;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, backoff, [this] { return stopping_; })) return;  // Stays unhealthy.
    }
    auto conn = Connection::Open(options_.dsn, options_.connect_timeout_seconds);
    if (conn.ok()) {
      conn_ = *std::move(conn);
      backend_pid_ = conn_->backend_pid();
      std::lock_guard<std::mutex> lock(mu_);
      health_ = absl::OkStatus();
      std::fprintf(stderr, "portcullis: storage: reconnected to the database\n");
      return;
    }
    backoff = std::min(options_.reconnect_max, backoff * 2);
  }
}

void GroupWriter::RunBatch(std::vector<Item>* batch) {
  while (!batch->empty()) {
    if (!conn_->ok()) return AnswerAll(batch, absl::UnavailableError("postgres: the database is unreachable"));
    absl::Status begun = Inject("begin");
    if (begun.ok()) begun = conn_->Run("BEGIN");
    if (!begun.ok()) return AnswerAll(batch, begun);
    Tx tx(conn_.get());
    size_t failed = batch->size();
    absl::Status failure;
    for (size_t i = 0; i < batch->size(); ++i) {
      failure = (*batch)[i].op(tx);
      if (!failure.ok()) {
        failed = i;
        break;
      }
    }
    if (failed < batch->size()) {
      // That op's error, and the rest again in a new transaction (unless
      // the connection itself failed: then nothing can run now).
      conn_->Run("ROLLBACK").IgnoreError();
      if (!conn_->ok()) return AnswerAll(batch, absl::UnavailableError("postgres: the database is unreachable"));
      Item item = std::move((*batch)[failed]);
      batch->erase(batch->begin() + static_cast<std::ptrdiff_t>(failed));
      item.done(failure);
      continue;
    }
    absl::Status committed;
    if (tx.head_locked() && !(tx.current_head() == tx.read_head())) {
      const Head& h = tx.current_head();
      committed = conn_->Run(
          "UPDATE portcullis_head SET audit_size = $1, audit_head = $2, next_seq = $3, next_position = $4 "
          "WHERE id = 1",
          {h.audit_size, h.audit_head, h.next_seq, h.next_position});
    }
    if (committed.ok()) committed = Inject("commit");
    if (!committed.ok()) {
      conn_->Run("ROLLBACK").IgnoreError();
      return AnswerAll(batch, committed);
    }
    committed = conn_->Run("COMMIT");
    if (!committed.ok()) {
      // Sent, answer lost with the connection: it may have committed.
      if (!conn_->ok()) {
        return AnswerAll(batch, absl::UnknownError(absl::StrCat(
                                  "postgres: the connection was lost during COMMIT; the outcome is unknown (",
                                  committed.message(), ")")));
      }
      return AnswerAll(batch, committed);
    }
    batches_.fetch_add(1);
    ops_.fetch_add(batch->size());
    return AnswerAll(batch, absl::OkStatus());
  }
}

}  // namespace portcullis::pg
