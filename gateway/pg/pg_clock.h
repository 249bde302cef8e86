// Now on the database's clock, in microseconds since the epoch, as SQL text
// (docs/cluster.md): every lease, heartbeat and claim is written and compared
// on this one clock, never a replica's own. A macro so that it can be pasted
// into statement literals ("... WHERE expires_micros < " PORTCULLIS_PG_NOW_MICROS).
#ifndef PORTCULLIS_GATEWAY_PG_PG_CLOCK_H_
#define PORTCULLIS_GATEWAY_PG_PG_CLOCK_H_

#define PORTCULLIS_PG_NOW_MICROS "(extract(epoch from clock_timestamp())*1e6)::bigint"

namespace portcullis::pg {

inline constexpr char kNowMicros[] = PORTCULLIS_PG_NOW_MICROS;

}  // namespace portcullis::pg

#endif  // PORTCULLIS_GATEWAY_PG_PG_CLOCK_H_
