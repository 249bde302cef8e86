// portcullis-admin stats as a table (docs/tools.md): one row per destination,
// the answering replica, and the replicas sharing the database (issue 15,
// docs/cluster.md "Operators").
#ifndef PORTCULLIS_TOOLS_ADMIN_STATS_OUTPUT_H_
#define PORTCULLIS_TOOLS_ADMIN_STATS_OUTPUT_H_

#include <ostream>

#include "portcullis/v1/admin.pb.h"

namespace portcullis::admin_tool {

void PrintStats(std::ostream& out, const v1::DeliveryStats& stats);

}  // namespace portcullis::admin_tool

#endif  // PORTCULLIS_TOOLS_ADMIN_STATS_OUTPUT_H_
