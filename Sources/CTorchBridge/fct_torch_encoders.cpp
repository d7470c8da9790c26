// fct_torch_encoders.cpp: the bridge's encoders with MONAI's module names — 3D ResNet 10/18/34/50 and DenseNet-121.
#include "fct_torch_encoders.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace fct {
namespace {

namespace nn = torch::nn;

nn::AnyModule make_norm(fct_torch_norm kind, int64_t channels) {
    switch (kind) {
    case FCT_TORCH_NORM_BATCH:
        return nn::AnyModule(nn::BatchNorm3d(nn::BatchNorm3dOptions(channels)));
    case FCT_TORCH_NORM_INSTANCE:
        return nn::AnyModule(nn::InstanceNorm3d(nn::InstanceNorm3dOptions(channels).affine(true)));
    case FCT_TORCH_NORM_GROUP: {
        int64_t groups = std::min<int64_t>(8, channels);
        while (channels % groups != 0) groups--;
        return nn::AnyModule(nn::GroupNorm(nn::GroupNormOptions(groups, channels)));
    }
    }
    throw std::invalid_argument("unknown norm kind");
}

nn::Conv3d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
    return nn::Conv3d(nn::Conv3dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

/// MONAI's shortcut type B: a 1³ convolution and a norm, registered as downsample.0 and downsample.1.
nn::Sequential projection(int64_t in, int64_t out, int64_t stride, fct_torch_norm norm) {
    nn::Sequential shortcut;
    shortcut->push_back(conv(in, out, 1, stride, 0));
    shortcut->push_back(make_norm(norm, out));
    return shortcut;
}

/// MONAI's ResNetBlock: conv-norm-relu-conv-norm, plus an identity or projected shortcut.
struct BasicBlockImpl : nn::Module {
    static constexpr int64_t expansion = 1;
    nn::Conv3d conv1{nullptr}, conv2{nullptr};
    nn::AnyModule bn1, bn2;
    nn::Sequential downsample{nullptr};

    BasicBlockImpl(int64_t in, int64_t planes, int64_t stride, fct_torch_norm norm) {
        conv1 = register_module("conv1", conv(in, planes, 3, stride, 1));
        bn1 = make_norm(norm, planes);
        register_module("bn1", bn1.ptr());
        conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
        bn2 = make_norm(norm, planes);
        register_module("bn2", bn2.ptr());
        if (stride != 1 || in != planes) downsample = register_module("downsample", projection(in, planes, stride, norm));
    }

    torch::Tensor forward(const torch::Tensor &x) {
        auto out = torch::relu(bn1.forward(conv1->forward(x)));
        out = bn2.forward(conv2->forward(out));
        auto shortcut = downsample ? downsample->forward(x) : x;
        return torch::relu(out + shortcut);
    }
};
TORCH_MODULE(BasicBlock);

/// MONAI's ResNetBottleneck: 1³ conv to `planes`, 3³ conv (with the stride), 1³ conv to 4·planes, each followed by a
/// norm, ReLU between and after the residual sum.
struct BottleneckImpl : nn::Module {
    static constexpr int64_t expansion = 4;
    nn::Conv3d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
    nn::AnyModule bn1, bn2, bn3;
    nn::Sequential downsample{nullptr};

    BottleneckImpl(int64_t in, int64_t planes, int64_t stride, fct_torch_norm norm) {
        conv1 = register_module("conv1", conv(in, planes, 1, 1, 0));
        bn1 = make_norm(norm, planes);
        register_module("bn1", bn1.ptr());
        conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
        bn2 = make_norm(norm, planes);
        register_module("bn2", bn2.ptr());
        conv3 = register_module("conv3", conv(planes, planes * expansion, 1, 1, 0));
        bn3 = make_norm(norm, planes * expansion);
        register_module("bn3", bn3.ptr());
        if (stride != 1 || in != planes * expansion) {
            downsample = register_module("downsample", projection(in, planes * expansion, stride, norm));
        }
    }

    torch::Tensor forward(const torch::Tensor &x) {
        auto out = torch::relu(bn1.forward(conv1->forward(x)));
        out = torch::relu(bn2.forward(conv2->forward(out)));
        out = bn3.forward(conv3->forward(out));
        auto shortcut = downsample ? downsample->forward(x) : x;
        return torch::relu(out + shortcut);
    }
};
TORCH_MODULE(Bottleneck);

/// Registers stages layer1…layer4 of `Block` on `net` (planes w, 2w, 4w, 8w; strides 1, 2, 2, 2) and returns them;
/// `in` ends as the last stage's output channels.
template <typename Block>
std::vector<nn::Sequential> register_stages(nn::Module &net, const std::vector<int64_t> &blocks, int64_t width,
                                            fct_torch_norm norm, int64_t &in) {
    std::vector<nn::Sequential> stages;
    for (int stage = 0; stage < 4; stage++) {
        int64_t planes = width << stage;
        nn::Sequential layer;
        for (int64_t b = 0; b < blocks[stage]; b++) {
            layer->push_back(Block(in, planes, (b == 0 && stage > 0) ? 2 : 1, norm));
            in = planes * Block::Impl::expansion;
        }
        stages.push_back(net.register_module("layer" + std::to_string(stage + 1), layer));
    }
    return stages;
}

/// MONAI's ResNet (spatial_dims 3, one input channel, shortcut B, no bias on the downsampling convolution, no fc):
/// stem conv 7³ → norm → ReLU → max-pool 3/2 → four stages → global average pool.
Encoder register_resnet(nn::Module &net, const fct_torch_model_config &c) {
    std::vector<int64_t> blocks;
    bool bottleneck = false;
    switch (c.depth) {
    case 10: blocks = {1, 1, 1, 1}; break;
    case 18: blocks = {2, 2, 2, 2}; break;
    case 34: blocks = {3, 4, 6, 3}; break;
    case 50: blocks = {3, 4, 6, 3}; bottleneck = true; break;
    default: throw std::invalid_argument("ResNet depth " + std::to_string(c.depth) + " is not supported (10, 18, 34, 50)");
    }
    if (c.width < 1) throw std::invalid_argument("ResNet width must be at least 1");
    int64_t in = c.width;
    nn::Conv3d conv1 = net.register_module("conv1", conv(1, c.width, 7, std::max(1, c.stem_stride), 3));
    auto bn1 = make_norm(c.norm, c.width);
    net.register_module("bn1", bn1.ptr());
    auto stages = bottleneck ? register_stages<Bottleneck>(net, blocks, c.width, c.norm, in)
                             : register_stages<BasicBlock>(net, blocks, c.width, c.norm, in);
    Encoder encoder;
    encoder.features = in;
    encoder.embed = [conv1, bn1, stages](const torch::Tensor &x) mutable {
        auto out = torch::relu(bn1.forward(conv1->forward(x)));
        out = torch::max_pool3d(out, 3, 2, 1);
        for (auto &stage : stages) out = stage->forward(out);
        return torch::adaptive_avg_pool3d(out, {1, 1, 1}).flatten(1);
    };
    return encoder;
}

/// Named modules applied one after another, like torch.nn.Sequential; libtorch's Sequential cannot hold another
/// Sequential (its forward is a template), and DenseNet's `features` holds blocks and transitions that are sequences.
struct ChainImpl : nn::Module {
    std::vector<nn::AnyModule> steps;

    void add(const std::string &name, nn::AnyModule module) {
        register_module(name, module.ptr());
        steps.push_back(std::move(module));
    }

    torch::Tensor forward(torch::Tensor x) {
        for (auto &step : steps) x = step.forward(x);
        return x;
    }
};
TORCH_MODULE(Chain);

/// MONAI's _DenseLayer: `layers` = norm1, relu1, conv1 (1³, bn_size·growth), norm2, relu2, conv2 (3³, growth); the
/// output is the input with the new features appended.
struct DenseLayerImpl : nn::Module {
    nn::Sequential layers{nullptr};

    DenseLayerImpl(int64_t in, int64_t growth, int64_t bn_size, fct_torch_norm norm) {
        nn::Sequential body;
        body->push_back("norm1", make_norm(norm, in));
        body->push_back("relu1", nn::ReLU(nn::ReLUOptions(true)));
        body->push_back("conv1", conv(in, bn_size * growth, 1, 1, 0));
        body->push_back("norm2", make_norm(norm, bn_size * growth));
        body->push_back("relu2", nn::ReLU(nn::ReLUOptions(true)));
        body->push_back("conv2", conv(bn_size * growth, growth, 3, 1, 1));
        layers = register_module("layers", body);
    }

    torch::Tensor forward(const torch::Tensor &x) { return torch::cat({x, layers->forward(x)}, 1); }
};
TORCH_MODULE(DenseLayer);

/// MONAI's DenseNet121 (spatial_dims 3, in_channels 1, bn_size 4, block_config 6/12/24/16) with init_features = width
/// and growth_rate = width / 2 (64 and 32 in MONAI's default): `features` = conv0 (7³, stride stem_stride), norm0,
/// relu0, pool0 (max 3/2), denseblock1…4 with transition1…3 (norm, relu, 1³ conv halving the channels, avg-pool 2)
/// between them, norm5; then, as MONAI's class_layers before its output layer: ReLU, global average pool, flatten.
Encoder register_densenet121(nn::Module &net, const fct_torch_model_config &c) {
    if (c.width < 2 || c.width % 2 != 0) {
        throw std::invalid_argument("DenseNet-121 width (initial features) must be even and at least 2, got " + std::to_string(c.width));
    }
    const int64_t growth = c.width / 2, bn_size = 4;
    const std::vector<int64_t> block_config = {6, 12, 24, 16};
    Chain features;
    features->add("conv0", nn::AnyModule(conv(1, c.width, 7, std::max(1, c.stem_stride), 3)));
    features->add("norm0", make_norm(c.norm, c.width));
    features->add("relu0", nn::AnyModule(nn::ReLU(nn::ReLUOptions(true))));
    features->add("pool0", nn::AnyModule(nn::MaxPool3d(nn::MaxPool3dOptions(3).stride(2).padding(1))));
    int64_t channels = c.width;
    for (size_t block = 0; block < block_config.size(); block++) {
        Chain dense;
        for (int64_t layer = 0; layer < block_config[block]; layer++) {
            dense->add("denselayer" + std::to_string(layer + 1), nn::AnyModule(DenseLayer(channels, growth, bn_size, c.norm)));
            channels += growth;
        }
        features->add("denseblock" + std::to_string(block + 1), nn::AnyModule(dense));
        if (block + 1 == block_config.size()) {
            features->add("norm5", make_norm(c.norm, channels));
        } else {
            Chain transition;
            transition->add("norm", make_norm(c.norm, channels));
            transition->add("relu", nn::AnyModule(nn::ReLU(nn::ReLUOptions(true))));
            transition->add("conv", nn::AnyModule(conv(channels, channels / 2, 1, 1, 0)));
            transition->add("pool", nn::AnyModule(nn::AvgPool3d(nn::AvgPool3dOptions(2).stride(2))));
            features->add("transition" + std::to_string(block + 1), nn::AnyModule(transition));
            channels /= 2;
        }
    }
    net.register_module("features", features);
    Encoder encoder;
    encoder.features = channels;
    encoder.embed = [features](const torch::Tensor &x) mutable {
        return torch::adaptive_avg_pool3d(torch::relu(features->forward(x)), {1, 1, 1}).flatten(1);
    };
    return encoder;
}

}  // namespace

Encoder register_encoder(nn::Module &net, const fct_torch_model_config &config) {
    switch (config.architecture) {
    case FCT_TORCH_ARCH_RESNET: return register_resnet(net, config);
    case FCT_TORCH_ARCH_DENSENET121: return register_densenet121(net, config);
    case FCT_TORCH_ARCH_NONE:
        return {[](const torch::Tensor &) -> torch::Tensor {
                    throw std::invalid_argument("this model has no shared encoder (architecture none): its objective carries its own image tower");
                },
                0};
    }
    throw std::invalid_argument("unknown encoder architecture " + std::to_string(int(config.architecture)));
}

void initialise_encoder(nn::Module &net, const fct_torch_model_config &config) {
    if (config.architecture == FCT_TORCH_ARCH_NONE) return;  // the objective initialised its own tower
    nn::init::FanModeType mode = torch::kFanIn;
    if (config.architecture == FCT_TORCH_ARCH_RESNET) mode = torch::kFanOut;
    for (auto &module : net.modules(false)) {
        if (auto *convolution = module->as<nn::Conv3d>()) nn::init::kaiming_normal_(convolution->weight, 0.0, mode, torch::kReLU);
    }
}

}  // namespace fct
