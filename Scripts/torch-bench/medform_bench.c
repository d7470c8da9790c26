/* The bench-medform stage-1 step (torchvision ResNet-18 width 64 with a 1-channel stem, SimCLR head to 128, NT-Xent
 * tau 0.07 on two augmented views of 16 slices of each of 4 scans; AdamW lr 1e-4, no weight decay) through the bridge's
 * C ABI, as fct_bench_setup once and fct_bench_step per training step: the settings and inputs of `fedctl bench-medform
 * --stage 1` (MEDFORMConfig's defaults; element i of the volumes is sin(0.001 i)). Built with the release CTorchBridge
 * objects into the shared library interleaved.py loads for bench-medform.sh's paired measurement. */
#include <math.h>
#include <stdlib.h>
#include "bench_common.h"

enum { SCANS = 4, SETTINGS = 10 };

static fct_torch_model *model;
static float *volumes;
static int64_t volume_shape[5];
static fct_torch_tensor batch[1];

/* Creates the model and its optimiser and the batch of SCANS SIZE³ scans; sets THREADS intra-op threads. 0 or -1. */
int fct_bench_setup(int size, int threads) {
    fct_torch_set_num_threads(threads);
    static const char *names[SETTINGS] = {"stage", "slice_encoder_depth", "slice_encoder_width", "projection_dim", "temperature",
                                          "slices_per_scan", "crop_min_scale", "jitter", "blur_probability", "noise_std"};
    static float values[SETTINGS] = {1, 18, 64, 128, 0.07f, 16, 0.08f, 0.4f, 0.5f, 0.05f};
    static int64_t one = 1;
    fct_torch_tensor settings[SETTINGS];
    for (int i = 0; i < SETTINGS; i++) settings[i] = (fct_torch_tensor){names[i], FCT_TORCH_FLOAT32, &values[i], 1, &one};
    fct_torch_model_config config = {FCT_TORCH_ARCH_NONE, 10, 16, 2, FCT_TORCH_NORM_GROUP, "medform", settings, SETTINGS, 1};
    char *error = NULL;
    if (fct_torch_model_create(&config, &model, &error) != FCT_TORCH_OK) return bench_failed(error, "create");
    if (fct_torch_model_reset_optimizer(model, FCT_TORCH_OPTIMIZER_ADAMW, 1e-4, 0, 0.9, 0.999, 1e-8, &error) != FCT_TORCH_OK) return bench_failed(error, "optimizer");
    int64_t count = (int64_t)SCANS * size * size * size;
    volumes = malloc(sizeof(float) * count);
    if (!volumes) return bench_failed(NULL, "volumes");
    for (int64_t i = 0; i < count; i++) volumes[i] = (float)sin(0.001 * (double)i);
    int64_t shape[5] = {SCANS, 1, size, size, size};
    for (int i = 0; i < 5; i++) volume_shape[i] = shape[i];
    batch[0] = (fct_torch_tensor){"volumes", FCT_TORCH_FLOAT32, volumes, 5, volume_shape};
    return 0;
}

/* One full training step (slice sampling and views, forward, NT-Xent, backward, AdamW); its loss in *loss. 0 or -1. */
int fct_bench_step(float *loss) {
    char *error = NULL;
    if (fct_torch_model_train_step(model, batch, 1, loss, &error) != FCT_TORCH_OK) return bench_failed(error, "train step");
    return 0;
}
