/* The bench-train step driven through the bridge's C ABI (Scripts/torch-bench/bridge_bench.c), with callgrind collecting only
 * the measured steps (Scripts/callgrind-torch.sh). Usage: bridge_step SIZE THREADS WARMUP STEPS */
#include <stdio.h>
#include <stdlib.h>
int fct_bench_setup(int size, int threads);
int fct_bench_step(float *loss);
void cg_start(void);
void cg_stop(void);
int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: bridge_step SIZE THREADS WARMUP STEPS\n"); return 2; }
    int size = atoi(argv[1]), threads = atoi(argv[2]), warmup = atoi(argv[3]), steps = atoi(argv[4]);
    if (fct_bench_setup(size, threads) != 0) return 1;
    for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) cg_start();
        float loss = 0;
        if (fct_bench_step(&loss) != 0) return 1;
        printf("step %d loss %.5f\n", step, loss);
    }
    cg_stop();
    return 0;
}
