// fct_torch_tte.cpp: the time-to-event objective's parts — the MOTOR head and the piecewise-exponential loss.
#include "fct_torch_objective.h"

#include <cmath>
#include <stdexcept>

namespace fct {
namespace {

namespace nn = torch::nn;

/// The MOTOR head: h → M = reshape(W h + b) ∈ R^{P×K}; z_pt = β_t·M_p + c_t (log2 hazard).
struct TTEHeadImpl : nn::Module {
    nn::Linear proj{nullptr};
    torch::Tensor beta, task_bias;
    int64_t pieces, rank;

    TTEHeadImpl(int64_t features, int64_t tasks, int64_t pieces, int64_t rank, const torch::Tensor &base)
        : pieces(pieces), rank(rank) {
        proj = register_module("proj", nn::Linear(features, pieces * rank));
        beta = register_parameter("beta", torch::randn({tasks, rank}) * (1.0 / std::sqrt(double(rank))));
        task_bias = register_parameter("task_bias", base.defined() ? base.clone() : torch::zeros({tasks}));
    }

    torch::Tensor forward(const torch::Tensor &h) {
        auto m = proj->forward(h).view({h.size(0), pieces, rank});
        return torch::matmul(m, beta.t()) + task_bias;
    }
};
TORCH_MODULE(TTEHead);

/// The piecewise-exponential negative log-likelihood, in log space and float64: λ·t = exp(z·ln 2 + ln t), so a piece
/// with no time at risk contributes exactly 0 (ln 0 = −∞) however large its hazard, and 2^z overflows only beyond
/// |z| ≈ 1000 instead of 128. The gradient flows back to the float32 logits.
torch::Tensor tte_loss(const torch::Tensor &log2_hazard, const torch::Tensor &time_at_risk, const torch::Tensor &event) {
    auto log_hazard = log2_hazard.to(torch::kFloat64) * std::log(2.0);
    auto exposure = torch::exp(log_hazard + torch::log(time_at_risk.to(torch::kFloat64)));
    return torch::mean(exposure) - torch::mean(event.to(torch::kFloat64) * log_hazard);
}

/// Time-to-event pretraining (MOTOR head on the pooled features). Batch: "volumes" [B, 1, D, H, W], "time_at_risk"
/// and "event" [B, P, T]. Settings: "tasks", "pieces", "rank", optional "task_log2_base_hazard" [tasks].
class TTEObjective : public Objective {
public:
    TTEObjective(nn::Module &net, int64_t features, const Settings &settings)
        : tasks_(settings.integer("tasks", 1)), pieces_(settings.integer("pieces", 1)) {
        auto rank = settings.integer("rank", 1);
        head_ = net.register_module("head", TTEHead(features, tasks_, pieces_, rank, settings.vector("task_log2_base_hazard", tasks_)));
    }

    torch::Tensor loss(const Encoder &encoder, const Batch &batch) override {
        return tte_loss(predict(encoder, batch), batch.at("time_at_risk", {pieces_, tasks_}), batch.at("event", {pieces_, tasks_}));
    }

    torch::Tensor predict(const Encoder &encoder, const Batch &batch) override {
        return head_->forward(encoder.embed(batch.at("volumes", {1, -1, -1, -1})));
    }

    int64_t output_size() const override { return pieces_ * tasks_; }

private:
    int64_t tasks_, pieces_;
    TTEHead head_{nullptr};
};

}  // namespace

ObjectiveFactory tte_objective() {
    return [](nn::Module &net, int64_t features, const Settings &settings) { return std::make_unique<TTEObjective>(net, features, settings); };
}

/// The loss alone on given log2 hazards, for the C ABI's fct_torch_tte_loss.
torch::Tensor time_to_event_loss(const torch::Tensor &log2_hazard, const torch::Tensor &time_at_risk, const torch::Tensor &event) {
    return tte_loss(log2_hazard, time_at_risk, event);
}

}  // namespace fct
