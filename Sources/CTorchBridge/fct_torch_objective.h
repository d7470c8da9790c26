// fct_torch_objective.h: the bridge's internal seam for pretraining objectives — named batches, settings, and the
// interface an objective's parts (heads, towers, loss) implement. Not part of the C ABI: only the bridge's C++ files
// include it. One translation unit per objective (fct_torch_tte.cpp, …), listed once in fct_torch_objectives.cpp.
#ifndef FCT_TORCH_OBJECTIVE_H
#define FCT_TORCH_OBJECTIVE_H

#include "fct_torch.h"
#include "fct_torch_encoders.h"

#include <torch/nn.h>

#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fct {

/// Named tensors lent by the caller for one call (see fct_torch_tensor): inputs and targets, examples along dim 0.
class Batch {
public:
    /// Wraps `count` C tensors without copying; throws std::invalid_argument for a malformed one or a name twice, or when
    /// the tensors disagree on the number of examples.
    Batch(const fct_torch_tensor *tensors, int32_t count);
    /// True when the batch has a tensor `name` (an optional input).
    bool has(const std::string &name) const { return tensors_.count(name) > 0; }
    /// The tensor `name`, throwing std::invalid_argument naming it when the batch lacks it.
    const torch::Tensor &at(const std::string &name) const;
    /// The tensor `name` after checking its shape past the examples dimension is `shape` (-1: any extent).
    const torch::Tensor &at(const std::string &name, const std::vector<int64_t> &shape) const;
    /// Examples in the batch (0 for a batch without tensors).
    int64_t size() const { return size_; }
    /// Examples [start, start + length) of every tensor (views, not copies).
    Batch slice(int64_t start, int64_t length) const;

private:
    Batch() = default;
    std::map<std::string, torch::Tensor> tensors_;
    int64_t size_ = 0;
};

/// An objective's settings by name, copied from the model configuration.
class Settings {
public:
    Settings(const fct_torch_tensor *settings, int32_t count);
    /// A scalar setting as an integer ≥ `minimum`; throws std::invalid_argument naming it when absent or out of range.
    int64_t integer(const std::string &name, int64_t minimum) const;
    /// A scalar setting, or `fallback` when absent.
    double number(const std::string &name, double fallback) const;
    /// A float32 vector setting of `count` values, or an undefined tensor when absent.
    torch::Tensor vector(const std::string &name, int64_t count) const;

private:
    std::map<std::string, torch::Tensor> values_;
};

/// One objective's parts on a model: it registers its modules on the network when built, then computes the loss of a
/// batch, its outputs and its embeddings. The encoder is the objective's input stage, independent of it.
class Objective {
public:
    virtual ~Objective() = default;
    /// The batch's mean loss (a scalar, differentiable).
    virtual torch::Tensor loss(const Encoder &encoder, const Batch &batch) = 0;
    /// The objective's outputs [examples, output_size()] in evaluation mode.
    virtual torch::Tensor predict(const Encoder &encoder, const Batch &batch) = 0;
    /// Floats per example of predict().
    virtual int64_t output_size() const = 0;
    /// The embedding [examples, embedding_size()] the probes read: the encoder's pooled features unless overridden.
    virtual torch::Tensor embed(const Encoder &encoder, const Batch &batch) { return encoder.embed(batch.at("volumes", {1, -1, -1, -1})); }
    virtual int64_t embedding_size(const Encoder &encoder) const { return encoder.features; }
    /// False when the loss couples the examples of a batch (contrastive losses): DP-SGD cannot clip per example.
    virtual bool per_example_loss() const { return true; }
    /// Whether the optimiser's weight decay applies to the network parameter `name` (every parameter unless overridden).
    virtual bool decays(const std::string &name, const torch::Tensor &parameter) const { return true; }
    /// True when the loss is computed from per-example features (`features`, `loss_of_features`), as a contrastive
    /// loss is: a step's micro-batches can then share one loss through cached features (open_clip's accum_freq).
    virtual bool has_features() const { return false; }
    /// The batch's per-example features (each tensor [examples, …]) from which `loss_of_features` computes its loss.
    virtual std::vector<torch::Tensor> features(const Encoder &encoder, const Batch &batch) {
        throw std::invalid_argument("this objective's loss is not computed from per-example features");
    }
    /// The mean loss of a batch from its features (each `features` tensor, concatenated over the batch's micro-batches).
    /// `own_gradients`: whether the loss's own parameters (a logit scale and bias) take part in the graph; a step over
    /// cached features passes true for one micro-batch only, so they get the whole batch's gradient exactly once.
    virtual torch::Tensor loss_of_features(const std::vector<torch::Tensor> &features, bool own_gradients) {
        throw std::invalid_argument("this objective's loss is not computed from per-example features");
    }
};

/// Builds an objective: registers its modules on `net` (after the encoder, before the encoder's initialisation, so the
/// random draws keep their order) for an encoder with `features` pooled features.
using ObjectiveFactory = std::function<std::unique_ptr<Objective>(torch::nn::Module &net, int64_t features, const Settings &settings)>;

/// The registered objectives by name (fct_torch_objectives.cpp lists them).
const std::map<std::string, ObjectiveFactory> &objectives();

/// Each objective's factory, defined in its own translation unit.
ObjectiveFactory tte_objective();
ObjectiveFactory reconstruction_objective();
ObjectiveFactory hlip_objective();
ObjectiveFactory medform_objective();

/// The time-to-event loss alone on given log2 hazards (fct_torch_tte.cpp), for the C ABI.
torch::Tensor time_to_event_loss(const torch::Tensor &log2_hazard, const torch::Tensor &time_at_risk, const torch::Tensor &event);

}  // namespace fct

#endif
