/* fct_torch: the C ABI over libtorch for FedCT — 3D ResNet encoder, MOTOR time-to-event head, AdamW, flat state. */
#ifndef FCT_TORCH_H
#define FCT_TORCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An encoder + time-to-event head with its optimizer. Opaque; free with fct_torch_model_free. */
typedef struct fct_torch_model fct_torch_model;

/** Normalisation layers of the encoder. */
typedef enum fct_torch_norm { FCT_TORCH_NORM_BATCH = 0, FCT_TORCH_NORM_GROUP = 1, FCT_TORCH_NORM_INSTANCE = 2 } fct_torch_norm;

typedef struct fct_torch_model_config {
    /** ResNet depth: 10, 18 or 34 (basic blocks). */
    int32_t depth;
    /** Channels of the first stage; stages have w, 2w, 4w, 8w channels; the embedding has 8w features. */
    int32_t width;
    /** Stride of the 7x7x7 stem convolution. */
    int32_t stem_stride;
    fct_torch_norm norm;
    int32_t tasks;
    int32_t pieces;
    int32_t rank;
    /** `tasks` initial values of head.task_bias (log2 base hazards), or NULL for zeros. */
    const float *task_log2_base_hazard;
    uint64_t seed;
} fct_torch_model_config;

/* Every function returning int32_t returns 0 on success; otherwise it stores a malloc'd message in
 * *error (when error is not NULL) that the caller frees with fct_torch_free_string. */

void fct_torch_free_string(char *string);
/** Sets the intra-op thread count (and, the first time, the inter-op thread count). */
void fct_torch_set_num_threads(int32_t threads);
void fct_torch_manual_seed(uint64_t seed);
/** The libtorch version string (static storage). */
const char *fct_torch_version(void);

int32_t fct_torch_model_create(const fct_torch_model_config *config, fct_torch_model **out, char **error);
void fct_torch_model_free(fct_torch_model *model);

/** The flat state: parameters in registration order, then floating-point buffers (BatchNorm running statistics). */
int32_t fct_torch_model_tensor_count(const fct_torch_model *model);
/** Name, rank and shape of state tensor `index`; pointers stay valid for the model's lifetime. */
int32_t fct_torch_model_tensor_info(const fct_torch_model *model, int32_t index, const char **name, int32_t *ndim, const int64_t **shape);
int64_t fct_torch_model_state_size(const fct_torch_model *model);
int64_t fct_torch_model_embedding_dim(const fct_torch_model *model);
int32_t fct_torch_model_export_state(fct_torch_model *model, float *destination, int64_t count, char **error);
int32_t fct_torch_model_import_state(fct_torch_model *model, const float *source, int64_t count, char **error);

/** Replaces the optimizer with a fresh AdamW. */
int32_t fct_torch_model_reset_optimizer(fct_torch_model *model, double learning_rate, double weight_decay,
                                        double beta1, double beta2, double eps, char **error);

/**
 * One optimisation step on a batch. `volumes` is [batch, 1, depth, height, width] float32, read in place
 * (not copied). `time_at_risk` and `event` are [batch, pieces, tasks]. Writes the batch loss.
 */
int32_t fct_torch_model_train_step(fct_torch_model *model, const float *volumes, int64_t batch, int64_t depth,
                                   int64_t height, int64_t width, const float *time_at_risk, const float *event,
                                   float *loss, char **error);
/** The loss of a batch in evaluation mode, without gradients or an update. */
int32_t fct_torch_model_eval_loss(fct_torch_model *model, const float *volumes, int64_t batch, int64_t depth,
                                  int64_t height, int64_t width, const float *time_at_risk, const float *event,
                                  float *loss, char **error);
/** Embeddings [batch, embedding_dim] of a batch, in evaluation mode. */
int32_t fct_torch_model_embed(fct_torch_model *model, const float *volumes, int64_t batch, int64_t depth,
                              int64_t height, int64_t width, float *embeddings, char **error);

/**
 * The piecewise-exponential time-to-event loss on given log2 hazards [batch, pieces, tasks]:
 * mean(2^z · t) − mean(δ · z · ln 2). The same function the training step uses.
 */
int32_t fct_torch_tte_loss(const float *log2_hazard, const float *time_at_risk, const float *event, int64_t batch,
                           int64_t pieces, int64_t tasks, double *loss, char **error);

#ifdef __cplusplus
}
#endif

#endif
