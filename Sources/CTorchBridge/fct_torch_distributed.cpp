// fct_torch_distributed.cpp: data-parallel groups over libtorch's c10d ProcessGroupGloo (TCP rendezvous store, Gloo transport).
// Debian's libtorch is built with Gloo (it links libgloo.so.0); its c10d header declares ProcessGroupGloo only when told.
#define USE_C10D_GLOO 1

#include "fct_torch.h"
#include "fct_torch_group.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <stdexcept>

namespace fct {
namespace {

class GlooGroup : public Group {
public:
    /// Checks the arguments every store shares and returns the group's timeout.
    static std::chrono::milliseconds checked(int32_t rank, int32_t size, double timeout_seconds) {
        if (size < 1 || rank < 0 || rank >= size) throw std::invalid_argument("a group needs 0 ≤ rank < size, got rank " + std::to_string(rank) + " of " + std::to_string(size));
        if (!(timeout_seconds > 0)) throw std::invalid_argument("the group's timeout must be positive");
        return std::chrono::milliseconds(int64_t(timeout_seconds * 1000));
    }

    GlooGroup(const c10::intrusive_ptr<c10d::Store> &store, int32_t rank, int32_t size, const std::string &interface_host,
              std::chrono::milliseconds timeout)
        : rank_(rank), size_(size) {
        auto gloo = c10d::ProcessGroupGloo::Options::create();
        gloo->timeout = timeout;
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(interface_host));
        group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo);
    }

    void sum(torch::Tensor &tensor) override {
        std::vector<torch::Tensor> tensors{tensor};
        group_->allreduce(tensors)->wait();
    }

    void broadcast(torch::Tensor &tensor) override {
        std::vector<torch::Tensor> tensors{tensor};
        c10d::BroadcastOptions options;
        options.rootRank = 0;
        group_->broadcast(tensors, options)->wait();
    }

    int64_t rank() const override { return rank_; }
    int64_t size() const override { return size_; }

private:
    int64_t rank_, size_;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

}  // namespace

std::shared_ptr<Group> make_gloo_group(const std::string &store_host, int32_t store_port, int32_t rank, int32_t size,
                                       const std::string &interface_host, double timeout_seconds) {
    auto timeout = GlooGroup::checked(rank, size, timeout_seconds);
    if (store_port < 1 || store_port > 65535) throw std::invalid_argument("the rendezvous port must be 1 to 65535, got " + std::to_string(store_port));
    c10d::TCPStoreOptions options;
    options.port = uint16_t(store_port);
    options.isServer = rank == 0;
    options.numWorkers = size_t(size);
    options.waitWorkers = true;
    options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(store_host, options);
    return std::make_shared<GlooGroup>(store, rank, size, interface_host, timeout);
}

std::shared_ptr<Group> make_gloo_file_group(const std::string &path, int32_t rank, int32_t size, const std::string &interface_host,
                                            double timeout_seconds) {
    auto timeout = GlooGroup::checked(rank, size, timeout_seconds);
    auto store = c10::make_intrusive<c10d::FileStore>(path, size);
    store->setTimeout(timeout);
    return std::make_shared<GlooGroup>(store, rank, size, interface_host, timeout);
}

}  // namespace fct
