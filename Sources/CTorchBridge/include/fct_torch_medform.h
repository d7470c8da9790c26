/* fct_torch_medform: test hooks into MEDFORM's parts (fct_torch_medform.cpp) — stage 1's NT-Xent loss and slice
 * augmentation, stage 2's InfoNCE loss and attention-MIL pooling: the same C++ the training step runs. Same conventions
 * as fct_torch.h. */
#ifndef FCT_TORCH_MEDFORM_H
#define FCT_TORCH_MEDFORM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The random slice augmentation SimCLR's views are drawn from (each view independently). */
typedef struct fct_torch_medform_augmentation {
    /** Random resized crop: area fraction drawn from [crop_min_scale, 1], aspect ratio log-uniform in [3/4, 4/3],
     *  resampled bilinearly to the slice's size (a crop that does not fit is the whole slice); the crop is mirrored
     *  left–right with probability 1/2. */
    double crop_min_scale;
    /** With probability 0.8: contrast factor from [1 − jitter, 1 + jitter] about the view's mean, and a brightness shift
     *  from [−jitter, jitter] view standard deviations. 0: none. */
    double jitter;
    /** Probability of a Gaussian blur, σ from [0.1, 2] pixels, kernel about a tenth of the slice. */
    double blur_probability;
    /** Gaussian noise with a standard deviation drawn from [0, noise_std] (input units). 0: none. */
    double noise_std;
} fct_torch_medform_augmentation;

/**
 * SimCLR's NT-Xent loss (Chen et al. 2020) of `pairs` positive pairs: `first` and `second` are [pairs, dim] (row i of
 * each is one slice's two views), L2-normalised inside; each of the 2·pairs views is classified against the other
 * 2·pairs − 1 by cosine similarity / temperature; the mean cross-entropy of picking its partner.
 */
int32_t fct_torch_medform_nt_xent(const float *first, const float *second, int64_t pairs, int64_t dim, double temperature,
                                  double *loss, char **error);

/**
 * One augmented view of each of `count` slices [count, height, width], drawn from a generator seeded with `seed`,
 * written to `out` (room for count · height · width floats).
 */
int32_t fct_torch_medform_augment(const float *slices, int64_t count, int64_t height, int64_t width,
                                  const fct_torch_medform_augmentation *augmentation, uint64_t seed, float *out, char **error);

/**
 * MEDFORM stage 2's symmetric InfoNCE loss of `pairs` (CT, clinical) embedding pairs, [pairs, dim] each, L2-normalised
 * inside: logits = ct · clinicalᵀ / temperature, the mean of the rows' and the columns' cross-entropy of the diagonal.
 */
int32_t fct_torch_medform_info_nce(const float *ct, const float *clinical, int64_t pairs, int64_t dim, double temperature,
                                   double *loss, char **error);

/**
 * Stage 2's attention-MIL pooling (pre-attention MLP, gated attention, weighted sum; evaluation mode) of `bags` bags of
 * `slices` feature vectors [bags, slices, dim], with `hidden` attention units and parameters drawn from a generator
 * seeded with `seed`: the attention weights [bags, slices] to `weights`, the bags' embeddings [bags, dim] to `pooled`.
 */
int32_t fct_torch_medform_attention_pool(const float *features, int64_t bags, int64_t slices, int64_t dim, int64_t hidden,
                                         uint64_t seed, float *weights, float *pooled, char **error);

#ifdef __cplusplus
}
#endif

#endif
