// fct_torch_encoders.h: the bridge's internal interface to its encoders (MONAI-named 3D ResNet and DenseNet-121).
// Not part of the C ABI: only the bridge's C++ files include it. The encoders live in their own translation unit
// (fct_torch_encoders.cpp) so that changes to the C ABI, optimisers or head do not recompile them, and the two
// files compile in parallel.
#ifndef FCT_TORCH_ENCODERS_H
#define FCT_TORCH_ENCODERS_H

#include "fct_torch.h"

#include <torch/nn.h>

#include <functional>

namespace fct {

/// An encoder registered on a module: its forward pass (volumes [B, 1, D, H, W] → pooled features [B, features])
/// and its feature count. The function holds the encoder's submodules; it stays valid while the module lives.
struct Encoder {
    std::function<torch::Tensor(const torch::Tensor &)> embed;
    int64_t features = 0;
};

/// Registers the encoder `config` names on `net` under MONAI's top-level names (ResNet: conv1, bn1, layer1…layer4;
/// DenseNet-121: features); none for FCT_TORCH_ARCH_NONE (features 0, embed throws). Throws std::invalid_argument for an unsupported architecture, depth or width.
Encoder register_encoder(torch::nn::Module &net, const fct_torch_model_config &config);

/// Initialises the encoder's convolutions as MONAI does (ResNet: Kaiming-normal fan-out; DenseNet: Kaiming-normal
/// fan-in). Called after the head is registered, so the random draws keep their order.
void initialise_encoder(torch::nn::Module &net, const fct_torch_model_config &config);

}  // namespace fct

#endif
