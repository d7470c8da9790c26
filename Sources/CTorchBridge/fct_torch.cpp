// fct_torch.cpp: FedCT's libtorch bridge — the C ABI, the network (encoder + objective), optimisers, DP-SGD, flat state.
#include "fct_torch.h"
#include "fct_torch_encoders.h"
#include "fct_torch_group.h"
#include "fct_torch_objective.h"

// The parts of libtorch used here, not <torch/torch.h>: about a fifth less compile time.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/nn.h>
#include <torch/optim.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <malloc.h>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace nn = torch::nn;

char *copy_string(const std::string &text) {
    char *out = static_cast<char *>(std::malloc(text.size() + 1));
    if (out) std::memcpy(out, text.c_str(), text.size() + 1);
    return out;
}

int32_t fail(char **error, int32_t status, const char *message) noexcept {
    if (error) *error = copy_string(message);
    return status;
}

/// Runs `body`, turning any C++ exception into a status code and a malloc'd message: the bridge's own
/// argument checks (std::invalid_argument) → FCT_TORCH_INVALID_ARGUMENT, libtorch's c10::Error →
/// FCT_TORCH_TORCH_ERROR, anything else → FCT_TORCH_INTERNAL_ERROR.
template <typename Body>
int32_t guarded(char **error, Body &&body) noexcept {
    try {
        body();
        return FCT_TORCH_OK;
    } catch (const c10::Error &e) {
        return fail(error, FCT_TORCH_TORCH_ERROR, e.what_without_backtrace());
    } catch (const std::invalid_argument &e) {
        return fail(error, FCT_TORCH_INVALID_ARGUMENT, e.what());
    } catch (const std::exception &e) {
        return fail(error, FCT_TORCH_INTERNAL_ERROR, e.what());
    } catch (...) {
        return fail(error, FCT_TORCH_INTERNAL_ERROR, "unknown C++ exception in the torch bridge");
    }
}

/// Creation seeds libtorch's global generator and then draws the initial weights from it; this lock
/// keeps the two together so that models created concurrently are still deterministic.
std::mutex creation_lock;

/// Keeps the memory of freed tensors in the process for the next training step. A step frees hundreds of MB of
/// activations and gradients at once; with glibc's default (dynamic) thresholds the top of the heap was then returned
/// to the kernel (trimmed) and the next step faulted the same pages in again, zero-filled: at 64³ (ResNet-18, batch 1)
/// about 74 000 page faults and 0.1 s per step, a quarter of it. Blocks up to 32 MiB (glibc's largest mmap threshold)
/// now come from the heap and up to 1 GiB of free heap top is kept; larger blocks are still mapped per allocation.
/// Process-wide, set once, at the first model's creation.
void keep_freed_tensor_memory() {
#if defined(__GLIBC__)
    static std::once_flag once;
    std::call_once(once, [] {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    });
#endif
}

/// The encoder (registered under MONAI's names, see fct_torch_encoders.cpp) with the objective's parts (registered under
/// the objective's names, e.g. the time-to-event objective's `head`).
struct NetImpl : nn::Module {
    fct::Encoder encoder;
    std::unique_ptr<fct::Objective> objective;

    explicit NetImpl(const fct_torch_model_config &c) {
        std::string name = c.objective ? c.objective : "";
        auto factory = fct::objectives().find(name);
        if (factory == fct::objectives().end()) {
            throw std::invalid_argument("unknown objective '" + name + "' (the bridge has: " + std::string(fct_torch_objective_names()) + ")");
        }
        fct::Settings settings(c.settings, c.setting_count);
        encoder = fct::register_encoder(*this, c);
        objective = factory->second(*this, encoder.features, settings);
        fct::initialise_encoder(*this, c);
    }
};
TORCH_MODULE(Net);

/// The optimiser's parameter groups of `net`: the parameters its objective decays, with `options`, then (when there are
/// any) those it exempts, with the same options but no weight decay (open_clip's exclusion of biases, norms, scales).
template <typename Options>
std::vector<torch::optim::OptimizerParamGroup> decay_groups(const Net &net, const Options &options) {
    std::vector<torch::Tensor> decayed, exempt;
    for (const auto &item : net->named_parameters()) {
        (net->objective->decays(item.key(), item.value()) ? decayed : exempt).push_back(item.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, std::make_unique<Options>(options));
    if (!exempt.empty()) {
        auto undecayed = options;
        undecayed.weight_decay(0);
        groups.emplace_back(exempt, std::make_unique<Options>(undecayed));
    }
    return groups;
}

/// A fresh optimiser of `kind` over `net`'s parameters (weight decay on those its objective decays). SGD takes beta1 as
/// its momentum; beta2 and eps are Adam's.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(fct_torch_optimizer kind, const Net &net, double learning_rate, double weight_decay,
                                                        double beta1, double beta2, double eps) {
    if (!(learning_rate >= 0) || !std::isfinite(learning_rate)) throw std::invalid_argument("the learning rate must be finite and ≥ 0");
    if (!(weight_decay >= 0) || !std::isfinite(weight_decay)) throw std::invalid_argument("the weight decay must be finite and ≥ 0");
    switch (kind) {
    case FCT_TORCH_OPTIMIZER_ADAMW: {
        auto options = torch::optim::AdamWOptions(learning_rate).weight_decay(weight_decay).betas({beta1, beta2}).eps(eps);
        return std::make_unique<torch::optim::AdamW>(decay_groups(net, options), options);
    }
    case FCT_TORCH_OPTIMIZER_ADAM: {
        auto options = torch::optim::AdamOptions(learning_rate).weight_decay(weight_decay).betas({beta1, beta2}).eps(eps);
        return std::make_unique<torch::optim::Adam>(decay_groups(net, options), options);
    }
    case FCT_TORCH_OPTIMIZER_SGD: {
        auto options = torch::optim::SGDOptions(learning_rate).momentum(beta1).weight_decay(weight_decay);
        return std::make_unique<torch::optim::SGD>(decay_groups(net, options), options);
    }
    }
    throw std::invalid_argument("unknown optimizer kind " + std::to_string(int(kind)));
}

}  // namespace

struct fct_torch_model {
    Net net{nullptr};
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    fct_torch_model_config config;
    std::vector<std::string> names;
    std::vector<std::vector<int64_t>> shapes;
    std::vector<torch::Tensor> state;
    int64_t state_size = 0;
    /// FedProx anchor (the round's global parameters) and weight; empty / 0 when off.
    std::vector<torch::Tensor> anchor;
    double proximal_mu = 0;
    /// DP-SGD: per-sample clipping norm C (0 when off), noise multiplier σ, expected batch size, noise generator.
    double dp_clip = 0, dp_noise = 0, dp_expected_batch = 0;
    at::Generator dp_generator;
    /// Gradient accumulation: examples per forward/backward pass within a step (0: the whole batch at once).
    int64_t micro_batch_size = 0;
    /// Micro-batches share one loss through cached features (set_feature_cache).
    bool cache_features = false;
    /// Data-parallel training: the ranks whose gradients each step sums (null: this process alone).
    std::shared_ptr<fct::Group> group;

    /// The parameters' gradients as one flat float32 vector (zeros where a parameter has none yet).
    torch::Tensor flat_gradients(const std::vector<torch::Tensor> &parameters) const {
        std::vector<torch::Tensor> parts;
        for (const auto &parameter : parameters) {
            parts.push_back(parameter.grad().defined() ? parameter.grad().reshape({-1}) : torch::zeros({parameter.numel()}, parameter.options()));
        }
        return torch::cat(parts);
    }

    /// Writes a flat vector back into the parameters' gradients.
    static void set_gradients(std::vector<torch::Tensor> &parameters, const torch::Tensor &flat) {
        int64_t offset = 0;
        for (auto &parameter : parameters) {
            parameter.mutable_grad() = flat.narrow(0, offset, parameter.numel()).view(parameter.sizes()).clone();
            offset += parameter.numel();
        }
    }

    /// Sums this rank's loss total and example count over the group; throws when no rank had an example.
    std::pair<double, double> summed_over_group(double loss_total, int64_t examples) const {
        auto stats = torch::tensor({loss_total, double(examples)}, torch::kFloat64);
        group->sum(stats);
        double count = stats[1].item<double>();
        if (count < 1) throw std::invalid_argument("no rank of the data-parallel group had an example in this step");
        return {stats[0].item<double>(), count};
    }

    /// After a data-parallel step: every rank's floating-point buffers (BatchNorm running statistics, computed from its own
    /// micro-batches) are replaced by their mean over the group, so every rank holds the same state.
    void average_buffers() {
        if (!group || group->size() < 2) return;
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> buffers;
        for (auto &buffer : net->buffers(true)) {
            if (buffer.is_floating_point()) buffers.push_back(buffer);
        }
        if (buffers.empty()) return;
        std::vector<torch::Tensor> parts;
        for (auto &buffer : buffers) parts.push_back(buffer.reshape({-1}).to(torch::kFloat64));
        auto flat = torch::cat(parts);
        group->sum(flat);
        flat.div_(double(group->size()));
        int64_t offset = 0;
        for (auto &buffer : buffers) {
            buffer.copy_(flat.narrow(0, offset, buffer.numel()).view(buffer.sizes()));
            offset += buffer.numel();
        }
    }

    torch::Tensor loss(const fct::Batch &batch) { return net->objective->loss(net->encoder, batch); }

    /// DP-SGD's gradient, left in the parameters' .grad (Abadi et al. 2016, as Opacus computes it): one forward and
    /// backward per sample; each sample's whole-model gradient scaled to L2 norm ≤ C (factor min(1, C / (‖g‖ + 1e-6)));
    /// the sum plus N(0, σ²C²) noise per coordinate, divided by the expected batch size; then, unclipped and
    /// noiseless, the FedProx gradient μ(w − w₀), which does not depend on the data. An empty batch (Poisson sampling
    /// drew nobody) gives a noise-only step. Returns the mean per-sample loss, NaN for an empty batch.
    float dp_sgd_gradient(const fct::Batch &batch) {
        auto parameters = net->parameters();
        std::vector<torch::Tensor> sum;
        for (auto &parameter : parameters) sum.push_back(torch::zeros_like(parameter));
        double total_loss = 0;
        for (int64_t i = 0; i < batch.size(); i++) {
            auto value = loss(batch.slice(i, 1));
            auto gradients = torch::autograd::grad({value}, parameters, {}, c10::nullopt, false, true);
            std::vector<torch::Tensor> norms;
            for (auto &gradient : gradients) {
                if (gradient.defined()) norms.push_back(gradient.norm());
            }
            double norm = torch::stack(norms).norm().item<double>();
            double factor = std::min(1.0, dp_clip / (norm + 1e-6));
            for (size_t k = 0; k < parameters.size(); k++) {
                if (gradients[k].defined()) sum[k].add_(gradients[k], factor);
            }
            total_loss += value.item<double>();
        }
        torch::NoGradGuard no_grad;
        double examples = double(batch.size());
        if (group) {
            // The ranks' clipped sums add up to the site's; the noise below is then drawn once per site (every rank's
            // generator has the same seed, so each adds the same draw to the same sum).
            std::vector<torch::Tensor> parts;
            for (auto &part : sum) parts.push_back(part.reshape({-1}));
            auto flat = torch::cat(parts);
            group->sum(flat);
            int64_t offset = 0;
            for (auto &part : sum) {
                part.copy_(flat.narrow(0, offset, part.numel()).view(part.sizes()));
                offset += part.numel();
            }
            auto stats = torch::tensor({total_loss, examples}, torch::kFloat64);
            group->sum(stats);
            total_loss = stats[0].item<double>();
            examples = stats[1].item<double>();
        }
        for (size_t k = 0; k < parameters.size(); k++) {
            auto &gradient = sum[k];
            if (dp_noise > 0) gradient.add_(at::randn(gradient.sizes(), dp_generator, gradient.options()), dp_noise * dp_clip);
            gradient.div_(dp_expected_batch);
            if (proximal_mu > 0) gradient.add_(parameters[k] - anchor[k], proximal_mu);
            parameters[k].mutable_grad() = gradient;
        }
        return examples > 0 ? float(total_loss / examples) : std::numeric_limits<float>::quiet_NaN();
    }

    /// The batch's gradient, left in the parameters' .grad: one forward and backward per micro-batch of
    /// micro_batch_size examples (the whole batch when 0), each micro-batch's mean loss weighted by its share of the
    /// batch, so the gradients add up to the whole batch's mean-loss gradient (with the feature cache, one loss of the
    /// whole batch, `cached_feature_gradient`); then the FedProx term once. Returns the batch's mean loss.
    float accumulated_gradient(const fct::Batch &batch) {
        if (batch.size() < 1 && !group) throw std::invalid_argument("an empty batch is a training step only under DP-SGD (Poisson sampling); pass at least one example");
        int64_t size = micro_batch_size > 0 ? micro_batch_size : std::max<int64_t>(1, batch.size());
        // Alone, each micro-batch's mean loss is weighted by its share of the batch. In a group, by its example count:
        // the summed gradient is then divided by the examples over all ranks, so the step is the whole site batch's.
        double scale = group ? 1.0 : 1.0 / double(batch.size());
        double total_loss = 0;
        if (cache_features && size < batch.size()) {
            total_loss = cached_feature_gradient(batch, size);
        } else {
            for (int64_t start = 0; start < batch.size(); start += size) {
                int64_t n = std::min(size, batch.size() - start);
                auto weighted = loss(batch.slice(start, n)) * (double(n) * scale);
                weighted.backward();
                total_loss += weighted.item<double>();
            }
        }
        if (group) {
            auto [loss_sum, examples] = summed_over_group(total_loss, batch.size());
            auto parameters = net->parameters();
            auto flat = flat_gradients(parameters);
            group->sum(flat);
            set_gradients(parameters, flat.div_(examples));
            total_loss = loss_sum / examples;
        }
        if (proximal_mu > 0) {
            auto parameters = net->parameters();
            auto distance = torch::zeros({}, torch::kFloat32);
            for (size_t index = 0; index < parameters.size(); index++) distance = distance + (parameters[index] - anchor[index]).pow(2).sum();
            (0.5 * proximal_mu * distance).backward();
        }
        return float(total_loss);
    }

    /// open_clip's accum_freq: every micro-batch's features without a graph, then per micro-batch its features with
    /// one, the whole batch's loss over them and the others' cached features, and a backward pass. The gradients sum to
    /// the whole batch's loss gradient (the loss's own parameters join one pass only). Randomness in the forward pass
    /// (stochastic depth, scan positions) is drawn anew in the second pass, as in open_clip. Returns the batch's loss.
    double cached_feature_gradient(const fct::Batch &batch, int64_t size) {
        auto &objective = *net->objective;
        if (group) throw std::invalid_argument("the feature cache across micro-batches is not available with data-parallel training yet");
        std::vector<std::vector<torch::Tensor>> cache;
        {
            torch::NoGradGuard no_grad;
            for (int64_t start = 0; start < batch.size(); start += size) cache.push_back(objective.features(net->encoder, batch.slice(start, std::min(size, batch.size() - start))));
        }
        // The features of the whole batch: the cache's, with micro-batch `fresh_index`'s replaced by `fresh`.
        auto joined = [&cache](size_t fresh_index, const std::vector<torch::Tensor> &fresh) {
            std::vector<torch::Tensor> whole;
            for (size_t part = 0; part < cache.front().size(); part++) {
                std::vector<torch::Tensor> pieces;
                for (size_t index = 0; index < cache.size(); index++) pieces.push_back(index == fresh_index ? fresh.at(part) : cache[index][part]);
                whole.push_back(torch::cat(pieces));
            }
            return whole;
        };
        double total_loss;
        {
            torch::NoGradGuard no_grad;
            total_loss = objective.loss_of_features(joined(cache.size(), {}), false).item<double>();
        }
        for (size_t index = 0; index < cache.size(); index++) {
            int64_t start = int64_t(index) * size;
            auto fresh = objective.features(net->encoder, batch.slice(start, std::min(size, batch.size() - start)));
            objective.loss_of_features(joined(index, fresh), index == 0).backward();
        }
        return total_loss;
    }

    /// Copies `values` (examples × per-example floats) into `destination`, which has room for `capacity` floats.
    static void copy_out(const torch::Tensor &values, float *destination, int64_t capacity) {
        auto flat = values.to(torch::kFloat32).contiguous();
        if (!destination || capacity < flat.numel()) {
            throw std::invalid_argument("the output needs room for " + std::to_string(flat.numel()) + " floats, got " + std::to_string(capacity));
        }
        std::memcpy(destination, flat.data_ptr<float>(), sizeof(float) * flat.numel());
    }
};

struct fct_torch_group {
    std::shared_ptr<fct::Group> group;
};

extern "C" {

void fct_torch_free_string(char *string) { std::free(string); }

void fct_torch_set_num_threads(int32_t threads) {
    static std::once_flag interop;
    std::call_once(interop, [threads] {
        try {
            at::set_num_interop_threads(std::max(1, threads));
        } catch (...) {
            // Already fixed by earlier parallel work: the intra-op count below is what matters.
        }
    });
    at::set_num_threads(std::max(1, threads));
}

void fct_torch_manual_seed(uint64_t seed) { torch::manual_seed(seed); }

const char *fct_torch_version(void) { return TORCH_VERSION; }

const char *fct_torch_objective_names(void) {
    static const std::string names = [] {
        std::string joined;
        for (const auto &entry : fct::objectives()) joined += (joined.empty() ? "" : ",") + entry.first;
        return joined;
    }();
    return names.c_str();
}

int32_t fct_torch_model_create(const fct_torch_model_config *config, fct_torch_model **out, char **error) {
    return guarded(error, [&] {
        if (!config || !out) throw std::invalid_argument("config and out must not be NULL");
        keep_freed_tensor_memory();
        auto model = std::make_unique<fct_torch_model>();
        model->config = *config;
        {
            std::lock_guard<std::mutex> lock(creation_lock);
            torch::manual_seed(config->seed);
            model->net = Net(*config);
        }
        model->config.objective = nullptr;  // the caller's strings and settings are not kept
        model->config.settings = nullptr;
        model->config.setting_count = 0;
        for (auto &item : model->net->named_parameters(true)) {
            model->names.push_back(item.key());
            model->state.push_back(item.value());
        }
        for (auto &item : model->net->named_buffers(true)) {
            if (!item.value().is_floating_point()) continue;  // num_batches_tracked is a counter, not state
            model->names.push_back(item.key());
            model->state.push_back(item.value());
        }
        for (auto &tensor : model->state) {
            model->shapes.push_back(tensor.sizes().vec());
            model->state_size += tensor.numel();
        }
        model->optimizer = make_optimizer(FCT_TORCH_OPTIMIZER_ADAMW, model->net, 1e-3, 1e-2, 0.9, 0.999, 1e-8);
        *out = model.release();
    });
}

void fct_torch_model_free(fct_torch_model *model) { delete model; }

int32_t fct_torch_model_tensor_count(const fct_torch_model *model) { return int32_t(model->state.size()); }

int32_t fct_torch_model_tensor_info(const fct_torch_model *model, int32_t index, const char **name, int32_t *ndim,
                                    const int64_t **shape, int64_t *numel) {
    if (index < 0 || size_t(index) >= model->state.size()) return FCT_TORCH_INVALID_ARGUMENT;
    if (name) *name = model->names[index].c_str();
    if (ndim) *ndim = int32_t(model->shapes[index].size());
    if (shape) *shape = model->shapes[index].data();
    if (numel) *numel = model->state[index].numel();
    return FCT_TORCH_OK;
}

int64_t fct_torch_model_state_size(const fct_torch_model *model) { return model->state_size; }

int64_t fct_torch_model_embedding_dim(const fct_torch_model *model) { return model->net->objective->embedding_size(model->net->encoder); }

int64_t fct_torch_model_output_size(const fct_torch_model *model) { return model->net->objective->output_size(); }

int32_t fct_torch_model_per_example_loss(const fct_torch_model *model) { return model->net->objective->per_example_loss() ? 1 : 0; }

int32_t fct_torch_model_export_state(fct_torch_model *model, float *destination, int64_t count, char **error) {
    return guarded(error, [&] {
        if (count != model->state_size) throw std::invalid_argument("state export needs " + std::to_string(model->state_size) + " floats, got room for " + std::to_string(count));
        int64_t offset = 0;
        for (auto &tensor : model->state) {
            auto values = tensor.detach().to(torch::kFloat32).contiguous();
            std::memcpy(destination + offset, values.data_ptr<float>(), sizeof(float) * values.numel());
            offset += values.numel();
        }
    });
}

int32_t fct_torch_model_import_state(fct_torch_model *model, const float *source, int64_t count, char **error) {
    return guarded(error, [&] {
        if (count != model->state_size) throw std::invalid_argument("state import needs " + std::to_string(model->state_size) + " floats, got " + std::to_string(count));
        torch::NoGradGuard no_grad;
        int64_t offset = 0;
        for (size_t index = 0; index < model->state.size(); index++) {
            auto &tensor = model->state[index];
            tensor.copy_(torch::from_blob(const_cast<float *>(source + offset), model->shapes[index], torch::kFloat32));
            offset += tensor.numel();
        }
    });
}

int32_t fct_torch_model_reset_optimizer(fct_torch_model *model, fct_torch_optimizer kind, double learning_rate,
                                        double weight_decay, double beta1, double beta2, double eps, char **error) {
    return guarded(error, [&] {
        model->optimizer = make_optimizer(kind, model->net, learning_rate, weight_decay, beta1, beta2, eps);
    });
}

int32_t fct_torch_model_set_learning_rate(fct_torch_model *model, double learning_rate, char **error) {
    return guarded(error, [&] {
        if (!(learning_rate >= 0) || !std::isfinite(learning_rate)) throw std::invalid_argument("the learning rate must be finite and ≥ 0");
        for (auto &group : model->optimizer->param_groups()) group.options().set_lr(learning_rate);
    });
}

int32_t fct_torch_model_set_micro_batch_size(fct_torch_model *model, int64_t size, char **error) {
    return guarded(error, [&] {
        if (size < 0) throw std::invalid_argument("the micro-batch size must be ≥ 0 (0: the whole batch), got " + std::to_string(size));
        model->micro_batch_size = size;
    });
}

int32_t fct_torch_model_set_feature_cache(fct_torch_model *model, int32_t enabled, char **error) {
    return guarded(error, [&] {
        if (!model) throw std::invalid_argument("model is NULL");
        if (enabled && !model->net->objective->has_features()) {
            throw std::invalid_argument("the feature cache across micro-batches needs an objective whose loss is computed from per-example features (a contrastive loss); this model's is not");
        }
        model->cache_features = enabled != 0;
    });
}

int32_t fct_torch_model_set_proximal(fct_torch_model *model, double mu, char **error) {
    return guarded(error, [&] {
        if (!model) throw std::invalid_argument("model is NULL");
        if (!(mu >= 0)) throw std::invalid_argument("the proximal weight mu must be ≥ 0");
        model->anchor.clear();
        model->proximal_mu = mu;
        if (mu == 0) return;
        for (auto &parameter : model->net->parameters()) model->anchor.push_back(parameter.detach().clone());
    });
}

int32_t fct_torch_model_set_dp_sgd(fct_torch_model *model, double clip_norm, double noise_multiplier,
                                   double expected_batch, uint64_t seed, char **error) {
    return guarded(error, [&] {
        if (!model) throw std::invalid_argument("model is NULL");
        if (!(clip_norm >= 0) || !std::isfinite(clip_norm)) throw std::invalid_argument("the DP-SGD clipping norm must be finite and ≥ 0 (0 turns DP-SGD off)");
        if (clip_norm == 0) {
            model->dp_clip = 0;
            return;
        }
        if (!(noise_multiplier >= 0) || !std::isfinite(noise_multiplier)) throw std::invalid_argument("the DP-SGD noise multiplier must be finite and ≥ 0");
        if (!(expected_batch > 0) || !std::isfinite(expected_batch)) throw std::invalid_argument("the DP-SGD expected batch size must be finite and > 0");
        if (!model->net->objective->per_example_loss()) {
            throw std::invalid_argument("DP-SGD clips each example's gradient, but this objective's loss couples the examples of a batch (a contrastive loss): use privacy.level site instead of patient");
        }
        if (model->config.norm == FCT_TORCH_NORM_BATCH) {
            throw std::invalid_argument("DP-SGD needs per-sample gradients, but BatchNorm mixes the samples of a batch: use encoder norm: group or instance with privacy.level patient");
        }
        model->dp_clip = clip_norm;
        model->dp_noise = noise_multiplier;
        model->dp_expected_batch = expected_batch;
        model->dp_generator = at::detail::createCPUGenerator(seed);
    });
}

int32_t fct_torch_group_create(const char *store_host, int32_t store_port, int32_t rank, int32_t size, const char *interface_host,
                               double timeout_seconds, fct_torch_group **out, char **error) {
    return guarded(error, [&] {
        if (!store_host || !interface_host || !out) throw std::invalid_argument("store host, interface host and out must not be NULL");
        auto group = std::make_unique<fct_torch_group>();
        group->group = fct::make_gloo_group(store_host, store_port, rank, size, interface_host, timeout_seconds);
        *out = group.release();
    });
}

int32_t fct_torch_group_create_file(const char *path, int32_t rank, int32_t size, const char *interface_host, double timeout_seconds,
                                    fct_torch_group **out, char **error) {
    return guarded(error, [&] {
        if (!path || !interface_host || !out) throw std::invalid_argument("path, interface host and out must not be NULL");
        auto group = std::make_unique<fct_torch_group>();
        group->group = fct::make_gloo_file_group(path, rank, size, interface_host, timeout_seconds);
        *out = group.release();
    });
}

void fct_torch_group_free(fct_torch_group *group) { delete group; }

int32_t fct_torch_group_broadcast_length(fct_torch_group *group, int64_t *length, char **error) {
    return guarded(error, [&] {
        if (!group || !length) throw std::invalid_argument("group and length must not be NULL");
        auto value = torch::tensor({*length}, torch::kInt64);
        group->group->broadcast(value);
        *length = value.item<int64_t>();
    });
}

int32_t fct_torch_group_broadcast_bytes(fct_torch_group *group, uint8_t *bytes, int64_t length, char **error) {
    return guarded(error, [&] {
        if (!group || (length > 0 && !bytes) || length < 0) throw std::invalid_argument("group and a buffer of a non-negative length are needed");
        if (length == 0) return;
        auto buffer = torch::from_blob(bytes, {length}, torch::kUInt8);
        group->group->broadcast(buffer);
    });
}

int32_t fct_torch_group_sum_doubles(fct_torch_group *group, double *values, int64_t count, char **error) {
    return guarded(error, [&] {
        if (!group || count < 0 || (count > 0 && !values)) throw std::invalid_argument("group and a buffer of a non-negative count are needed");
        if (count == 0) return;
        auto tensor = torch::from_blob(values, {count}, torch::kFloat64);
        group->group->sum(tensor);
    });
}

int32_t fct_torch_model_set_group(fct_torch_model *model, fct_torch_group *group, char **error) {
    return guarded(error, [&] {
        if (!model) throw std::invalid_argument("model is NULL");
        model->group = group ? group->group : nullptr;
    });
}

int32_t fct_torch_model_train_step(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *loss, char **error) {
    return guarded(error, [&] {
        fct::Batch examples(batch, count);
        model->net->train();
        model->optimizer->zero_grad();
        *loss = model->dp_clip > 0 ? model->dp_sgd_gradient(examples) : model->accumulated_gradient(examples);
        model->optimizer->step();
        model->average_buffers();
    });
}

int32_t fct_torch_model_eval_loss(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *loss, char **error) {
    return guarded(error, [&] {
        fct::Batch examples(batch, count);
        if (examples.size() < 1) throw std::invalid_argument("an evaluation batch needs at least one example");
        torch::NoGradGuard no_grad;
        model->net->eval();
        *loss = model->loss(examples).item<float>();
    });
}

int32_t fct_torch_model_embed(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *embeddings,
                              int64_t capacity, char **error) {
    return guarded(error, [&] {
        fct::Batch examples(batch, count);
        torch::NoGradGuard no_grad;
        model->net->eval();
        fct_torch_model::copy_out(model->net->objective->embed(model->net->encoder, examples), embeddings, capacity);
    });
}

int32_t fct_torch_model_predict(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *outputs,
                                int64_t capacity, char **error) {
    return guarded(error, [&] {
        fct::Batch examples(batch, count);
        torch::NoGradGuard no_grad;
        model->net->eval();
        fct_torch_model::copy_out(model->net->objective->predict(model->net->encoder, examples), outputs, capacity);
    });
}

int32_t fct_torch_tte_loss(const float *log2_hazard, const float *time_at_risk, const float *event, int64_t batch,
                           int64_t pieces, int64_t tasks, double *loss, char **error) {
    return guarded(error, [&] {
        auto shape = std::vector<int64_t>{batch, pieces, tasks};
        auto wrap = [&](const float *data) { return torch::from_blob(const_cast<float *>(data), shape, torch::kFloat32); };
        *loss = fct::time_to_event_loss(wrap(log2_hazard), wrap(time_at_risk), wrap(event)).item<double>();
    });
}

}  // extern "C"
