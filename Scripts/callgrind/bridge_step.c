/* The bench-train step (ResNet-18 w64, BatchNorm, TTE head 8x8 rank 16, Adam lr 1e-4, batch 1) driven through the bridge's C ABI, with
 * callgrind collecting only the measured steps (Scripts/callgrind-torch.sh). Usage: bridge_step SIZE THREADS WARMUP STEPS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fct_torch.h"
static void check(int32_t status, char *error, const char *what) {
    if (status != FCT_TORCH_OK) { fprintf(stderr, "%s: %s\n", what, error ? error : "?"); exit(1); }
}
void cg_start(void);
void cg_stop(void);
int main(int argc, char **argv) {
    int size = atoi(argv[1]), threads = atoi(argv[2]), warmup = atoi(argv[3]), steps = atoi(argv[4]);
    fct_torch_set_num_threads(threads);
    float tasks = 8, pieces = 8, rank = 16;
    int64_t one = 1;
    fct_torch_tensor settings[3] = {
        {"pieces", FCT_TORCH_FLOAT32, &pieces, 1, &one}, {"rank", FCT_TORCH_FLOAT32, &rank, 1, &one}, {"tasks", FCT_TORCH_FLOAT32, &tasks, 1, &one}};
    fct_torch_model_config config = {FCT_TORCH_ARCH_RESNET, 18, 64, 2, FCT_TORCH_NORM_BATCH, "tte", settings, 3, 1};
    fct_torch_model *model = NULL;
    char *error = NULL;
    check(fct_torch_model_create(&config, &model, &error), error, "create");
    check(fct_torch_model_reset_optimizer(model, FCT_TORCH_OPTIMIZER_ADAM, 1e-4, 0, 0.9, 0.999, 1e-8, &error), error, "optimizer");
    int64_t voxels = (int64_t)size * size * size;
    float *volume = malloc(sizeof(float) * voxels);
    srand(1);
    for (int64_t i = 0; i < voxels; i++) volume[i] = 2.0f * rand() / RAND_MAX - 1;
    float time[64], event[64];
    for (int i = 0; i < 64; i++) { time[i] = (float)rand() / RAND_MAX; event[i] = rand() % 10 == 0; }
    int64_t vshape[5] = {1, 1, size, size, size}, tshape[3] = {1, 8, 8};
    fct_torch_tensor batch[3] = {{"volumes", FCT_TORCH_FLOAT32, volume, 5, vshape}, {"time_at_risk", FCT_TORCH_FLOAT32, time, 3, tshape},
                                 {"event", FCT_TORCH_FLOAT32, event, 3, tshape}};
    for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) cg_start();
        float loss = 0;
        check(fct_torch_model_train_step(model, batch, 3, &loss, &error), error, "train step");
        printf("step %d loss %.5f\n", step, loss);
    }
    cg_stop();
    fct_torch_model_free(model);
    return 0;
}
