/* fct_torch_device: which compute devices the linked libtorch offers (CUDA or CPU only). Same conventions as
 * fct_torch.h; kept apart from it so device queries do not touch the model ABI. */
#ifndef FCT_TORCH_DEVICE_H
#define FCT_TORCH_DEVICE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when the linked libtorch was built with CUDA (its CUDA library loaded), 0 for a CPU-only libtorch such as
 * Debian's. Never fails. */
int32_t fct_torch_has_cuda(void);

/** The number of CUDA devices libtorch sees (0 for a CPU-only libtorch, or when the driver reports none or fails).
 * Never fails. */
int32_t fct_torch_cuda_device_count(void);

#ifdef __cplusplus
}
#endif

#endif
