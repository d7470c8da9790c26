// fct_torch_hlip.cpp: HLIP (Zhao et al. 2025) — language–image pretraining on whole studies: a hierarchical-attention 3D
// ViT (timm's parameter names under `visual.`), a byte-level text transformer (`text.`), and a SigLIP or CLIP loss.
#include "fct_torch_hlip.h"
#include "fct_torch_objective.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace fct {
namespace {

namespace nn = torch::nn;

/// Attention groups, finest first: a slice (one depth index of one scan), a scan, the study.
enum class Group : int64_t { slice = 0, scan = 1, study = 2 };

Group group_of(int64_t value, const std::string &where) {
    if (value < 0 || value > 2) throw std::invalid_argument(where + " must be 0 (slice), 1 (scan) or 2 (study), got " + std::to_string(value));
    return Group(value);
}

/// Groups per study at `level`.
int64_t groups_per_study(Group level, int64_t scans, int64_t slices) {
    switch (level) {
    case Group::slice: return scans * slices;
    case Group::scan: return scans;
    case Group::study: return 1;
    }
    return 1;
}

/// Tokens [G, 1 + L, C] (CLS first) at one level → the next level: splitting into `factor` finer groups copies the CLS
/// into each; merging `factor` groups averages their CLS copies. Patch tokens keep their (scan, slice, row, column) order.
torch::Tensor regroup(const torch::Tensor &x, Group from, Group to, int64_t scans, int64_t slices) {
    if (from == to) return x;
    int64_t before = groups_per_study(from, scans, slices), after = groups_per_study(to, scans, slices);
    int64_t groups = x.size(0), length = x.size(1) - 1, channels = x.size(2);
    auto cls = x.narrow(1, 0, 1);
    auto patches = x.narrow(1, 1, length);
    if (before < after) {  // split each group into `factor` finer ones
        int64_t factor = after / before;
        auto copies = cls.unsqueeze(1).expand({groups, factor, 1, channels});
        auto parts = patches.reshape({groups, factor, length / factor, channels});
        return torch::cat({copies, parts}, 2).reshape({groups * factor, 1 + length / factor, channels});
    }
    int64_t factor = before / after;  // merge `factor` consecutive groups
    auto mean = cls.reshape({groups / factor, factor, channels}).mean(1, true);
    return torch::cat({mean, patches.reshape({groups / factor, factor * length, channels})}, 1);
}

/// MAE's 1D sin-cos table for `positions` [M] with `dim` features: sin(p·ω) then cos(p·ω), ω_i = 10000^(−i/(dim/2)).
torch::Tensor sincos(int64_t dim, const torch::Tensor &positions) {
    auto omega = 1.0 / torch::pow(10000.0, torch::arange(dim / 2, torch::kFloat64) / double(dim / 2));
    auto angles = positions.to(torch::kFloat64).unsqueeze(1) * omega.unsqueeze(0);
    return torch::cat({angles.sin(), angles.cos()}, 1);
}

/// HLIP's fixed 3D sin-cos embedding [d·h·w, dim] (get_3d_sincos_pos_embed): dim/3 features per axis, concatenated in the
/// order width, height, depth; positions in (depth, row, column) order. Computed for the input's grid itself.
torch::Tensor sincos_3d(int64_t dim, int64_t d, int64_t h, int64_t w) {
    auto grid = torch::meshgrid({torch::arange(d, torch::kFloat64), torch::arange(h, torch::kFloat64), torch::arange(w, torch::kFloat64)}, "ij");
    int64_t third = dim / 3;
    return torch::cat({sincos(third, grid[2].reshape(-1)), sincos(third, grid[1].reshape(-1)), sincos(third, grid[0].reshape(-1))}, 1).to(torch::kFloat32);
}

nn::LayerNorm layer_norm(int64_t dim) { return nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)); }

/// timm's Attention: qkv and proj linear layers with biases, softmax(q·kᵀ/√d_head) v per head; keys where `keep` is
/// false (padding) are left out.
struct AttentionImpl : nn::Module {
    int64_t heads;
    nn::Linear qkv{nullptr}, proj{nullptr};

    AttentionImpl(int64_t dim, int64_t heads) : heads(heads) {
        qkv = register_module("qkv", nn::Linear(dim, 3 * dim));
        proj = register_module("proj", nn::Linear(dim, dim));
    }

    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &keep) {
        int64_t batch = x.size(0), length = x.size(1), dim = x.size(2), head_dim = dim / heads;
        auto parts = qkv->forward(x).reshape({batch, length, 3, heads, head_dim}).permute({2, 0, 3, 1, 4});
        auto scores = torch::matmul(parts[0] * (1.0 / std::sqrt(double(head_dim))), parts[1].transpose(-2, -1));
        if (keep.defined()) scores = scores.masked_fill(keep.logical_not().view({batch, 1, 1, length}), -std::numeric_limits<float>::infinity());
        auto mixed = torch::matmul(scores.softmax(-1), parts[2]);
        return proj->forward(mixed.transpose(1, 2).reshape({batch, length, dim}));
    }
};
TORCH_MODULE(Attention);

/// timm's Mlp: fc1 (ratio 4), exact GELU, fc2.
struct MlpImpl : nn::Module {
    nn::Linear fc1{nullptr}, fc2{nullptr};

    explicit MlpImpl(int64_t dim) {
        fc1 = register_module("fc1", nn::Linear(dim, 4 * dim));
        fc2 = register_module("fc2", nn::Linear(4 * dim, dim));
    }

    torch::Tensor forward(const torch::Tensor &x) { return fc2->forward(torch::gelu(fc1->forward(x))); }
};
TORCH_MODULE(Mlp);

/// timm's pre-norm Block (LayerNorm eps 1e-6): x + attn(norm1(x)), then x + mlp(norm2(x)), each residual branch dropped
/// per row (per attention group) with probability `drop_path` in training (stochastic depth).
struct BlockImpl : nn::Module {
    nn::LayerNorm norm1{nullptr}, norm2{nullptr};
    Attention attn{nullptr};
    Mlp mlp{nullptr};
    double drop_path;

    BlockImpl(int64_t dim, int64_t heads, double drop_path) : drop_path(drop_path) {
        norm1 = register_module("norm1", layer_norm(dim));
        attn = register_module("attn", Attention(dim, heads));
        norm2 = register_module("norm2", layer_norm(dim));
        mlp = register_module("mlp", Mlp(dim));
    }

    torch::Tensor branch(const torch::Tensor &y) {
        if (!is_training() || drop_path <= 0) return y;
        double keep = 1.0 - drop_path;
        return y * torch::empty({y.size(0), 1, 1}, y.options()).bernoulli_(keep).div_(keep);
    }

    torch::Tensor forward(torch::Tensor x, const torch::Tensor &keep = {}) {
        x = x + branch(attn->forward(norm1->forward(x), keep));
        return x + branch(mlp->forward(norm2->forward(x)));
    }
};
TORCH_MODULE(Block);

/// timm's ViT initialisation: linear weights N(0, 0.02²) (timm's trunc_normal_ cuts at ±2 absolute, which std 0.02
/// never reaches), biases 0, LayerNorms 1 and 0.
void initialise_linears(nn::Module &module) {
    torch::NoGradGuard no_grad;
    for (auto &child : module.modules(false)) {
        if (auto *linear = child->as<nn::Linear>()) {
            linear->weight.normal_(0.0, 0.02);
            if (linear->bias.defined()) nn::init::zeros_(linear->bias);
        }
    }
}

/// The image tower: 3D patch embedding, fixed sin-cos positions (plus an optional scan-index table), CLS token,
/// blocks attending within their groups, final norm, CLS pooling, bias-free projection to the joint space.
struct VisionTowerImpl : nn::Module {
    int64_t dim, patch[3], max_scans;
    std::vector<Group> pattern;
    nn::Conv3d patch_proj{nullptr};
    torch::Tensor cls_token;
    nn::ModuleList blocks;
    nn::LayerNorm norm{nullptr};
    nn::Linear proj{nullptr};

    VisionTowerImpl(const Settings &s, int64_t embed_dim) : dim(s.integer("dim", 6)), max_scans(s.integer("max_scans", 0)) {
        if (dim % 6 != 0) throw std::invalid_argument("setting 'dim' must be divisible by 6 (the 3D sin-cos position table), got " + std::to_string(dim));
        int64_t depth = s.integer("depth", 1), heads = s.integer("heads", 1);
        if (dim % heads != 0) throw std::invalid_argument("setting 'dim' must be divisible by 'heads'");
        patch[0] = s.integer("patch_depth", 1);
        patch[1] = s.integer("patch_height", 1);
        patch[2] = s.integer("patch_width", 1);
        auto given = s.vector("pattern", depth);
        for (int64_t i = 0; i < depth; i++) {
            pattern.push_back(given.defined() ? group_of(int64_t(given[i].item<float>()), "setting 'pattern' entry " + std::to_string(i))
                                              : (i % 3 == 2 ? Group::scan : Group::slice));
        }
        auto embed = register_module("patch_embed", std::make_shared<nn::Module>());
        patch_proj = embed->register_module("proj", nn::Conv3d(nn::Conv3dOptions(1, dim, {patch[0], patch[1], patch[2]}).stride({patch[0], patch[1], patch[2]})));
        cls_token = register_parameter("cls_token", torch::randn({1, 1, dim}) * 1e-6);
        blocks = register_module("blocks", nn::ModuleList());
        double drop_path = s.number("drop_path", 0);
        for (int64_t i = 0; i < depth; i++) blocks->push_back(Block(dim, heads, drop_path * double(i) / double(std::max<int64_t>(depth - 1, 1))));
        norm = register_module("norm", layer_norm(dim));
        proj = register_module("proj", nn::Linear(nn::LinearOptions(dim, embed_dim).bias(false)));
        initialise_linears(*this);
    }

    /// Studies [B, N, 1, D, H, W] → their projected CLS [B, embed_dim].
    torch::Tensor forward(const torch::Tensor &volumes) {
        int64_t b = volumes.size(0), n = volumes.size(1);
        for (int axis = 0; axis < 3; axis++) {
            if (volumes.size(3 + axis) % patch[axis] != 0) {
                throw std::invalid_argument("batch tensor 'volumes' has extent " + std::to_string(volumes.size(3 + axis)) + " along axis " + std::to_string(axis) +
                                            " (depth, height, width), not a multiple of the patch size " + std::to_string(patch[axis]));
            }
        }
        auto tokens = patch_proj->forward(volumes.reshape({b * n, 1, volumes.size(3), volumes.size(4), volumes.size(5)}));
        int64_t d = tokens.size(2), h = tokens.size(3), w = tokens.size(4);
        tokens = tokens.reshape({b, n, dim, d * h * w}).transpose(2, 3);  // [B, N, d·h·w, C]
        tokens = tokens + sincos_3d(dim, d, h, w).view({1, 1, d * h * w, dim});
        if (max_scans > 0) tokens = tokens + scan_positions(n).view({1, n, 1, dim});
        Group level = pattern.front();
        int64_t groups = b * groups_per_study(level, n, d);
        auto x = tokens.reshape({groups, -1, dim});
        x = torch::cat({cls_token.expand({groups, 1, dim}), x}, 1);
        for (size_t i = 0; i < blocks->size(); i++) {
            x = regroup(x, level, pattern[i], n, d);
            level = pattern[i];
            x = blocks[i]->as<BlockImpl>()->forward(x);
        }
        x = norm->forward(regroup(x, level, Group::study, n, d));
        return proj->forward(x.select(1, 0));
    }

    /// The scan-index table for `n` scans (HLIP's sequential embedding): 1D sin-cos over max_scans positions, a random
    /// subset of n (in order of the draw) in training, the first n otherwise.
    torch::Tensor scan_positions(int64_t n) {
        if (n > max_scans) throw std::invalid_argument("a study has " + std::to_string(n) + " scans; setting 'max_scans' allows " + std::to_string(max_scans));
        auto positions = is_training() ? torch::randperm(max_scans, torch::kInt64).narrow(0, 0, n) : torch::arange(n, torch::kInt64);
        return sincos(dim, positions).to(torch::kFloat32);
    }
};
TORCH_MODULE(VisionTower);

/// The keys a text tower attends to in `tokens` [B, L] (int64 ids below `vocabulary`, 1 ≤ L ≤ `context`): where the
/// mask is non-zero (without a mask: where the id is not `pad`), and always position 0, which is pooled. Throws naming
/// the batch tensor or the setting it breaks.
torch::Tensor attended(const torch::Tensor &tokens, const torch::Tensor &mask, int64_t context, int64_t vocabulary, int64_t pad) {
    if (tokens.scalar_type() != torch::kInt64) throw std::invalid_argument("batch tensor 'tokens' must be int64 token ids");
    int64_t length = tokens.size(1);
    if (length < 1 || length > context) {
        throw std::invalid_argument("batch tensor 'tokens' has " + std::to_string(length) + " positions; setting 'context_length' allows 1 to " + std::to_string(context));
    }
    if (tokens.numel() > 0 && (tokens.min().item<int64_t>() < 0 || tokens.max().item<int64_t>() >= vocabulary)) {
        throw std::invalid_argument("batch tensor 'tokens' has ids outside [0, " + std::to_string(vocabulary) + ") (setting 'vocab_size')");
    }
    auto keep = mask.defined() ? mask.ne(0) : tokens.ne(pad);
    keep.select(1, 0).fill_(true);
    return keep;
}

/// The text tower: token and learned position embeddings, blocks with full attention over the non-padding tokens,
/// final norm, pooling at position 0 (the tokenizer's CLS), bias-free projection to the joint space.
struct TextTowerImpl : nn::Module {
    int64_t width, context, vocabulary, pad;
    nn::Embedding token_embedding{nullptr};
    torch::Tensor positional_embedding;
    nn::ModuleList blocks;
    nn::LayerNorm norm{nullptr};
    nn::Linear proj{nullptr};

    TextTowerImpl(const Settings &s, int64_t embed_dim)
        : width(s.integer("text_width", 1)), context(s.integer("context_length", 1)), vocabulary(s.integer("vocab_size", 1)),
          pad(s.integer("pad_id", 0)) {
        int64_t depth = s.integer("text_depth", 1), heads = s.integer("text_heads", 1);
        if (width % heads != 0) throw std::invalid_argument("setting 'text_width' must be divisible by 'text_heads'");
        token_embedding = register_module("token_embedding", nn::Embedding(vocabulary, width));
        positional_embedding = register_parameter("positional_embedding", torch::randn({context, width}) * 0.01);
        blocks = register_module("blocks", nn::ModuleList());
        for (int64_t i = 0; i < depth; i++) blocks->push_back(Block(width, heads, 0.0));
        norm = register_module("norm", layer_norm(width));
        proj = register_module("proj", nn::Linear(nn::LinearOptions(width, embed_dim).bias(false)));
        initialise_linears(*this);
        torch::NoGradGuard no_grad;
        nn::init::normal_(token_embedding->weight, 0.0, 0.02);
    }

    /// Tokens [B, L] (int64) with an optional mask [B, L] (non-zero: a real token; default: token ≠ pad_id) → [B, embed_dim].
    torch::Tensor forward(const torch::Tensor &tokens, const torch::Tensor &mask) {
        auto keep = attended(tokens, mask, context, vocabulary, pad);
        int64_t length = tokens.size(1);
        auto x = token_embedding->forward(tokens) + positional_embedding.narrow(0, 0, length).unsqueeze(0);
        for (size_t i = 0; i < blocks->size(); i++) x = blocks[i]->as<BlockImpl>()->forward(x, keep);
        return proj->forward(norm->forward(x).select(1, 0));
    }
};
TORCH_MODULE(TextTower);

/// One BERT layer with Hugging Face's module names (post-norm): `attention.self.query|key|value`,
/// `attention.output.dense|LayerNorm`, `intermediate.dense` (exact GELU), `output.dense|LayerNorm`.
struct BertLayerImpl : nn::Module {
    int64_t heads;
    nn::Linear query{nullptr}, key{nullptr}, value{nullptr}, attention_dense{nullptr}, intermediate{nullptr}, output_dense{nullptr};
    nn::LayerNorm attention_norm{nullptr}, output_norm{nullptr};

    BertLayerImpl(int64_t width, int64_t heads, int64_t inner, double eps) : heads(heads) {
        auto attention = register_module("attention", std::make_shared<nn::Module>());
        auto self = attention->register_module("self", std::make_shared<nn::Module>());
        query = self->register_module("query", nn::Linear(width, width));
        key = self->register_module("key", nn::Linear(width, width));
        value = self->register_module("value", nn::Linear(width, width));
        auto attention_output = attention->register_module("output", std::make_shared<nn::Module>());
        attention_dense = attention_output->register_module("dense", nn::Linear(width, width));
        attention_norm = attention_output->register_module("LayerNorm", nn::LayerNorm(nn::LayerNormOptions({width}).eps(eps)));
        intermediate = register_module("intermediate", std::make_shared<nn::Module>())->register_module("dense", nn::Linear(width, inner));
        auto output = register_module("output", std::make_shared<nn::Module>());
        output_dense = output->register_module("dense", nn::Linear(inner, width));
        output_norm = output->register_module("LayerNorm", nn::LayerNorm(nn::LayerNormOptions({width}).eps(eps)));
    }

    torch::Tensor forward(const torch::Tensor &x, const torch::Tensor &keep) {
        int64_t batch = x.size(0), length = x.size(1), width = x.size(2), head_dim = width / heads;
        auto split = [&](const torch::Tensor &y) { return y.reshape({batch, length, heads, head_dim}).transpose(1, 2); };
        auto scores = torch::matmul(split(query->forward(x)), split(key->forward(x)).transpose(-2, -1)) / std::sqrt(double(head_dim));
        scores = scores.masked_fill(keep.logical_not().view({batch, 1, 1, length}), -std::numeric_limits<float>::infinity());
        auto mixed = torch::matmul(scores.softmax(-1), split(value->forward(x))).transpose(1, 2).reshape({batch, length, width});
        auto y = attention_norm->forward(x + attention_dense->forward(mixed));
        return output_norm->forward(y + output_dense->forward(torch::gelu(intermediate->forward(y))));
    }
};
TORCH_MODULE(BertLayer);

/// A BERT-family text encoder with Hugging Face's parameter names (`embeddings.*`, `encoder.layer.{i}.*`; no pooler:
/// HLIP pools the last hidden state at [CLS]), so a pretrained checkpoint's tensors load by name, then the bias-free
/// projection to the joint space. Token type 0 throughout. "text_locked" 1 freezes the embeddings and every layer
/// but the last "text_unlocked_layers" (open_clip's HFTextEncoder.lock); the projection always trains.
struct BertTowerImpl : nn::Module {
    int64_t context, vocabulary, pad;
    nn::Embedding word{nullptr}, position{nullptr}, token_type{nullptr};  // position: "text_positions" rows (≥ context)
    nn::LayerNorm norm{nullptr};
    nn::ModuleList layers;
    nn::Linear proj{nullptr};

    BertTowerImpl(const Settings &s, int64_t embed_dim)
        : context(s.integer("context_length", 1)), vocabulary(s.integer("vocab_size", 1)), pad(s.integer("pad_id", 0)) {
        int64_t width = s.integer("text_width", 1), depth = s.integer("text_depth", 1), heads = s.integer("text_heads", 1);
        int64_t inner = s.integer("text_intermediate", 1), types = s.integer("type_vocab_size", 1);
        double eps = s.number("text_norm_eps", 1e-12);
        if (width % heads != 0) throw std::invalid_argument("setting 'text_width' must be divisible by 'text_heads'");
        auto embeddings = register_module("embeddings", std::make_shared<nn::Module>());
        word = embeddings->register_module("word_embeddings", nn::Embedding(vocabulary, width));
        int64_t positions = s.integer("text_positions", context);
        if (positions < context) throw std::invalid_argument("setting 'text_positions' must be at least 'context_length'");
        position = embeddings->register_module("position_embeddings", nn::Embedding(positions, width));
        token_type = embeddings->register_module("token_type_embeddings", nn::Embedding(types, width));
        norm = embeddings->register_module("LayerNorm", nn::LayerNorm(nn::LayerNormOptions({width}).eps(eps)));
        layers = register_module("encoder", std::make_shared<nn::Module>())->register_module("layer", nn::ModuleList());
        for (int64_t i = 0; i < depth; i++) layers->push_back(BertLayer(width, heads, inner, eps));
        proj = register_module("proj", nn::Linear(nn::LinearOptions(width, embed_dim).bias(false)));
        initialise_linears(*this);
        torch::NoGradGuard no_grad;
        for (auto *table : {&word, &position, &token_type}) nn::init::normal_((*table)->weight, 0.0, 0.02);
        if (s.integer("text_locked", 0) != 0) {
            int64_t unlocked = s.integer("text_unlocked_layers", 0);
            if (unlocked > depth) throw std::invalid_argument("setting 'text_unlocked_layers' exceeds the text tower's " + std::to_string(depth) + " layers");
            for (auto &parameter : embeddings->parameters()) parameter.set_requires_grad(false);
            for (int64_t i = 0; i < depth - unlocked; i++) {
                for (auto &parameter : layers[i]->parameters()) parameter.set_requires_grad(false);
            }
        }
    }

    /// Token ids [B, L] with an optional mask [B, L] (non-zero: a real token; default: token ≠ pad_id) → [B, embed_dim],
    /// the projected last hidden state at position 0 ([CLS]).
    torch::Tensor forward(const torch::Tensor &tokens, const torch::Tensor &mask) {
        auto keep = attended(tokens, mask, context, vocabulary, pad);
        int64_t length = tokens.size(1);
        auto positions = torch::arange(length, torch::kInt64);
        auto x = norm->forward(word->forward(tokens) + position->forward(positions).unsqueeze(0) + token_type->forward(torch::zeros_like(positions)).unsqueeze(0));
        for (size_t i = 0; i < layers->size(); i++) x = layers[i]->as<BertLayerImpl>()->forward(x, keep);
        return proj->forward(x.select(1, 0));
    }
};
TORCH_MODULE(BertTower);

/// Settings (all by name): image tower "dim" (divisible by 6), "depth", "heads", "patch_depth|height|width", "pattern"
/// [depth] (0 slice, 1 scan, 2 study; default scan at every third block, slice otherwise), "max_scans" (0: no scan-index
/// embedding), "drop_path" (largest rate, linear over the blocks; default 0); text tower "text_width", "text_depth",
/// "text_heads", "context_length", "vocab_size", "pad_id", and "text_kind" (0: byte-level transformer, the default; 1: BERT
/// with Hugging Face's names, which also reads "text_intermediate", "text_positions" (its position table, at least
/// "context_length"), "type_vocab_size", "text_norm_eps" (default 1e-12),
/// "text_locked" and "text_unlocked_layers"); joint space "embed_dim"; "loss" 0 SigLIP, 1 CLIP; "logit_bias_init", SigLIP's
/// initial bias (default −10, the paper's). All are required but "pattern", "drop_path", "text_kind", "text_norm_eps",
/// "text_locked", "text_unlocked_layers" and "logit_bias_init".
/// Batch: "volumes" [B, N, 1, D, H, W] float32, "tokens" [B, L] int64, optionally "token_mask" [B, L].
class HLIPObjective : public Objective {
public:
    HLIPObjective(nn::Module &net, const Settings &settings)
        : embed_dim_(settings.integer("embed_dim", 1)), clip_(settings.integer("loss", 0) == 1) {
        if (settings.integer("loss", 0) > 1) throw std::invalid_argument("setting 'loss' must be 0 (SigLIP) or 1 (CLIP)");
        visual_ = net.register_module("visual", VisionTower(settings, embed_dim_));
        int64_t text_kind = int64_t(settings.number("text_kind", 0));
        if (text_kind != 0 && text_kind != 1) throw std::invalid_argument("setting 'text_kind' must be 0 (byte-level transformer) or 1 (BERT)");
        if (text_kind == 1) {
            bert_ = net.register_module("text", BertTower(settings, embed_dim_));
        } else {
            text_ = net.register_module("text", TextTower(settings, embed_dim_));
        }
        logit_scale_ = net.register_parameter("logit_scale", torch::scalar_tensor(clip_ ? std::log(1 / 0.07) : std::log(10.0), torch::kFloat32));
        if (!clip_) logit_bias_ = net.register_parameter("logit_bias", torch::scalar_tensor(settings.number("logit_bias_init", -10.0), torch::kFloat32));
    }

    torch::Tensor loss(const Encoder &encoder, const Batch &batch) override { return loss_of_features(features(encoder, batch), true); }

    bool has_features() const override { return true; }

    /// The L2-normalised image and text features of the batch's pairs, [B, embed_dim] each.
    std::vector<torch::Tensor> features(const Encoder &, const Batch &batch) override {
        auto options = torch::nn::functional::NormalizeFuncOptions().dim(1);
        return {torch::nn::functional::normalize(visual_->forward(volumes(batch)), options), torch::nn::functional::normalize(text_features(batch), options)};
    }

    torch::Tensor loss_of_features(const std::vector<torch::Tensor> &features, bool own_gradients) override {
        const auto &image = features.at(0), &text = features.at(1);
        int64_t n = image.size(0);
        auto scale = own_gradients ? logit_scale_ : logit_scale_.detach();
        if (clip_) {  // open_clip ClipLoss: symmetric cross-entropy, scale clamped to ≤ 100
            auto logits = scale.clamp_max(std::log(100.0)).exp() * torch::matmul(image, text.t());
            auto labels = torch::arange(n, torch::kInt64);
            return 0.5 * (torch::nn::functional::cross_entropy(logits, labels) + torch::nn::functional::cross_entropy(logits.t(), labels));
        }
        // open_clip SigLipLoss: −Σ log σ(y_ij (t·x_i·y_j + b)) / n with y = 2I − 1
        auto logits = scale.exp() * torch::matmul(image, text.t()) + (own_gradients ? logit_bias_ : logit_bias_.detach());
        auto signs = 2 * torch::eye(n) - 1;
        return -torch::log_sigmoid(signs * logits).sum() / double(n);
    }

    /// The L2-normalised joint-space features: of the studies when the batch has "volumes", else of its "tokens".
    torch::Tensor predict(const Encoder &, const Batch &batch) override {
        auto features = batch.has("volumes") ? visual_->forward(volumes(batch)) : text_features(batch);
        return torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(1));
    }

    int64_t output_size() const override { return embed_dim_; }

    /// The image tower's projected CLS (not normalised): what the probes read.
    torch::Tensor embed(const Encoder &, const Batch &batch) override { return visual_->forward(volumes(batch)); }

    int64_t embedding_size(const Encoder &) const override { return embed_dim_; }

    bool per_example_loss() const override { return false; }
    /// open_clip's exclusion, as HLIP trains: no weight decay on biases, norm scales and the logit scale and bias (every
    /// parameter with fewer than two dimensions, and any named bias or logit_).
    bool decays(const std::string &name, const torch::Tensor &parameter) const override {
        return parameter.dim() >= 2 && name.find("bias") == std::string::npos && name.find("logit_") == std::string::npos;
    }

private:
    static const torch::Tensor &volumes(const Batch &batch) { return batch.at("volumes", {-1, 1, -1, -1, -1}); }

    torch::Tensor text_features(const Batch &batch) {
        const auto &tokens = batch.at("tokens", {-1});
        torch::Tensor mask;
        if (batch.has("token_mask")) mask = batch.at("token_mask", {tokens.size(1)});
        return bert_ ? bert_->forward(tokens, mask) : text_->forward(tokens, mask);
    }

    int64_t embed_dim_;
    bool clip_;
    VisionTower visual_{nullptr};
    TextTower text_{nullptr};
    BertTower bert_{nullptr};
    torch::Tensor logit_scale_, logit_bias_;
};

}  // namespace

ObjectiveFactory hlip_objective() {
    return [](nn::Module &net, int64_t, const Settings &settings) { return std::make_unique<HLIPObjective>(net, settings); };
}

}  // namespace fct

extern "C" int32_t fct_torch_hlip_regroup(const float *tokens, int64_t studies, int64_t scans, int64_t slices, int64_t slice_tokens,
                                          int64_t channels, fct_torch_hlip_group from, fct_torch_hlip_group to, float *out, int64_t capacity,
                                          char **error) {
    auto fail = [error](const char *message) {
        if (error) *error = strdup(message);
        return int32_t(FCT_TORCH_INVALID_ARGUMENT);
    };
    try {
        using fct::Group;
        auto source = fct::group_of(from, "the source group"), target = fct::group_of(to, "the target group");
        if (!tokens || !out || studies < 1 || scans < 1 || slices < 1 || slice_tokens < 1 || channels < 1) return fail("regrouping needs tokens, room and positive sizes");
        int64_t groups = studies * fct::groups_per_study(source, scans, slices);
        int64_t length = 1 + slice_tokens * scans * slices / fct::groups_per_study(source, scans, slices);
        auto x = torch::from_blob(const_cast<float *>(tokens), {groups, length, channels}, torch::kFloat32);
        auto y = fct::regroup(x, source, target, scans, slices).contiguous();
        if (capacity < y.numel()) return fail("the output has too little room for the regrouped tokens");
        std::memcpy(out, y.data_ptr<float>(), sizeof(float) * size_t(y.numel()));
        return int32_t(FCT_TORCH_OK);
    } catch (const std::exception &e) {
        return fail(e.what());
    }
}
