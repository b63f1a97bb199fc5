/* The machine's DGEMM rate with the OpenBLAS lrlab links: C = A B for n x n matrices,
 * best of several repetitions, on 1 thread and on every core.  The benchmark compares
 * lrlab's GEMM-dominated phase (per thread) with the 1-thread rate.
 * usage: dgemm_rate [n]   (prints one JSON object) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double rate(int n, int threads, const double *A, const double *B, double *C)
{
    openblas_set_num_threads(threads);
    double best = 1e300;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A, n, B, n, 0.0, C, n);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return 2.0 * n * (double)n * n / best * 1e-9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2048;
    int ncores = openblas_get_num_procs();
    double *A = malloc(sizeof(double) * n * n), *B = malloc(sizeof(double) * n * n),
           *C = malloc(sizeof(double) * n * n);
    if (!A || !B || !C) return 1;
    srand(1);
    for (long i = 0; i < (long)n * n; i++) A[i] = rand() / (double)RAND_MAX - 0.5, B[i] = A[i] * 0.5;
    double r1 = rate(n, 1, A, B, C), rall = rate(n, ncores, A, B, C);
    double r512 = rate(512, 1, A, B, C);
    printf("{\"n\": %d, \"openblas_core\": \"%s\", \"openblas_config\": \"%s\", \"cores\": %d, "
           "\"gflops_1thread\": %.2f, \"gflops_all\": %.2f, \"gflops_1thread_n512\": %.2f}\n",
           n, openblas_get_corename(), openblas_get_config(), ncores, r1, rall, r512);
    free(A), free(B), free(C);
    return 0;
}
