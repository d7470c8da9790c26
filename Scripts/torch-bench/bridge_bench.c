/* The bench-train step (ResNet-18 w64, BatchNorm, TTE head 8x8 rank 16, Adam lr 1e-4, batch 1) through the bridge's C ABI,
 * as two calls: fct_bench_setup once, fct_bench_step per training step. Linked with the release CTorchBridge objects into
 * the callgrind driver (Scripts/callgrind/bridge_step.c) and into the shared library interleaved.py loads. */
#include <stdlib.h>
#include "bench_common.h"

static fct_torch_model *model;
static float *volume;
static float time_at_risk[64], event[64];
static int64_t volume_shape[5], target_shape[3] = {1, 8, 8};
static fct_torch_tensor batch[3];

/* Creates the model and its optimiser and a random batch of one SIZE³ volume; sets THREADS intra-op threads. 0 or -1. */
int fct_bench_setup(int size, int threads) {
    fct_torch_set_num_threads(threads);
    float tasks = 8, pieces = 8, rank = 16;
    int64_t one = 1;
    fct_torch_tensor settings[3] = {
        {"pieces", FCT_TORCH_FLOAT32, &pieces, 1, &one}, {"rank", FCT_TORCH_FLOAT32, &rank, 1, &one}, {"tasks", FCT_TORCH_FLOAT32, &tasks, 1, &one}};
    fct_torch_model_config config = {FCT_TORCH_ARCH_RESNET, 18, 64, 2, FCT_TORCH_NORM_BATCH, "tte", settings, 3, 1};
    char *error = NULL;
    if (fct_torch_model_create(&config, &model, &error) != FCT_TORCH_OK) return bench_failed(error, "create");
    if (fct_torch_model_reset_optimizer(model, FCT_TORCH_OPTIMIZER_ADAM, 1e-4, 0, 0.9, 0.999, 1e-8, &error) != FCT_TORCH_OK) return bench_failed(error, "optimizer");
    int64_t voxels = (int64_t)size * size * size;
    volume = malloc(sizeof(float) * voxels);
    if (!volume) return bench_failed(NULL, "volume");
    srand(1);
    for (int64_t i = 0; i < voxels; i++) volume[i] = 2.0f * rand() / RAND_MAX - 1;
    for (int i = 0; i < 64; i++) { time_at_risk[i] = (float)rand() / RAND_MAX; event[i] = rand() % 10 == 0; }
    int64_t shape[5] = {1, 1, size, size, size};
    for (int i = 0; i < 5; i++) volume_shape[i] = shape[i];
    fct_torch_tensor parts[3] = {{"volumes", FCT_TORCH_FLOAT32, volume, 5, volume_shape}, {"time_at_risk", FCT_TORCH_FLOAT32, time_at_risk, 3, target_shape},
                                 {"event", FCT_TORCH_FLOAT32, event, 3, target_shape}};
    for (int i = 0; i < 3; i++) batch[i] = parts[i];
    return 0;
}

/* One full training step (forward, loss, backward, Adam); its loss in *loss. 0 or -1. */
int fct_bench_step(float *loss) {
    char *error = NULL;
    if (fct_torch_model_train_step(model, batch, 3, loss, &error) != FCT_TORCH_OK) return bench_failed(error, "train step");
    return 0;
}
