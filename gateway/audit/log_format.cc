#include "gateway/audit/log_format.h"

#include <cstdio>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/common/digest.h"

namespace portcullis {

const char kGenesisHash[] = "0000000000000000000000000000000000000000000000000000000000000000";

namespace {

constexpr absl::string_view kHashKey = ",\"hash\":\"";
constexpr absl::string_view kPrevKey = ",\"prev\":\"";
constexpr size_t kHexLen = 64;

// A caller's string, cut to kMaxFieldBytes (at a UTF-8 boundary) with a
// marker saying how long it was: one request cannot make a huge record.
void AppendCapped(absl::string_view value, std::string* out) {
  if (value.size() <= kMaxFieldBytes) {
    AppendJsonString(value, out);
    return;
  }
  size_t cut = kMaxFieldBytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  AppendJsonString(absl::StrCat(value.substr(0, cut), "...[cut: ", value.size(), " bytes in all]"), out);
}

void Field(absl::string_view key, absl::string_view value, std::string* out) {
  out->append(",\"");
  out->append(key.data(), key.size());
  out->append("\":");
  AppendCapped(value, out);
}

absl::Status Bad(absl::string_view what) { return absl::DataLossError(absl::StrCat("malformed record: ", what)); }

// A reader for the flat JSON objects SealLine writes: string, number and
// array-of-string values, keys in any order.
class FlatJsonReader {
 public:
  explicit FlatJsonReader(absl::string_view s) : s_(s) {}

  absl::Status Read(AuditRecord* r, int* version) {
    if (!Eat('{')) return Bad("does not start with '{'");
    bool first = true;
    while (!Eat('}')) {
      if (!first && !Eat(',')) return Bad(absl::StrCat("expected ',' at byte ", pos_));
      first = false;
      std::string key;
      if (!String(&key)) return Bad(absl::StrCat("expected a key at byte ", pos_));
      if (!Eat(':')) return Bad(absl::StrCat("expected ':' after \"", key, "\""));
      absl::Status s = Value(key, r);
      if (!s.ok()) return s;
    }
    if (pos_ != s_.size()) return Bad("trailing bytes after the object");
    // v1 lines have no "v" key and none of v2's keys; a v2 line says so.
    if (version_ == 0) {
      if (saw_v2_key_) return Bad("a v2 key in a record without \"v\":2");
      version_ = 1;
    }
    *version = static_cast<int>(version_);
    return absl::OkStatus();
  }

 private:
  absl::Status Number(const std::string& key, uint64_t* out) {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    if (pos_ == start || !absl::SimpleAtoi(s_.substr(start, pos_ - start), out)) {
      return Bad(absl::StrCat(key, " is not a number"));
    }
    return absl::OkStatus();
  }

  absl::Status Value(const std::string& key, AuditRecord* r) {
    if (key == "index") return Number(key, &r->index);
    if (key == "v") {
      absl::Status s = Number(key, &version_);
      if (!s.ok()) return s;
      if (version_ != 2) return Bad(absl::StrCat("record format version ", version_, " is not known (1 and 2 are)"));
      return absl::OkStatus();
    }
    if (key == "count" || key == "range_first" || key == "range_last") {
      saw_v2_key_ = true;
      return Number(key, key == "count" ? &r->count : key == "range_first" ? &r->range_first : &r->range_last);
    }
    if (key == "officer_verified") {
      saw_v2_key_ = true;
      if (s_.substr(pos_, 4) == "true") {
        r->officer_verified = true;
        pos_ += 4;
      } else if (s_.substr(pos_, 5) == "false") {
        r->officer_verified = false;
        pos_ += 5;
      } else {
        return Bad("officer_verified is not true or false");
      }
      return absl::OkStatus();
    }
    if (key == "recipients") {
      if (!Eat('[')) return Bad("recipients is not an array");
      r->recipients.clear();
      bool first = true;
      while (!Eat(']')) {
        if (!first && !Eat(',')) return Bad("expected ',' in recipients");
        first = false;
        std::string v;
        if (!String(&v)) return Bad("recipients holds a non-string");
        r->recipients.push_back(std::move(v));
      }
      return absl::OkStatus();
    }
    std::string v;
    if (!String(&v)) return Bad(absl::StrCat(key, " is not a string"));
    std::string* target = nullptr;
    if (key == "time") {
      auto t = ParseRecordTime(v);
      if (!t.ok()) return Bad(t.status().message());
      r->time_micros = *t;
      return absl::OkStatus();
    }
    if (key == "action") target = &r->action;
    else if (key == "actor_party") target = &r->actor_party;
    else if (key == "actor_officer") target = &r->actor_officer;
    else if (key == "message_id") target = &r->message_id;
    else if (key == "case_reference") target = &r->case_reference;
    else if (key == "sender") target = &r->sender;
    else if (key == "classification") target = &r->classification;
    else if (key == "handling") target = &r->handling;
    else if (key == "justification") target = &r->justification;
    else if (key == "outcome") target = &r->outcome;
    else if (key == "reason") target = &r->reason;
    else if (key == "detail") target = &r->detail;
    else if (key == "payload_sha256") target = &r->payload_sha256;
    else if (key == "peer") target = &r->peer;
    else if (key == "correlation_id") target = &r->correlation_id;
    else if (key == "request_id") target = &r->request_id;
    else if (key == "replica_id") target = &r->replica_id;
    if (key == "correlation_id" || key == "request_id" || key == "replica_id") saw_v2_key_ = true;
    if (target != nullptr) *target = std::move(v);
    return absl::OkStatus();  // prev, hash and unknown keys: read and ignored here.
  }

  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool String(std::string* out) {
    if (!Eat('"')) return false;
    out->clear();
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out->push_back(e); break;
        case 'n': out->push_back('\n'); break;
        case 't': out->push_back('\t'); break;
        case 'r': out->push_back('\r'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return false;
          uint32_t cp = 0;
          for (int k = 0; k < 4; ++k) {
            int d = HexDigit(s_[pos_++]);
            if (d < 0) return false;
            cp = cp * 16 + static_cast<uint32_t>(d);
          }
          AppendUtf8(cp, out);  // The writer never emits surrogates.
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  absl::string_view s_;
  size_t pos_ = 0;
  uint64_t version_ = 0;  // 0 until a "v" key is read.
  bool saw_v2_key_ = false;
};

bool IsHex64(absl::string_view s) { return IsLowerHexSha256(s); }

}  // namespace

std::string FormatRecordTime(int64_t micros) {
  time_t secs = static_cast<time_t>(micros / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(micros % 1000000));
  return buf;
}

absl::StatusOr<int64_t> ParseRecordTime(absl::string_view text) {
  int y, mo, d, h, mi, s, us;
  char z;
  std::string t(text);
  if (t.size() != 27 || std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%6d%c", &y, &mo, &d, &h, &mi, &s, &us, &z) != 8 ||
      z != 'Z') {
    return absl::InvalidArgumentError(absl::StrCat("time '", text, "' is not YYYY-MM-DDTHH:MM:SS.uuuuuuZ"));
  }
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + us;
}

std::string SealLine(const AuditRecord& r, absl::string_view prev_hash, std::string* hash) {
  std::string out;
  out.reserve(768);
  absl::StrAppend(&out, "{\"index\":", r.index, ",\"v\":", kRecordFormatVersion);
  Field("time", FormatRecordTime(r.time_micros), &out);
  Field("action", r.action, &out);
  Field("actor_party", r.actor_party, &out);
  Field("actor_officer", r.actor_officer, &out);
  absl::StrAppend(&out, ",\"officer_verified\":", r.officer_verified ? "true" : "false");
  Field("message_id", r.message_id, &out);
  Field("correlation_id", r.correlation_id, &out);
  Field("case_reference", r.case_reference, &out);
  Field("sender", r.sender, &out);
  out.append(",\"recipients\":[");
  for (size_t i = 0; i < r.recipients.size() && i < kMaxRecipients; ++i) {
    if (i) out.push_back(',');
    AppendCapped(r.recipients[i], &out);
  }
  if (r.recipients.size() > kMaxRecipients) {
    absl::StrAppend(&out, ",\"...[cut: ", r.recipients.size(), " recipients in all]\"");
  }
  out.push_back(']');
  Field("classification", r.classification, &out);
  Field("handling", r.handling, &out);
  Field("justification", r.justification, &out);
  Field("outcome", r.outcome, &out);
  Field("reason", r.reason, &out);
  Field("detail", r.detail, &out);
  Field("payload_sha256", r.payload_sha256, &out);
  Field("peer", r.peer, &out);
  Field("request_id", r.request_id, &out);
  Field("replica_id", r.replica_id, &out);
  absl::StrAppend(&out, ",\"count\":", r.count, ",\"range_first\":", r.range_first, ",\"range_last\":",
                  r.range_last);
  absl::StrAppend(&out, kPrevKey, prev_hash, "\"");
  *hash = Sha256Hex(out);
  absl::StrAppend(&out, kHashKey, *hash, "\"}");
  return out;
}

absl::StatusOr<LineHeader> CheckLine(absl::string_view line) {
  // Tail: ,"prev":"<64>","hash":"<64>"}
  const size_t tail = kPrevKey.size() + kHexLen + 1 + kHashKey.size() + kHexLen + 2;
  constexpr absl::string_view kIndexKey = "{\"index\":";
  if (line.size() < kIndexKey.size() + tail || line.substr(0, kIndexKey.size()) != kIndexKey) {
    return Bad("not a record line");
  }
  const size_t hash_at = line.size() - 2 - kHexLen - kHashKey.size();
  const size_t prev_at = hash_at - 1 - kHexLen - kPrevKey.size();
  if (line.substr(hash_at, kHashKey.size()) != kHashKey || line.substr(line.size() - 2) != "\"}" ||
      line.substr(prev_at, kPrevKey.size()) != kPrevKey || line[hash_at - 1] != '"') {
    return Bad("the prev/hash fields are missing or out of place");
  }
  LineHeader h;
  h.prev = std::string(line.substr(prev_at + kPrevKey.size(), kHexLen));
  h.hash = std::string(line.substr(hash_at + kHashKey.size(), kHexLen));
  if (!IsHex64(h.prev) || !IsHex64(h.hash)) return Bad("prev/hash are not 64 lower-case hex digits");
  size_t i = kIndexKey.size(), start = i;
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  if (i == start || i >= line.size() || line[i] != ',' || !absl::SimpleAtoi(line.substr(start, i - start), &h.index)) {
    return Bad("index is not a number");
  }
  if (Sha256Hex(line.substr(0, hash_at)) != h.hash) {
    return absl::DataLossError("record bytes do not match its hash");
  }
  return h;
}

absl::StatusOr<AuditRecord> ParseLine(absl::string_view line, int* version) {
  AuditRecord r;
  FlatJsonReader reader(line);
  int v = 0;
  absl::Status s = reader.Read(&r, &v);
  if (!s.ok()) return s;
  if (version != nullptr) *version = v;
  return r;
}

}  // namespace portcullis
