// fct_torch_objectives.cpp: the registry of pretraining objectives, and the named batch and settings they read.
#include "fct_torch_objective.h"

#include <stdexcept>

namespace fct {

const std::map<std::string, ObjectiveFactory> &objectives() {
    // Adding an objective: its own fct_torch_<name>.cpp defining a factory, declared in fct_torch_objective.h, and one line here.
    static const std::map<std::string, ObjectiveFactory> registry = {
        {"tte", tte_objective()},
        {"reconstruction", reconstruction_objective()},
        {"hlip", hlip_objective()},
        {"medform", medform_objective()},
    };
    return registry;
}

namespace {

torch::Tensor wrap(const fct_torch_tensor &tensor, const char *what) {
    std::string name = tensor.name ? tensor.name : "";
    if (name.empty()) throw std::invalid_argument(std::string(what) + " tensor without a name");
    if (tensor.ndim < 0 || tensor.ndim > 8 || (tensor.ndim > 0 && !tensor.shape)) {
        throw std::invalid_argument(std::string(what) + " tensor '" + name + "' has an invalid shape");
    }
    std::vector<int64_t> shape(tensor.shape, tensor.shape + tensor.ndim);
    int64_t count = 1;
    for (auto extent : shape) {
        if (extent < 0) throw std::invalid_argument(std::string(what) + " tensor '" + name + "' has a negative extent");
        count *= extent;
    }
    if (count > 0 && !tensor.data) throw std::invalid_argument(std::string(what) + " tensor '" + name + "' has no data");
    auto type = tensor.dtype == FCT_TORCH_INT64 ? torch::kInt64 : torch::kFloat32;
    if (tensor.dtype != FCT_TORCH_FLOAT32 && tensor.dtype != FCT_TORCH_INT64) {
        throw std::invalid_argument(std::string(what) + " tensor '" + name + "' has an unknown element type");
    }
    if (count == 0) return torch::empty(shape, type);
    return torch::from_blob(const_cast<void *>(tensor.data), shape, type);
}

std::string describe(const std::vector<int64_t> &shape) {
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); i++) text += (i ? ", " : "") + (shape[i] < 0 ? std::string("*") : std::to_string(shape[i]));
    return text + "]";
}

}  // namespace

Batch::Batch(const fct_torch_tensor *tensors, int32_t count) {
    if (count < 0 || (count > 0 && !tensors)) throw std::invalid_argument("a batch needs its tensors");
    bool first = true;
    for (int32_t i = 0; i < count; i++) {
        auto tensor = wrap(tensors[i], "batch");
        std::string name = tensors[i].name;
        if (tensor.dim() == 0) throw std::invalid_argument("batch tensor '" + name + "' needs the examples as its first dimension");
        if (!tensors_.emplace(name, tensor).second) throw std::invalid_argument("batch tensor '" + name + "' given twice");
        if (first) size_ = tensor.size(0);
        else if (tensor.size(0) != size_) {
            throw std::invalid_argument("batch tensor '" + name + "' has " + std::to_string(tensor.size(0)) + " examples, the others " + std::to_string(size_));
        }
        first = false;
    }
}

const torch::Tensor &Batch::at(const std::string &name) const {
    auto found = tensors_.find(name);
    if (found == tensors_.end()) throw std::invalid_argument("the batch has no tensor '" + name + "', which the objective reads");
    return found->second;
}

const torch::Tensor &Batch::at(const std::string &name, const std::vector<int64_t> &shape) const {
    const auto &tensor = at(name);
    bool fits = tensor.dim() == int64_t(shape.size()) + 1;
    for (size_t i = 0; fits && i < shape.size(); i++) fits = shape[i] < 0 || tensor.size(int64_t(i) + 1) == shape[i];
    if (!fits) {
        throw std::invalid_argument("batch tensor '" + name + "' has shape " + describe(tensor.sizes().vec()) + "; the objective needs [examples] + " + describe(shape));
    }
    return tensor;
}

Batch Batch::slice(int64_t start, int64_t length) const {
    Batch part;
    for (const auto &[name, tensor] : tensors_) part.tensors_.emplace(name, tensor.narrow(0, start, length));
    part.size_ = length;
    return part;
}

Settings::Settings(const fct_torch_tensor *settings, int32_t count) {
    if (count < 0 || (count > 0 && !settings)) throw std::invalid_argument("objective settings missing");
    for (int32_t i = 0; i < count; i++) {
        auto value = wrap(settings[i], "setting").to(torch::kFloat64).clone();
        if (!values_.emplace(settings[i].name, value).second) throw std::invalid_argument(std::string("setting '") + settings[i].name + "' given twice");
    }
}

int64_t Settings::integer(const std::string &name, int64_t minimum) const {
    auto found = values_.find(name);
    if (found == values_.end() || found->second.numel() != 1) throw std::invalid_argument("the objective needs the setting '" + name + "' (one number)");
    double value = found->second.item<double>();
    if (value != double(int64_t(value)) || value < double(minimum)) {
        throw std::invalid_argument("setting '" + name + "' must be a whole number ≥ " + std::to_string(minimum));
    }
    return int64_t(value);
}

double Settings::number(const std::string &name, double fallback) const {
    auto found = values_.find(name);
    if (found == values_.end()) return fallback;
    if (found->second.numel() != 1) throw std::invalid_argument("setting '" + name + "' must be one number");
    return found->second.item<double>();
}

torch::Tensor Settings::vector(const std::string &name, int64_t count) const {
    auto found = values_.find(name);
    if (found == values_.end()) return {};
    if (found->second.numel() != count) {
        throw std::invalid_argument("setting '" + name + "' has " + std::to_string(found->second.numel()) + " values; the objective needs " + std::to_string(count));
    }
    return found->second.to(torch::kFloat32).reshape({count});
}

}  // namespace fct
