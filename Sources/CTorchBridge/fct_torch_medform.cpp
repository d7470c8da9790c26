// fct_torch_medform.cpp: MEDFORM (Jung et al. 2025) — stage 1, a 2D slice ResNet with torchvision's parameter names
// (`slice_encoder.`), SimCLR's projection head (`projection.`) and NT-Xent on two augmented views of axial slices; stage 2,
// gated attention-MIL over the slices' features (`mil.`) aligned with a clinical MLP (`clinical_encoder.`) by InfoNCE.
#include "fct_torch_medform.h"
#include "fct_torch_objective.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace fct {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

/// torchvision's BasicBlock (expansion 1) and Bottleneck (expansion 4, stride on the 3×3 convolution: ResNet v1.5), with
/// their names: conv1, bn1, conv2, bn2 (conv3, bn3), downsample.0 (1×1 convolution) and downsample.1 (BatchNorm).
struct BlockImpl : nn::Module {
    nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
    nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
    nn::Sequential downsample{nullptr};

    BlockImpl(bool bottleneck, int64_t in, int64_t planes, int64_t stride) {
        int64_t out = bottleneck ? 4 * planes : planes;
        if (bottleneck) {
            conv1 = register_module("conv1", conv(in, planes, 1, 1));
            bn1 = register_module("bn1", nn::BatchNorm2d(planes));
            conv2 = register_module("conv2", conv(planes, planes, 3, stride));
            bn2 = register_module("bn2", nn::BatchNorm2d(planes));
            conv3 = register_module("conv3", conv(planes, out, 1, 1));
            bn3 = register_module("bn3", nn::BatchNorm2d(out));
        } else {
            conv1 = register_module("conv1", conv(in, planes, 3, stride));
            bn1 = register_module("bn1", nn::BatchNorm2d(planes));
            conv2 = register_module("conv2", conv(planes, planes, 3, 1));
            bn2 = register_module("bn2", nn::BatchNorm2d(planes));
        }
        if (stride != 1 || in != out) downsample = register_module("downsample", nn::Sequential(conv(in, out, 1, stride), nn::BatchNorm2d(out)));
    }

    torch::Tensor forward(const torch::Tensor &x) {
        auto y = torch::relu(bn1->forward(conv1->forward(x)));
        y = bn2->forward(conv2->forward(y));
        if (conv3) y = bn3->forward(conv3->forward(torch::relu(y)));
        return torch::relu(y + (downsample ? downsample->forward(x) : x));
    }
};
TORCH_MODULE(Block);

/// torchvision's ResNet-18 / -50 without its classifier (`fc`), with a 1-channel 7×7 stem: conv1, bn1, max-pool,
/// layer1…layer4 of planes [w, 2w, 4w, 8w] (w = 64 in torchvision), global average pool. Slices [N, 1, H, W] → [N, features].
struct SliceResNetImpl : nn::Module {
    nn::Conv2d conv1{nullptr};
    nn::BatchNorm2d bn1{nullptr};
    std::vector<nn::Sequential> layers;
    int64_t features = 0;

    SliceResNetImpl(int64_t depth, int64_t width) {
        if (depth != 18 && depth != 50) throw std::invalid_argument("setting 'slice_encoder_depth' must be 18 or 50, got " + std::to_string(depth));
        bool bottleneck = depth == 50;
        std::vector<int64_t> blocks = bottleneck ? std::vector<int64_t>{3, 4, 6, 3} : std::vector<int64_t>{2, 2, 2, 2};
        conv1 = register_module("conv1", conv(1, width, 7, 2));
        bn1 = register_module("bn1", nn::BatchNorm2d(width));
        int64_t in = width;
        for (int64_t stage = 0; stage < 4; stage++) {
            int64_t planes = width << stage;
            nn::Sequential layer;
            for (int64_t i = 0; i < blocks[stage]; i++) {
                layer->push_back(Block(bottleneck, in, planes, i == 0 && stage > 0 ? 2 : 1));
                in = bottleneck ? 4 * planes : planes;
            }
            layers.push_back(register_module("layer" + std::to_string(stage + 1), layer));
        }
        features = in;
        // torchvision's initialisation: Kaiming-normal (fan-out, ReLU) convolutions; BatchNorm weight 1, bias 0.
        torch::NoGradGuard no_grad;
        for (auto &module : modules(false)) {
            if (auto *convolution = module->as<nn::Conv2d>()) nn::init::kaiming_normal_(convolution->weight, 0.0, torch::kFanOut, torch::kReLU);
        }
        // Channels-last memory order (NHWC) for the convolutions' weights and, in forward, the slices: oneDNN's CPU
        // convolutions and BatchNorm then work on the activations as they are instead of reordering each one to and from
        // a blocked layout. Memory order only: values, names, shapes and the exported state (contiguous copies) are the
        // same; the gradients and the optimiser's moments follow the weights' order (Docs/torch-bridge.md, MEDFORM stage 1).
        for (auto &parameter : parameters()) {
            if (parameter.dim() == 4) parameter.set_data(channels_last(parameter));
        }
    }

    /// `tensor` [N, C, H, W] copied into channels-last strides. Not `contiguous(ChannelsLast)`: a tensor with C = 1 (the
    /// stem's weight, the slices) counts as contiguous in both orders, keeps its NCHW strides, and convolutions then
    /// take the NCHW path for the stem, the largest activations.
    static torch::Tensor channels_last(const torch::Tensor &tensor) {
        return torch::empty_like(tensor, torch::MemoryFormat::ChannelsLast).copy_(tensor);
    }

    torch::Tensor forward(const torch::Tensor &slices) {
        auto input = channels_last(slices);
        auto x = F::max_pool2d(torch::relu(bn1->forward(conv1->forward(input))), F::MaxPool2dFuncOptions(3).stride(2).padding(1));
        for (auto &layer : layers) x = layer->forward(x);
        return x.mean({2, 3});
    }
};
TORCH_MODULE(SliceResNet);

/// NT-Xent over the views [2N, d] (rows i and i + N are a positive pair): cosine similarities / τ, self-similarity left
/// out, mean cross-entropy of each view's partner.
torch::Tensor nt_xent(const torch::Tensor &first, const torch::Tensor &second, double temperature) {
    int64_t n = first.size(0);
    if (n < 1) throw std::invalid_argument("NT-Xent needs at least one pair of views");
    auto z = F::normalize(torch::cat({first, second}), F::NormalizeFuncOptions().dim(1));
    auto logits = torch::matmul(z, z.t()) / temperature;
    logits = logits.masked_fill(torch::eye(2 * n, torch::kBool), -std::numeric_limits<float>::infinity());
    auto partner = torch::cat({torch::arange(n, 2 * n), torch::arange(0, n)});
    return F::cross_entropy(logits, partner);
}

/// One random view of each slice [N, 1, H, W] (see fct_torch_medform_augmentation), drawn from `generator`.
torch::Tensor augment(const torch::Tensor &slices, const fct_torch_medform_augmentation &a, at::Generator generator) {
    torch::NoGradGuard no_grad;
    int64_t n = slices.size(0), h = slices.size(2), w = slices.size(3);
    auto uniform = [&](double low, double high) { return torch::empty({n}, torch::kFloat32).uniform_(low, high, generator); };
    auto happens = [&](double probability) { return uniform(0, 1).lt(probability).to(torch::kFloat32); };
    // Random resized crop with a left–right flip, as one affine resampling per view (torchvision's crop sampling; a
    // crop wider or taller than the slice is the whole slice, torchvision's fallback, without its ten redraws first).
    auto scale = uniform(a.crop_min_scale, 1.0);
    auto ratio = uniform(std::log(3.0 / 4.0), std::log(4.0 / 3.0)).exp();
    auto crop_w = (scale * ratio).sqrt(), crop_h = (scale / ratio).sqrt();
    auto fits = crop_w.le(1.0).logical_and(crop_h.le(1.0));
    crop_w = torch::where(fits, crop_w, torch::ones_like(crop_w));
    crop_h = torch::where(fits, crop_h, torch::ones_like(crop_h));
    auto centre_x = (2 * uniform(0, 1) - 1) * (1 - crop_w), centre_y = (2 * uniform(0, 1) - 1) * (1 - crop_h);
    auto mirror = 1 - 2 * happens(0.5);
    auto zero = torch::zeros({n});
    auto theta = torch::stack({torch::stack({crop_w * mirror, zero, centre_x}, 1), torch::stack({zero, crop_h, centre_y}, 1)}, 1);
    auto grid = F::affine_grid(theta, {n, 1, h, w}, false);
    auto view = F::grid_sample(slices, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
    if (a.jitter > 0) {  // contrast about the view's mean, brightness in its standard deviations, with probability 0.8
        auto apply = happens(0.8).view({n, 1, 1, 1});
        auto mean = view.mean({1, 2, 3}, true), spread = view.std({1, 2, 3}, false, true);
        auto contrast = uniform(1 - a.jitter, 1 + a.jitter).view({n, 1, 1, 1}), brightness = uniform(-a.jitter, a.jitter).view({n, 1, 1, 1});
        auto jittered = mean + contrast * (view - mean) + brightness * spread;
        view = apply * jittered + (1 - apply) * view;
    }
    if (a.blur_probability > 0) {  // separable Gaussian per view; views without blur get a unit impulse
        int64_t radius = std::max<int64_t>(1, std::min<int64_t>(std::lround(0.05 * double(std::min(h, w))), std::min(h, w) - 1));
        auto sigma = torch::where(happens(a.blur_probability).gt(0), uniform(0.1, 2.0), torch::full({n}, 1e-3));
        auto offsets = torch::arange(-radius, radius + 1, torch::kFloat32);
        auto kernel = (-offsets.pow(2).unsqueeze(0) / (2 * sigma.pow(2).unsqueeze(1))).exp();
        kernel = kernel / kernel.sum(1, true);  // [N, 2r + 1]
        auto rows = F::pad(view.view({1, n, h, w}), F::PadFuncOptions({radius, radius, 0, 0}).mode(torch::kReflect));
        rows = F::conv2d(rows, kernel.view({n, 1, 1, 2 * radius + 1}), F::Conv2dFuncOptions().groups(n));
        auto columns = F::pad(rows, F::PadFuncOptions({0, 0, radius, radius}).mode(torch::kReflect));
        view = F::conv2d(columns, kernel.view({n, 1, 2 * radius + 1, 1}), F::Conv2dFuncOptions().groups(n)).view({n, 1, h, w});
    }
    if (a.noise_std > 0) view = view + torch::randn({n, 1, h, w}, generator, torch::TensorOptions(torch::kFloat32)) * uniform(0, a.noise_std).view({n, 1, 1, 1});
    return view.contiguous();
}

void check_augmentation(const fct_torch_medform_augmentation &a) {
    if (!(a.crop_min_scale > 0 && a.crop_min_scale <= 1)) throw std::invalid_argument("setting 'crop_min_scale' must be in (0, 1]");
    if (!(a.jitter >= 0 && a.jitter < 1)) throw std::invalid_argument("setting 'jitter' must be in [0, 1)");
    if (!(a.blur_probability >= 0 && a.blur_probability <= 1)) throw std::invalid_argument("setting 'blur_probability' must be in [0, 1]");
    if (!(a.noise_std >= 0 && std::isfinite(a.noise_std))) throw std::invalid_argument("setting 'noise_std' must be finite and ≥ 0");
}

/// MEDFORM stage 1: SimCLR on axial slices. Settings: "stage" (1), "slice_encoder_depth" (18 or 50), "slice_encoder_width"
/// (torchvision's 64), "projection_dim", "temperature", "slices_per_scan"; the augmentation's "crop_min_scale", "jitter",
/// "blur_probability", "noise_std" (defaults 0.08, 0.4, 0.5, 0.05). Batch: "volumes" [B, 1, D, H, W], axial slices
/// along D. A training batch samples "slices_per_scan" slices of each scan (without replacement when it has enough),
/// two views of each; the contrastive batch is the micro-batch's B · slices_per_scan slices.
class MEDFORMObjective : public Objective {
public:
    MEDFORMObjective(nn::Module &net, const Settings &s)
        : projection_dim_(s.integer("projection_dim", 1)), slices_(s.integer("slices_per_scan", 1)), temperature_(s.number("temperature", 0.07)) {
        if (!(temperature_ > 0) || !std::isfinite(temperature_)) throw std::invalid_argument("setting 'temperature' must be finite and > 0");
        augmentation_ = {s.number("crop_min_scale", 0.08), s.number("jitter", 0.4), s.number("blur_probability", 0.5), s.number("noise_std", 0.05)};
        check_augmentation(augmentation_);
        encoder_ = net.register_module("slice_encoder", SliceResNet(s.integer("slice_encoder_depth", 18), s.integer("slice_encoder_width", 1)));
        int64_t features = encoder_->features;
        projection_ = net.register_module("projection", nn::Sequential(nn::Linear(features, features), nn::Functional([](const torch::Tensor &x) { return torch::relu(x); }), nn::Linear(features, projection_dim_)));
    }

    torch::Tensor loss(const Encoder &, const Batch &batch) override {
        auto slices = sample(volumes(batch));
        auto generator = at::detail::getDefaultCPUGenerator();
        auto views = torch::cat({augment(slices, augmentation_, generator), augment(slices, augmentation_, generator)});
        auto z = projection_->forward(encoder_->forward(views));
        int64_t n = slices.size(0);
        return nt_xent(z.narrow(0, 0, n), z.narrow(0, n, n), temperature_);
    }

    /// The L2-normalised projection of each scan's embedding.
    torch::Tensor predict(const Encoder &encoder, const Batch &batch) override {
        return F::normalize(projection_->forward(embed(encoder, batch)), F::NormalizeFuncOptions().dim(1));
    }

    int64_t output_size() const override { return projection_dim_; }

    /// A scan's embedding: its axial slices' pooled features, averaged over all of them.
    torch::Tensor embed(const Encoder &, const Batch &batch) override {
        const auto &v = volumes(batch);
        std::vector<torch::Tensor> scans;
        for (int64_t b = 0; b < v.size(0); b++) scans.push_back(encoder_->forward(v[b][0].unsqueeze(1)).mean(0));
        return scans.empty() ? torch::zeros({0, encoder_->features}) : torch::stack(scans);
    }

    int64_t embedding_size(const Encoder &) const override { return encoder_->features; }

    /// NT-Xent classifies each view against every other view of the batch: no per-example gradient to clip.
    bool per_example_loss() const override { return false; }

private:
    static const torch::Tensor &volumes(const Batch &batch) { return batch.at("volumes", {1, -1, -1, -1}); }

    /// `slices_per_scan` axial slices of each scan [B · S, 1, H, W]: distinct when the scan has that many, else with replacement.
    torch::Tensor sample(const torch::Tensor &v) {
        int64_t depth = v.size(2);
        std::vector<torch::Tensor> picked;
        for (int64_t b = 0; b < v.size(0); b++) {
            auto index = depth >= slices_ ? torch::randperm(depth, torch::kInt64).narrow(0, 0, slices_) : torch::randint(depth, {slices_}, torch::kInt64);
            picked.push_back(v[b][0].index_select(0, index));
        }
        return torch::cat(picked).unsqueeze(1);
    }

    int64_t projection_dim_, slices_;
    double temperature_;
    fct_torch_medform_augmentation augmentation_{};
    SliceResNet encoder_{nullptr};
    nn::Sequential projection_{nullptr};
};

/// Symmetric InfoNCE (CLIP's loss, TANGLE's `info_nce(..., symmetric=True)`) of paired rows of `a` and `b` [N, d]:
/// both L2-normalised, logits = a·bᵀ / τ, the mean of the rows' and the columns' cross-entropy of the diagonal.
torch::Tensor info_nce(const torch::Tensor &a, const torch::Tensor &b, double temperature) {
    if (a.size(0) < 1 || a.sizes() != b.sizes()) throw std::invalid_argument("InfoNCE needs paired rows of equal width");
    auto options = F::NormalizeFuncOptions().dim(1);
    auto logits = torch::matmul(F::normalize(a, options), F::normalize(b, options).t()) / temperature;
    auto labels = torch::arange(a.size(0), torch::kInt64);
    return 0.5 * (F::cross_entropy(logits, labels) + F::cross_entropy(logits.t(), labels));
}

/// Attention-MIL pooling of a bag of slice features (TANGLE's ABMILEmbedder, MEDFORM's CT branch): a pre-attention MLP
/// (`pre_attention.0`/`.1` and `.4`/`.5`: 2 × [Linear, LayerNorm, GELU, Dropout 0.1], width kept), then gated attention
/// (Ilse et al. 2018) a = softmax over the bag of w·(tanh(V h) ⊙ sigmoid(U h)) (`attention_v`, `attention_u`, each
/// followed by Dropout 0.25, and `attention_w`), and the bag's embedding Σ a_k h_k. Bags [B, K, F] → ([B, F], weights [B, K]).
struct AttentionMILImpl : nn::Module {
    nn::Sequential pre_attention{nullptr};
    nn::Linear attention_v{nullptr}, attention_u{nullptr}, attention_w{nullptr};
    nn::Dropout dropout{nullptr};

    AttentionMILImpl(int64_t features, int64_t hidden) {
        auto gelu = nn::Functional([](const torch::Tensor &x) { return F::gelu(x); });
        pre_attention = register_module("pre_attention", nn::Sequential(nn::Linear(features, features), nn::LayerNorm(nn::LayerNormOptions({features})), gelu,
                                                                         nn::Dropout(0.1), nn::Linear(features, features),
                                                                         nn::LayerNorm(nn::LayerNormOptions({features})), gelu, nn::Dropout(0.1)));
        attention_v = register_module("attention_v", nn::Linear(features, hidden));
        attention_u = register_module("attention_u", nn::Linear(features, hidden));
        attention_w = register_module("attention_w", nn::Linear(hidden, 1));
        dropout = register_module("dropout", nn::Dropout(0.25));
    }

    std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor &bags) {
        auto h = pre_attention->forward(bags);
        auto gated = dropout->forward(torch::tanh(attention_v->forward(h))) * dropout->forward(torch::sigmoid(attention_u->forward(h)));
        auto weights = torch::softmax(attention_w->forward(gated).squeeze(-1), 1);
        return {(h * weights.unsqueeze(-1)).sum(1), weights};
    }
};
TORCH_MODULE(AttentionMIL);

/// TANGLE's expression MLP on MEDFORM's clinical vector: n → n → n → d, two hidden blocks of [Linear, LayerNorm, ReLU,
/// Dropout 0.2] (`clinical_encoder.0.*`, `clinical_encoder.1.*`) and a Linear (`clinical_encoder.2`).
struct ClinicalEncoderImpl : nn::Module {
    nn::Sequential first{nullptr}, second{nullptr};
    nn::Linear last{nullptr};

    ClinicalEncoderImpl(int64_t inputs, int64_t out) {
        auto block = [inputs] {
            return nn::Sequential(nn::Linear(inputs, inputs), nn::LayerNorm(nn::LayerNormOptions({inputs})),
                                  nn::Functional([](const torch::Tensor &x) { return torch::relu(x); }), nn::Dropout(0.2));
        };
        first = register_module("0", block());
        second = register_module("1", block());
        last = register_module("2", nn::Linear(inputs, out));
    }

    torch::Tensor forward(const torch::Tensor &x) { return last->forward(second->forward(first->forward(x))); }
};
TORCH_MODULE(ClinicalEncoder);

/// A frozen slice encoder's features of whole scans, [D, F] each, computed once and reused across steps, epochs and
/// rounds. A scan is keyed by its shape and a 64-bit hash of its voxels (the bridge does not know scan identities; a
/// volume changed by augmentation is a new key). The entries hold while the encoder's parameters and buffers are the
/// ones they were computed with: when a tensor's version counter moved (a state import), its values are compared with
/// a copy taken at the last check, and the cache is emptied only when they differ. At most `max_bytes` of features are
/// kept; further scans are computed every time.
class SliceFeatureCache {
public:
    explicit SliceFeatureCache(size_t max_bytes) : max_bytes_(max_bytes) {}

    /// The features of `scan` [D, H, W] from `compute` (slices [D, 1, H, W] → [D, F]), computed at most once per encoder state.
    template <typename Compute>
    torch::Tensor features(nn::Module &encoder, const torch::Tensor &scan, Compute &&compute) {
        check(encoder);
        uint64_t key = hash(scan);
        if (auto found = entries_.find(key); found != entries_.end()) return found->second;
        auto computed = compute(scan.unsqueeze(1));
        size_t bytes = size_t(computed.numel()) * sizeof(float);
        if (bytes_ + bytes <= max_bytes_) {
            entries_.emplace(key, computed);
            bytes_ += bytes;
        }
        return computed;
    }

private:
    /// Empties the cache when the encoder's values differ from those its entries were computed with.
    void check(nn::Module &encoder) {
        std::vector<torch::Tensor> tensors = encoder.parameters();
        for (auto &buffer : encoder.buffers()) tensors.push_back(buffer);
        std::vector<int64_t> versions;
        for (auto &tensor : tensors) versions.push_back(int64_t(tensor._version()));
        if (versions == versions_) return;
        bool same = snapshot_.size() == tensors.size();
        for (size_t i = 0; same && i < tensors.size(); i++) same = torch::equal(snapshot_[i], tensors[i]);
        if (!same) {
            entries_.clear();
            bytes_ = 0;
            snapshot_.clear();
            torch::NoGradGuard no_grad;
            for (auto &tensor : tensors) snapshot_.push_back(tensor.detach().clone());
        }
        versions_ = versions;
    }

    /// FNV-1a over the shape and the voxels' 64-bit words (and a trailing partial word).
    static uint64_t hash(const torch::Tensor &scan) {
        auto contiguous = scan.contiguous();
        uint64_t h = 1469598103934665603ull;
        auto mix = [&h](uint64_t word) { h = (h ^ word) * 1099511628211ull; };
        for (auto size : contiguous.sizes()) mix(uint64_t(size));
        const auto *bytes = static_cast<const unsigned char *>(contiguous.data_ptr());
        size_t count = size_t(contiguous.numel()) * contiguous.element_size(), words = count / 8;
        for (size_t i = 0; i < words; i++) {
            uint64_t word;
            std::memcpy(&word, bytes + 8 * i, 8);
            mix(word);
        }
        uint64_t tail = 0;
        std::memcpy(&tail, bytes + 8 * words, count - 8 * words);
        mix(tail);
        return h;
    }

    size_t max_bytes_, bytes_ = 0;
    std::unordered_map<uint64_t, torch::Tensor> entries_;
    std::vector<torch::Tensor> snapshot_;
    std::vector<int64_t> versions_;
};

/// MEDFORM stage 2: attention-MIL over a scan's slice features aligned with its clinical vector. Settings: "stage" (2),
/// "slice_encoder_depth" and "slice_encoder_width" (stage 1's), "clinical_features" (n, the clinical vector's width),
/// "attention_hidden" (the gated attention's width), "temperature" (τ), "bag_slices" (K), "freeze_slice_encoder" (1:
/// the slice encoder runs in evaluation mode without gradients, its parameters excluded from training),
/// "slice_feature_cache" (1: a frozen encoder's features of each scan's slices are computed once and kept, see
/// `SliceFeatureCache`; ignored when the encoder is fine-tuned). Batch: "volumes" [B, 1, D, H, W] and "clinical" [B, n].
/// Training bags are K slices of each scan drawn with replacement; embeddings (and predictions) pool all of a scan's
/// slices. Both embeddings have the slice encoder's width F.
class MEDFORMAlignmentObjective : public Objective {
public:
    MEDFORMAlignmentObjective(nn::Module &net, const Settings &s)
        : clinical_(s.integer("clinical_features", 1)), bag_(s.integer("bag_slices", 1)), temperature_(s.number("temperature", 0.01)),
          frozen_(s.integer("freeze_slice_encoder", 0) != 0), cached_(frozen_ && s.number("slice_feature_cache", 0) != 0) {
        if (!(temperature_ > 0) || !std::isfinite(temperature_)) throw std::invalid_argument("setting 'temperature' must be finite and > 0");
        encoder_ = net.register_module("slice_encoder", SliceResNet(s.integer("slice_encoder_depth", 18), s.integer("slice_encoder_width", 1)));
        int64_t features = encoder_->features;
        mil_ = net.register_module("mil", AttentionMIL(features, s.integer("attention_hidden", 1)));
        clinical_encoder_ = net.register_module("clinical_encoder", ClinicalEncoder(clinical_, features));
        if (frozen_) {
            for (auto &parameter : encoder_->parameters()) parameter.set_requires_grad(false);
        }
    }

    torch::Tensor loss(const Encoder &encoder, const Batch &batch) override { return loss_of_features(features(encoder, batch), true); }

    bool has_features() const override { return true; }

    /// The batch's CT embeddings (attention-MIL over K sampled slices per scan) and clinical embeddings, [B, F] each.
    std::vector<torch::Tensor> features(const Encoder &, const Batch &batch) override {
        const auto &v = volumes(batch);
        int64_t depth = v.size(2);
        std::vector<torch::Tensor> picked;
        for (int64_t b = 0; b < v.size(0); b++) {
            auto indices = torch::randint(depth, {bag_}, torch::kInt64);
            picked.push_back(cached_ ? scan_features(v[b][0]).index_select(0, indices) : v[b][0].index_select(0, indices));
        }
        auto bags = (cached_ ? torch::stack(picked) : slice_features(torch::cat(picked).unsqueeze(1))).view({v.size(0), bag_, -1});
        return {mil_->forward(bags).first, clinical_encoder_->forward(clinical(batch))};
    }

    torch::Tensor loss_of_features(const std::vector<torch::Tensor> &features, bool) override { return info_nce(features.at(0), features.at(1), temperature_); }

    /// Each scan's L2-normalised CT embedding (all its slices) and clinical embedding, side by side: [B, 2F].
    torch::Tensor predict(const Encoder &encoder, const Batch &batch) override {
        auto options = F::NormalizeFuncOptions().dim(1);
        return torch::cat({F::normalize(embed(encoder, batch), options), F::normalize(clinical_encoder_->forward(clinical(batch)), options)}, 1);
    }

    int64_t output_size() const override { return 2 * encoder_->features; }

    /// A scan's CT embedding: attention-MIL over all its axial slices.
    torch::Tensor embed(const Encoder &, const Batch &batch) override {
        const auto &v = volumes(batch);
        std::vector<torch::Tensor> scans;
        for (int64_t b = 0; b < v.size(0); b++) {
            auto features = cached_ ? scan_features(v[b][0]) : slice_features(v[b][0].unsqueeze(1));
            scans.push_back(mil_->forward(features.unsqueeze(0)).first);
        }
        return scans.empty() ? torch::zeros({0, encoder_->features}) : torch::cat(scans);
    }

    int64_t embedding_size(const Encoder &) const override { return encoder_->features; }

    /// InfoNCE pairs every scan with every clinical vector of the batch: no per-example gradient to clip.
    bool per_example_loss() const override { return false; }

private:
    static const torch::Tensor &volumes(const Batch &batch) { return batch.at("volumes", {1, -1, -1, -1}); }
    const torch::Tensor &clinical(const Batch &batch) const { return batch.at("clinical", {clinical_}); }

    /// Pooled features of slices [N, 1, H, W]; a frozen encoder runs in evaluation mode (running BatchNorm statistics) without a graph.
    torch::Tensor slice_features(const torch::Tensor &slices) {
        if (!frozen_) return encoder_->forward(slices);
        torch::NoGradGuard no_grad;
        bool training = encoder_->is_training();
        encoder_->eval();
        auto features = encoder_->forward(slices);
        encoder_->train(training);
        return features;
    }

    /// The frozen encoder's features of every slice of `scan` [D, H, W], [D, F], from the cache.
    torch::Tensor scan_features(const torch::Tensor &scan) {
        return cache_.features(*encoder_, scan, [this](const torch::Tensor &slices) { return slice_features(slices); });
    }

    int64_t clinical_, bag_;
    double temperature_;
    bool frozen_, cached_;
    /// 1 GiB of slice features (16 000 scans of 32 slices × 512 features).
    SliceFeatureCache cache_{size_t(1) << 30};
    SliceResNet encoder_{nullptr};
    AttentionMIL mil_{nullptr};
    ClinicalEncoder clinical_encoder_{nullptr};
};

template <typename Body>
int32_t guarded(char **error, Body &&body) {
    try {
        body();
        return int32_t(FCT_TORCH_OK);
    } catch (const c10::Error &e) {
        if (error) *error = strdup(e.what_without_backtrace());
        return int32_t(FCT_TORCH_TORCH_ERROR);
    } catch (const std::exception &e) {
        if (error) *error = strdup(e.what());
        return int32_t(FCT_TORCH_INVALID_ARGUMENT);
    }
}

}  // namespace

ObjectiveFactory medform_objective() {
    return [](nn::Module &net, int64_t, const Settings &settings) -> std::unique_ptr<Objective> {
        switch (settings.integer("stage", 1)) {
        case 1: return std::make_unique<MEDFORMObjective>(net, settings);
        case 2: return std::make_unique<MEDFORMAlignmentObjective>(net, settings);
        default: throw std::invalid_argument("setting 'stage' must be 1 (SimCLR on slices) or 2 (attention-MIL aligned with clinical data)");
        }
    };
}

}  // namespace fct

extern "C" int32_t fct_torch_medform_nt_xent(const float *first, const float *second, int64_t pairs, int64_t dim, double temperature, double *loss,
                                             char **error) {
    return fct::guarded(error, [&] {
        if (!first || !second || !loss || pairs < 1 || dim < 1) throw std::invalid_argument("NT-Xent needs two views of at least one pair, a positive dimension and room for the loss");
        if (!(temperature > 0)) throw std::invalid_argument("the temperature must be > 0");
        auto wrap = [&](const float *data) { return torch::from_blob(const_cast<float *>(data), {pairs, dim}, torch::kFloat32).to(torch::kFloat64); };
        *loss = fct::nt_xent(wrap(first), wrap(second), temperature).item<double>();
    });
}

extern "C" int32_t fct_torch_medform_augment(const float *slices, int64_t count, int64_t height, int64_t width,
                                             const fct_torch_medform_augmentation *augmentation, uint64_t seed, float *out, char **error) {
    return fct::guarded(error, [&] {
        if (!slices || !augmentation || !out || count < 1 || height < 2 || width < 2) throw std::invalid_argument("augmentation needs slices of at least 2×2 pixels, settings and room");
        fct::check_augmentation(*augmentation);
        auto input = torch::from_blob(const_cast<float *>(slices), {count, 1, height, width}, torch::kFloat32);
        auto view = fct::augment(input, *augmentation, at::detail::createCPUGenerator(seed));
        std::memcpy(out, view.data_ptr<float>(), sizeof(float) * size_t(view.numel()));
    });
}

extern "C" int32_t fct_torch_medform_info_nce(const float *ct, const float *clinical, int64_t pairs, int64_t dim, double temperature, double *loss,
                                              char **error) {
    return fct::guarded(error, [&] {
        if (!ct || !clinical || !loss || pairs < 1 || dim < 1) throw std::invalid_argument("InfoNCE needs two sets of at least one row, a positive dimension and room for the loss");
        if (!(temperature > 0)) throw std::invalid_argument("the temperature must be > 0");
        auto wrap = [&](const float *data) { return torch::from_blob(const_cast<float *>(data), {pairs, dim}, torch::kFloat32).to(torch::kFloat64); };
        *loss = fct::info_nce(wrap(ct), wrap(clinical), temperature).item<double>();
    });
}

extern "C" int32_t fct_torch_medform_attention_pool(const float *features, int64_t bags, int64_t slices, int64_t dim, int64_t hidden, uint64_t seed,
                                                    float *weights, float *pooled, char **error) {
    return fct::guarded(error, [&] {
        if (!features || !weights || !pooled || bags < 1 || slices < 1 || dim < 1 || hidden < 1) throw std::invalid_argument("attention pooling needs at least one bag of one slice, positive widths and room");
        torch::manual_seed(seed);
        fct::AttentionMIL mil(dim, hidden);
        mil->eval();
        torch::NoGradGuard no_grad;
        auto [embedding, attention] = mil->forward(torch::from_blob(const_cast<float *>(features), {bags, slices, dim}, torch::kFloat32));
        std::memcpy(weights, attention.contiguous().data_ptr<float>(), sizeof(float) * size_t(bags * slices));
        std::memcpy(pooled, embedding.contiguous().data_ptr<float>(), sizeof(float) * size_t(bags * dim));
    });
}
