#include "gateway/store/cluster_view.h"

namespace portcullis {
namespace {

class EmptyClusterView final : public ClusterView {
 public:
  absl::StatusOr<std::map<std::string, std::string>> LeaseHolders() const override {
    return std::map<std::string, std::string>{};
  }
  absl::StatusOr<std::vector<ReplicaRow>> Replicas() const override { return std::vector<ReplicaRow>{}; }
};

}  // namespace

std::unique_ptr<ClusterView> NoClusterView() { return std::make_unique<EmptyClusterView>(); }

}  // namespace portcullis
