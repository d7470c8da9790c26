/* fct_torch: the C ABI over libtorch for FedCT — 3D ResNet / DenseNet-121 encoders, pretraining objectives (their heads and
 * losses, chosen by name: the MOTOR time-to-event head, …), optimisers, gradient accumulation, DP-SGD, flat state.
 *
 * Conventions (after mlx-c): every name is prefixed fct_torch_; no C++ type crosses this header; handles are
 * opaque pointers freed by their _free function; no C++ exception escapes a call. A model handle is not
 * thread-safe: use it from one thread at a time (different models may run concurrently; they share libtorch's
 * intra-op thread pool). Tensors are row-major and contiguous, float32 unless a fct_torch_tensor says int64. */
#ifndef FCT_TORCH_H
#define FCT_TORCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An encoder + an objective's parts (heads, towers) with its optimizer. Opaque; free with fct_torch_model_free. */
typedef struct fct_torch_model fct_torch_model;
/** A data-parallel group of processes (c10d ProcessGroupGloo) training one site's model. Opaque; free with
 * fct_torch_group_free (a model attached to it keeps it alive until detached or freed). */
typedef struct fct_torch_group fct_torch_group;

/** Status codes of the functions returning int32_t. */
enum {
    /** Success. */
    FCT_TORCH_OK = 0,
    /** An argument was rejected by the bridge's own checks (configuration, counts, index). */
    FCT_TORCH_INVALID_ARGUMENT = 1,
    /** libtorch raised an error (c10::Error), e.g. a volume too small for the network. */
    FCT_TORCH_TORCH_ERROR = 2,
    /** Any other C++ exception (std::bad_alloc, ...). */
    FCT_TORCH_INTERNAL_ERROR = 3,
};

/** Encoder architectures, with MONAI's module names (monai.networks.nets.ResNet and DenseNet121). FCT_TORCH_ARCH_NONE
 * registers no shared encoder: the objective carries its own image tower (HLIP's hierarchical ViT). */
typedef enum fct_torch_architecture { FCT_TORCH_ARCH_RESNET = 0, FCT_TORCH_ARCH_DENSENET121 = 1, FCT_TORCH_ARCH_NONE = 2 } fct_torch_architecture;

/** Optimisers (libtorch's, as PyTorch's): AdamW (decoupled weight decay), Adam (weight decay added to the gradient, L2),
 * SGD with momentum. */
typedef enum fct_torch_optimizer { FCT_TORCH_OPTIMIZER_ADAMW = 0, FCT_TORCH_OPTIMIZER_ADAM = 1, FCT_TORCH_OPTIMIZER_SGD = 2 } fct_torch_optimizer;

/** Normalisation layers of the encoder, registered under MONAI's names (ResNet: bn1, bn2, bn3, downsample.1;
 * DenseNet: norm0, norm1, norm2, norm, norm5):
 * BatchNorm3d with running statistics; GroupNorm with the largest group count <= 8 dividing the channels;
 * InstanceNorm3d with affine parameters and no running statistics. eps 1e-5 throughout. */
typedef enum fct_torch_norm { FCT_TORCH_NORM_BATCH = 0, FCT_TORCH_NORM_GROUP = 1, FCT_TORCH_NORM_INSTANCE = 2 } fct_torch_norm;

/** Element types of a fct_torch_tensor. */
typedef enum fct_torch_dtype { FCT_TORCH_FLOAT32 = 0, FCT_TORCH_INT64 = 1 } fct_torch_dtype;

/** A named tensor lent to the bridge for one call: `data` holds the product of `shape` elements of `dtype`, row-major,
 * and is read in place (not copied, not written). Batches are arrays of these: the objective names the inputs and
 * targets it reads (the time-to-event objective: "volumes" [B, 1, D, H, W], "time_at_risk" and "event" [B, P, T]);
 * every tensor of a batch has the batch's examples along its first dimension. Objective settings are arrays of these
 * too (scalars have ndim 0). */
typedef struct fct_torch_tensor {
    const char *name;
    fct_torch_dtype dtype;
    const void *data;
    int32_t ndim;
    const int64_t *shape;
} fct_torch_tensor;

typedef struct fct_torch_model_config {
    /** The encoder family. */
    fct_torch_architecture architecture;
    /** ResNet depth: 10, 18 or 34 (basic blocks; layers [1,1,1,1], [2,2,2,2], [3,4,6,3]) or 50 (bottleneck blocks,
     * [3,4,6,3], expansion 4). Ignored by DenseNet-121. */
    int32_t depth;
    /** ResNet: channels of the first stage; stages have w, 2w, 4w, 8w planes; the embedding has 8w features (32w for
     * depth 50). DenseNet-121: init_features (even; growth rate w/2, so 64 is MONAI's default); the embedding has
     * 16w features. */
    int32_t width;
    /** Stride of the 7x7x7 stem convolution (padding 3); values below 1 are taken as 1 (MONAI's DenseNet uses 2). */
    int32_t stem_stride;
    /** Normalisation layer kind. */
    fct_torch_norm norm;
    /** The objective whose parts sit on the encoder, by registered name (fct_torch_objective_names): "tte" (the MOTOR
     * time-to-event head: settings "tasks", "pieces", "rank" and optionally "task_log2_base_hazard" [tasks]), … */
    const char *objective;
    /** The objective's settings, by name; copied where kept. */
    const fct_torch_tensor *settings;
    int32_t setting_count;
    /** Initialisation seed: the same configuration and seed give a bit-identical initial state. */
    uint64_t seed;
} fct_torch_model_config;

/* Every function returning int32_t returns FCT_TORCH_OK on success; otherwise one of the codes above, and it
 * stores a malloc'd message in *error (when error is not NULL) that the caller frees with fct_torch_free_string. */

/** Frees a message returned through an error out-parameter. NULL is allowed. */
void fct_torch_free_string(char *string);
/** Sets the intra-op thread count (and, the first time, the inter-op thread count). */
void fct_torch_set_num_threads(int32_t threads);
/** Seeds libtorch's global CPU generator (model creation re-seeds it from config.seed). */
void fct_torch_manual_seed(uint64_t seed);
/** Lets every thread allocate from glibc's main malloc arena (mallopt M_ARENA_MAX 1): libtorch's tensors of several
 * MiB then reuse memory across training steps instead of coming from a per-thread arena's 64 MiB heaps, which glibc
 * unmaps when they empty and the next step faults in again. glibc fixes the arena limit when a second thread first
 * allocates, so call it before the process starts a thread. Returns 1 when set. */
int32_t fct_torch_use_one_malloc_arena(void);
/** The number of glibc malloc arenas the process has now (from malloc_info), or -1 when it cannot be read. */
int32_t fct_torch_malloc_arena_count(void);
/** The libtorch version string (static storage). */
const char *fct_torch_version(void);
/** The registered objectives' names, comma-separated (static storage). */
const char *fct_torch_objective_names(void);

/** Builds a model with a fresh AdamW (lr 1e-3, weight decay 1e-2, betas 0.9/0.999, eps 1e-8). Seeding and initialisation run under a
 * process-wide lock, so models created concurrently are still deterministic. The config is copied. */
int32_t fct_torch_model_create(const fct_torch_model_config *config, fct_torch_model **out, char **error);
/** Frees a model. NULL is allowed. */
void fct_torch_model_free(fct_torch_model *model);

/** The number of tensors in the flat state. State order: named_parameters() (module registration pre-order),
 * then the floating-point buffers in named_buffers() order (BatchNorm running_mean/running_var);
 * int64 num_batches_tracked counters are left out. */
int32_t fct_torch_model_tensor_count(const fct_torch_model *model);
/** Name, rank, shape and element count of state tensor `index`; name and shape stay valid for the model's
 * lifetime. Returns FCT_TORCH_INVALID_ARGUMENT (and writes nothing) for an index out of range. */
int32_t fct_torch_model_tensor_info(const fct_torch_model *model, int32_t index, const char **name, int32_t *ndim,
                                    const int64_t **shape, int64_t *numel);
/** Total floats in the flat state (sum of the tensors' element counts). */
int64_t fct_torch_model_state_size(const fct_torch_model *model);
/** Features per embedding (the encoder's pooled features, or the objective's embedding when it defines one). */
int64_t fct_torch_model_embedding_dim(const fct_torch_model *model);
/** Floats per example that fct_torch_model_predict writes (the time-to-event objective: pieces × tasks log2 hazards). */
int64_t fct_torch_model_output_size(const fct_torch_model *model);
/** 1 when the objective's loss is a mean of per-example terms (so DP-SGD can clip per example), 0 when it couples the
 * examples of a batch (contrastive losses). */
int32_t fct_torch_model_per_example_loss(const fct_torch_model *model);
/** Copies the flat state into `destination` (`count` must equal the state size). */
int32_t fct_torch_model_export_state(fct_torch_model *model, float *destination, int64_t count, char **error);
/** Overwrites the flat state from `source` (`count` must equal the state size), without autograd. Bit-exact:
 * exporting afterwards returns the same bits. The optimizer's moments are kept. */
int32_t fct_torch_model_import_state(fct_torch_model *model, const float *source, int64_t count, char **error);

/** Replaces the optimizer with a fresh one of `kind` (no moment estimates) over all parameters; once per round.
 * Adam/AdamW use beta1, beta2 and eps; SGD takes beta1 as its momentum and ignores beta2 and eps. */
int32_t fct_torch_model_reset_optimizer(fct_torch_model *model, fct_torch_optimizer kind, double learning_rate,
                                        double weight_decay, double beta1, double beta2, double eps, char **error);

/** Sets the optimizer's learning rate for the following steps (a schedule calls it before each step); the moment
 * estimates are kept. */
int32_t fct_torch_model_set_learning_rate(fct_torch_model *model, double learning_rate, char **error);

/**
 * Gradient accumulation: from now on each (non-DP) training step runs its batch as consecutive micro-batches of
 * `size` examples (the last may be smaller), one forward and backward each, with each micro-batch's mean loss
 * weighted by its share of the batch, then one optimizer step. The gradient equals the whole batch's for an encoder
 * without BatchNorm (BatchNorm normalises each micro-batch with its own statistics). 0 (the default) runs the whole
 * batch at once. Peak activation memory is that of one micro-batch.
 */
int32_t fct_torch_model_set_micro_batch_size(fct_torch_model *model, int64_t size, char **error);

/**
 * Feature cache across micro-batches (open_clip's accum_freq), for an objective whose loss is computed from
 * per-example features (a contrastive loss): with `enabled` non-zero and a micro-batch size set, each (non-DP) training
 * step first computes every micro-batch's features without a graph, then recomputes each micro-batch with one and
 * takes the loss of the whole batch against the cached features of the others, summing the gradients: the step's
 * whole batch is one contrastive batch in the memory of a micro-batch. The loss's own parameters (logit scale, bias)
 * take part in one micro-batch's graph only, so every gradient is the whole batch's. Fails for an objective without
 * per-example features; a step fails when the model is in a data-parallel group.
 */
int32_t fct_torch_model_set_feature_cache(fct_torch_model *model, int32_t enabled, char **error);

/**
 * FedProx: from now on each training step adds mu/2 · ||w − w₀||² over the parameters to the loss, where w₀ are
 * the parameters' values at this call (the round's global model). mu = 0 turns the term off. The loss reported
 * by the training step stays the time-to-event loss alone.
 */
int32_t fct_torch_model_set_proximal(fct_torch_model *model, double mu, char **error);

/**
 * DP-SGD (Abadi et al. 2016, as in Opacus): from now on each training step computes per-sample gradients (one
 * forward and backward per sample), clips each sample's whole-model gradient to L2 norm <= clip_norm (C), sums
 * them, adds N(0, noise_multiplier² · C²) noise per coordinate, divides by expected_batch (the mean batch size of
 * Poisson sampling, not the batch's actual size), adds the FedProx gradient unclipped, and takes the optimizer step.
 * The noise comes from a generator seeded here with `seed`: the same seed and batches give the same steps.
 * clip_norm = 0 turns DP-SGD off (the other arguments are then ignored). Refused with FCT_TORCH_INVALID_ARGUMENT
 * for a BatchNorm encoder, whose normalisation mixes the samples of a batch, and for an objective whose loss couples
 * the examples of a batch (fct_torch_model_per_example_loss 0); on failure the setting is unchanged.
 * Costs about one batch-1 forward and backward per sample instead of one batched pass.
 */
int32_t fct_torch_model_set_dp_sgd(fct_torch_model *model, double clip_norm, double noise_multiplier,
                                   double expected_batch, uint64_t seed, char **error);

/**
 * Joins a data-parallel group of `size` processes (rank 0 to size − 1): a c10d TCP rendezvous store at
 * store_host:store_port, served by rank 0, and Gloo's TCP transport over the interface whose address `interface_host`
 * resolves to. Blocks until all ranks joined; fails after `timeout_seconds` (also the timeout of every later sum).
 */
int32_t fct_torch_group_create(const char *store_host, int32_t store_port, int32_t rank, int32_t size, const char *interface_host,
                               double timeout_seconds, fct_torch_group **out, char **error);
/**
 * The same group through a c10d FileStore at `path` instead of a TCP store: a fresh file (that no earlier group used) on
 * a local file system all ranks reach; no socket listens for the rendezvous, so it suits ranks on one machine.
 */
int32_t fct_torch_group_create_file(const char *path, int32_t rank, int32_t size, const char *interface_host,
                                    double timeout_seconds, fct_torch_group **out, char **error);
/** Frees a group handle. NULL is allowed. */
void fct_torch_group_free(fct_torch_group *group);
/**
 * Sends rank 0's bytes to every rank, in two calls every rank makes in the same order: `broadcast_length` (rank 0 sets
 * *length first, the others receive it), then `broadcast_bytes` with a buffer of that length (rank 0's is read, the
 * others' written). Bounded by the group's timeout.
 */
int32_t fct_torch_group_broadcast_length(fct_torch_group *group, int64_t *length, char **error);
int32_t fct_torch_group_broadcast_bytes(fct_torch_group *group, uint8_t *bytes, int64_t length, char **error);
/** Sums `count` doubles over the ranks, in place (every rank calls it with the same count). Bounded by the group's timeout. */
int32_t fct_torch_group_sum_doubles(fct_torch_group *group, double *values, int64_t count, char **error);
/**
 * Data-parallel training: from now on each training step of `model` is this rank's share of a step of the group — every
 * rank must call it, with its own examples (possibly none) — and its gradient is summed over the ranks and divided by
 * their examples, so the step equals one process's step over all the ranks' examples with gradient accumulation (up to
 * float rounding); the loss returned is the group's. Under DP-SGD the clipped sums are added over the ranks before the
 * noise, which every rank draws alike from the same seed (one draw per site). After each step the floating-point buffers
 * (BatchNorm running statistics) are averaged over the ranks. NULL detaches.
 */
int32_t fct_torch_model_set_group(fct_torch_model *model, fct_torch_group *group, char **error);

/**
 * One optimisation step on a batch of `count` named tensors (the objective's inputs and targets; see fct_torch_tensor).
 * Training mode: forward, the objective's loss, backward (per micro-batch, see set_micro_batch_size), optimizer step.
 * Writes the batch loss (before the step). Tensors the objective does not read are ignored; a missing or misshapen
 * one is FCT_TORCH_INVALID_ARGUMENT naming it.
 * Under DP-SGD (fct_torch_model_set_dp_sgd) the step is DP-SGD's, the loss is the mean per-sample loss, and the
 * batch may have 0 examples (a noise-only step; `count` may then be 0 and the loss written is NaN).
 */
int32_t fct_torch_model_train_step(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *loss, char **error);
/** The loss of a batch in evaluation mode, without gradients or an update. */
int32_t fct_torch_model_eval_loss(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *loss, char **error);
/** Embeddings [examples, embedding_dim] of a batch (its inputs only), row-major, in evaluation mode without gradients;
 * `capacity` is the room in `embeddings`, in floats. */
int32_t fct_torch_model_embed(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *embeddings,
                              int64_t capacity, char **error);
/** The objective's outputs [examples, output_size] of a batch (its inputs only), row-major, in evaluation mode without
 * gradients (the time-to-event objective: log2 hazards [pieces, tasks] per example); `capacity` is the room in `outputs`. */
int32_t fct_torch_model_predict(fct_torch_model *model, const fct_torch_tensor *batch, int32_t count, float *outputs,
                                int64_t capacity, char **error);

/**
 * The piecewise-exponential time-to-event loss on given log2 hazards [batch, pieces, tasks]:
 * with ln λ = z · ln 2, mean(exp(ln λ + ln t)) − mean(δ · ln λ), means over all batch·pieces·tasks entries, in
 * float64 (an entry with t = 0 adds exactly 0 to the first mean, whatever z). The same C++ function the training
 * step uses.
 */
int32_t fct_torch_tte_loss(const float *log2_hazard, const float *time_at_risk, const float *event, int64_t batch,
                           int64_t pieces, int64_t tasks, double *loss, char **error);

#ifdef __cplusplus
}
#endif

#endif
