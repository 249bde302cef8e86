// Append-only audit log in one file of JSON lines, with group commit: one
// writer thread takes every record queued since its last write, writes them
// with one write(2) and makes them durable with one fdatasync(2), then calls
// their `done` callbacks. Concurrent requests therefore share fsyncs instead
// of queueing behind one another.
//
// Open() recovers after a crash: a torn last line (no trailing newline) is
// truncated; complete lines are kept. A new file's directory is fsynced.
// The destructor drains the queue and stops the writer.
#ifndef PORTCULLIS_GATEWAY_AUDIT_FILE_AUDIT_LOG_H_
#define PORTCULLIS_GATEWAY_AUDIT_FILE_AUDIT_LOG_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/audit/audit_log.h"

namespace portcullis {

class FileAuditLog final : public AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<FileAuditLog>> Open(const std::string& path);
  ~FileAuditLog() override;

  void Append(AuditRecord record, Done done) override;
  absl::Status Health() const override;

  // Records in the file (the next record's index).
  uint64_t size() const;
  // Batches written so far (each one fdatasync); for tests and benchmarks.
  uint64_t sync_count() const;

 private:
  FileAuditLog(std::string path, int fd, uint64_t next_index);
  void WriterLoop();

  const std::string path_;
  const int fd_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<AuditRecord, Done>> pending_;
  bool stopping_ = false;
  absl::Status failed_;
  uint64_t next_index_;
  uint64_t syncs_ = 0;
  std::thread writer_;
};

}  // namespace portcullis

#endif  // PORTCULLIS_GATEWAY_AUDIT_FILE_AUDIT_LOG_H_
