// fct_torch_device.cpp: the device queries of fct_torch_device.h (CUDA built in? how many devices?).
#include "fct_torch_device.h"

#include <ATen/Context.h>
#include <torch/cuda.h>

#include <limits>

extern "C" int32_t fct_torch_has_cuda(void) {
    try {
        return at::hasCUDA() ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

extern "C" int32_t fct_torch_cuda_device_count(void) {
    try {
        auto count = torch::cuda::device_count();
        return static_cast<int32_t>(std::min<size_t>(count, std::numeric_limits<int32_t>::max()));
    } catch (...) {
        return 0;
    }
}
