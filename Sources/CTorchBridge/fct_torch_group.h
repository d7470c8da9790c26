// fct_torch_group.h: the bridge's internal interface to a data-parallel group (sums tensors over the ranks of one site).
// Not part of the C ABI. The Gloo implementation (c10d) lives in fct_torch_distributed.cpp, so its heavy headers compile once.
#ifndef FCT_TORCH_GROUP_H
#define FCT_TORCH_GROUP_H

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace fct {

/// The ranks of one site's data-parallel training: every rank calls `sum` with tensors of the same shapes in the same
/// order, and each gets back the element-wise sum over all ranks, in place.
class Group {
public:
    virtual ~Group() = default;
    virtual void sum(torch::Tensor &tensor) = 0;
    /// Rank 0's `tensor` copied into every other rank's (same shape and type at every rank).
    virtual void broadcast(torch::Tensor &tensor) = 0;
    virtual int64_t rank() const = 0;
    virtual int64_t size() const = 0;
};

/// Joins a Gloo process group of `size` ranks through a TCP rendezvous store at store_host:store_port (served by rank 0),
/// exchanging tensors over the interface of `interface_host`. Blocks until every rank joined or `timeout_seconds` passed.
std::shared_ptr<Group> make_gloo_group(const std::string &store_host, int32_t store_port, int32_t rank, int32_t size,
                                       const std::string &interface_host, double timeout_seconds);

/// The same through a c10d FileStore at `path` (a fresh file on a local file system every rank can reach): no listening
/// socket for the rendezvous, for ranks on one machine.
std::shared_ptr<Group> make_gloo_file_group(const std::string &path, int32_t rank, int32_t size, const std::string &interface_host,
                                            double timeout_seconds);

}  // namespace fct

#endif
