// The FMA peak of this machine in C, to check the one bench/Dsl.Benchmarks measures (peak fma ... lines):
// 12 independent chains of fused multiply-adds per vector width, as there.
//   gcc -O3 -march=native -o /tmp/fma_peak bench/fma_peak.c && /tmp/fma_peak
#include <stdio.h>
#include <time.h>

#define CHAINS(T, W)                                                                                   \
    static float run##W(long n) {                                                                      \
        typedef float v __attribute__((vector_size(W / 8)));                                           \
        v m, a, x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11;                                      \
        for (int i = 0; i < W / 32; i++) { m[i] = 0.999f; a[i] = 1e-3f; x0[i] = 1.0f; }                \
        /* Distinct starting values: equal chains would be computed once. */                           \
        x1 = x0 + a; x2 = x1 + a; x3 = x2 + a; x4 = x3 + a; x5 = x4 + a; x6 = x5 + a;                  \
        x7 = x6 + a; x8 = x7 + a; x9 = x8 + a; x10 = x9 + a; x11 = x10 + a;                            \
        for (long i = 0; i < n; i++) {                                                                 \
            __asm__("" : "+x"(m));                                                                     \
            x0 = x0 * m + a; x1 = x1 * m + a; x2 = x2 * m + a; x3 = x3 * m + a;                        \
            x4 = x4 * m + a; x5 = x5 * m + a; x6 = x6 * m + a; x7 = x7 * m + a;                        \
            x8 = x8 * m + a; x9 = x9 * m + a; x10 = x10 * m + a; x11 = x11 * m + a;                    \
        }                                                                                              \
        v s = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;                             \
        float t = 0;                                                                                   \
        for (int i = 0; i < W / 32; i++) t += s[i];                                                    \
        return t;                                                                                      \
    }
CHAINS(float, 512)
CHAINS(float, 256)
CHAINS(float, 128)

static float run32(long n) {
    float m = 0.999f, a = 1e-3f, x[12];
    for (int i = 0; i < 12; i++) x[i] = 1.0f + i * 1e-3f;
    for (long i = 0; i < n; i++) {
        __asm__("" : "+x"(m));
        x[0] = x[0] * m + a; x[1] = x[1] * m + a; x[2] = x[2] * m + a; x[3] = x[3] * m + a;
        x[4] = x[4] * m + a; x[5] = x[5] * m + a; x[6] = x[6] * m + a; x[7] = x[7] * m + a;
        x[8] = x[8] * m + a; x[9] = x[9] * m + a; x[10] = x[10] * m + a; x[11] = x[11] * m + a;
    }
    float t = 0;
    for (int i = 0; i < 12; i++) t += x[i];
    return t;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void measure(const char *name, float (*run)(long), int bits, long n) {
    volatile float sink = run(n / 10);   // warm up (and let the clock rise)
    double t0 = now();
    sink = run(n);
    double s = now() - t0;
    (void)sink;
    printf("peak fma %s 1 thread  %8.1f GFLOP/s\n", name, n * 12.0 * 2 * (bits / 32) / s / 1e9);
}

int main(void) {
#ifdef __AVX512F__
    measure("512-bit", run512, 512, 50000000);
#endif
    measure("256-bit", run256, 256, 50000000);
    measure("128-bit", run128, 128, 50000000);
    measure(" 32-bit", run32, 32, 20000000);
    return 0;
}
