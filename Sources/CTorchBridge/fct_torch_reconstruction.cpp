// fct_torch_reconstruction.cpp: a small self-supervised objective that proves the objective seam — a linear head
// predicting a coarse copy of the input volume (its mean over a grid of blocks) from the pooled features, MSE loss.
#include "fct_torch_objective.h"

namespace fct {
namespace {

namespace nn = torch::nn;

/// Batch: "volumes" [B, 1, D, H, W] and "coarse" [B, cells] (the site computes the block means); setting "cells".
class ReconstructionObjective : public Objective {
public:
    ReconstructionObjective(nn::Module &net, int64_t features, const Settings &settings) : cells_(settings.integer("cells", 1)) {
        decoder_ = net.register_module("decoder", nn::Linear(features, cells_));
    }

    torch::Tensor loss(const Encoder &encoder, const Batch &batch) override {
        return torch::mse_loss(predict(encoder, batch), batch.at("coarse", {cells_}));
    }

    torch::Tensor predict(const Encoder &encoder, const Batch &batch) override {
        return decoder_->forward(encoder.embed(batch.at("volumes", {1, -1, -1, -1})));
    }

    int64_t output_size() const override { return cells_; }

private:
    int64_t cells_;
    nn::Linear decoder_{nullptr};
};

}  // namespace

ObjectiveFactory reconstruction_objective() {
    return [](nn::Module &net, int64_t features, const Settings &settings) {
        return std::make_unique<ReconstructionObjective>(net, features, settings);
    };
}

}  // namespace fct
