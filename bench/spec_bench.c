/* The spectral comparisons of src/ntk/equiv.h, Lanczos against the dsyevr reference, on the
 * kernel-like matrices of the `ntk` experiment (bench/README.md, "Spectral norms").
 *
 * usage: spec_bench [blas_threads [repeats [n ...]]]     (defaults: 1, 3, 1024 2048)
 *
 * For each n: data from the two-class mixture gu22 (p = n / 2, seed 2022), and
 *   gram   G = X^T X: a spike over a Marchenko-Pastur bulk, n - p exact zeros;
 *   exact  E = the exact CK of one centred quadratic layer, (G_ii - tau^2)(G_jj - tau^2) +
 *          2 G_ij^2 (Isserlis; tests/test_ntk_equiv.c), and K~ its equivalent kernel
 *          (matched identity rule): E - K~ is the error matrix lr_ntk_rel_err measures;
 *   noise  a symmetric Gaussian matrix (GOE, no spike): the hardest case for Lanczos.
 * Timed, each `repeats` times, interleaved (Lanczos, dsyevr, Lanczos, ...), median:
 *   norm    lr_ntk_norm2 of each matrix,
 *   relerr  lr_ntk_rel_err(E, K~) (two norms),
 *   top4    lr_ntk_top_eig(E, 4) with vectors,
 *   align4  lr_ntk_eig_align(E, K~, 4) (two top-4 sets).
 * Printed: one line per (n, case): both medians, the speed-up, the Lanczos vectors used
 * (per problem; align4 averages E's and K~'s), the fallbacks and the largest relative
 * difference of the results (norms relative to themselves, eigenvalues relative to
 * ||A||_2); for align4 also both subspace alignments, which need not agree (below). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_randist.h>

#include "core/error.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gmm.h"
#include "ntk/equiv.h"

void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int r)
{
    qsort(t, (size_t)r, sizeof(double), cmp_double);
    return r % 2 ? t[r / 2] : 0.5 * (t[r / 2 - 1] + t[r / 2]);
}

static void die(const char *what)
{
    fprintf(stderr, "spec_bench: %s: %s\n", what, lr_last_error());
    exit(1);
}

/* Centred quadratic activation (tests/test_ntk_equiv.c, quad_keyq). */
static int quad_cb(void *ctx, size_t layer, double tau, lr_ntk_keyq *q)
{
    (void)ctx, (void)layer;
    double t2 = tau * tau;
    *q = (lr_ntk_keyq){.tau = tau, .mean = t2, .d1 = 0.0, .d2 = 2.0, .sq2 = 8 * t2, .var = 2 * t2 * t2, .d1sq = 4 * t2};
    return LR_OK;
}

enum { C_NORM, C_RELERR, C_TOP4, C_ALIGN4 };

/* One timed call of case c on plan sp; the results into out[0..4]; its status. */
static int run_case(int c, lr_ntk_spec_plan *sp, lr_mat A, lr_mat E, lr_mat Kt, lr_mat U, double *out)
{
    if (c == C_NORM) return lr_ntk_norm2(sp, A, out);
    if (c == C_RELERR) return lr_ntk_rel_err(sp, E, Kt, out, out + 1, out + 2);
    if (c == C_TOP4) return lr_ntk_top_eig(sp, E, 4, out, U);
    return lr_ntk_eig_align(sp, E, Kt, 4, out, NULL, NULL, out + 4);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 3;
    size_t ns[16] = {1024, 2048}, nn = 2;
    if (argc > 3) {
        nn = 0;
        for (int a = 3; a < argc && nn < 16; a++) ns[nn++] = (size_t)atol(argv[a]);
    }
    if (threads < 1 || reps < 1 || reps > 99) {
        fprintf(stderr, "usage: spec_bench [blas_threads [repeats [n ...]]]\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    printf("# BLAS threads %d, median of %d; times in seconds\n", threads, reps);
    printf("# %5s %-7s %-7s %10s %10s %8s %8s %6s %9s\n", "n", "matrix", "call", "lanczos", "dsyevr", "speedup",
           "vectors", "fallbk", "rel.diff");
    for (size_t in = 0; in < nn; in++) {
        size_t n = ns[in], p = n / 2, K = 2;
        lr_gmm *g = lr_gmm_alloc(p, K, LR_GMM_COV_SCALED);
        lr_class_stats *st = lr_class_stats_alloc(p, K);
        lr_ntk_data *d = lr_ntk_data_alloc(n, K);
        lr_ntk_equiv_plan *ep = lr_ntk_equiv_plan_alloc(n, K);
        lr_ntk_spec_plan *fast = lr_ntk_spec_plan_alloc(n, 4), *ref = lr_ntk_spec_plan_alloc(n, 4);
        size_t *lab = calloc(n, sizeof(size_t));
        lr_mat X = lr_mat_wrap(calloc(p * n, sizeof(double)), p, n);
        lr_mat G = lr_mat_wrap(calloc(n * n, sizeof(double)), n, n), E = lr_mat_wrap(calloc(n * n, sizeof(double)), n, n),
               Kt = lr_mat_wrap(calloc(n * n, sizeof(double)), n, n), Nz = lr_mat_wrap(calloc(n * n, sizeof(double)), n, n),
               U = lr_mat_wrap(calloc(n * 4, sizeof(double)), n, 4);
        if (!g || !st || !d || !ep || !fast || !ref || !lab || !X.data || !G.data || !E.data || !Kt.data || !Nz.data ||
            !U.data)
            die("allocation");
        gsl_rng *r = lr_rng_alloc();
        lr_rng_seed_unit(r, 2022, n, 0);
        if (lr_gmm_set_preset(g, LR_GMM_PRESET_GU22) || lr_gmm_sample(g, r, X, lab) || lr_gmm_class_stats(g, st) ||
            lr_ntk_data_fill(d, st, X, lab, LR_NTK_NORMS_THEORY))
            die("data");
        if (lr_syrk('T', 1.0, X, 0.0, G)) die("gram");
        lr_mat_symmetrize(G);
        double t2 = d->tau0sq;
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) {
                double gij = LR_AT(G, i, j);
                LR_AT(E, i, j) = (LR_AT(G, i, i) - t2) * (LR_AT(G, j, j) - t2) + 2 * gij * gij;
            }
        lr_ntk_coef coef[2];
        if (lr_ntk_recursion_run(sqrt(t2), 1, quad_cb, NULL, LR_NTK_TAU_RTOL, NULL, coef) ||
            lr_ntk_equiv_kernel(ep, coef, 1, LR_NTK_KIND_CK, LR_NTK_DIAG_MATCHED, X, d, Kt))
            die("kernels");
        for (size_t j = 0; j < n; j++)
            for (size_t i = j; i < n; i++)
                LR_AT(Nz, i, j) = LR_AT(Nz, j, i) = gsl_ran_gaussian(r, 1.0) / sqrt((double)n) * (i == j ? sqrt(2.0) : 1.0);
        gsl_rng_free(r);
        if (lr_ntk_spec_plan_set(fast, LR_NTK_SPEC_LANCZOS, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS) ||
            lr_ntk_spec_plan_set(ref, LR_NTK_SPEC_DSYEVR, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS))
            die("settings");
        struct {
            const char *mat, *call;
            int c;
            lr_mat A;
        } cases[] = {{"gram", "norm", C_NORM, G},         {"exact", "norm", C_NORM, E}, {"noise", "norm", C_NORM, Nz},
                     {"E-K~", "relerr", C_RELERR, E}, {"exact", "top4", C_TOP4, E}, {"exact", "align4", C_ALIGN4, E},
                     {"gram", "top4", C_TOP4, G},      {"noise", "top4", C_TOP4, Nz}};
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            double tf[99], tr[99], of[5] = {0}, orf[5] = {0};
            int c = cases[k].c;
            lr_mat A = cases[k].A, Ec = c == C_TOP4 ? A : E;
            lr_ntk_spec_plan_reset_info(fast);
            int sf = LR_OK, sr = LR_OK;
            for (int rep = 0; rep < reps && sf == LR_OK && sr == LR_OK; rep++) {
                double t0 = now();
                sf = run_case(c, fast, A, Ec, Kt, U, of);
                tf[rep] = now() - t0;
                t0 = now();
                sr = run_case(c, ref, A, Ec, Kt, U, orf);
                tr[rep] = now() - t0;
            }
            if (sf != LR_OK || sr != LR_OK) {
                /* Reported, not fatal: dsyevr with an index range can return fewer
                 * eigenvalues than asked on K~'s massive cluster (bench/README.md). */
                printf("  %5zu %-7s %-7s %s failed: %s\n", n, cases[k].mat, cases[k].call, sf ? "lanczos" : "dsyevr",
                       lr_last_error());
                continue;
            }
            lr_ntk_spec_info info;
            lr_ntk_spec_plan_info(fast, &info);
            double diff = 0.0, scale = c == C_RELERR ? orf[1] : (c == C_NORM ? orf[0] : fmax(fabs(orf[0]), 1e-300));
            if (c == C_NORM) diff = fabs(of[0] - orf[0]) / scale;
            if (c == C_RELERR) diff = fmax(fabs(of[1] - orf[1]) / orf[1], fabs(of[2] - orf[2]) / orf[2]);
            if (c == C_TOP4 || c == C_ALIGN4) {
                double nA;
                if (lr_ntk_norm2(ref, Ec, &nA)) die("norm");
                for (int i = 0; i < 4; i++) diff = fmax(diff, fabs(of[i] - orf[i]) / nA);
            }
            double mf = median(tf, reps), mr = median(tr, reps);
            printf("  %5zu %-7s %-7s %10.4f %10.4f %8.1f %8zu %6zu %9.1e", n, cases[k].mat, cases[k].call, mf, mr,
                   mr / mf, info.steps / (info.calls ? info.calls : 1), info.fallbacks, diff);
            /* K~'s 4th eigenvalue is its shift, of multiplicity n - 3 (the quadratic
             * activation has alpha_1 = 0: K~ = V A V^T + s I), so its top-4 subspace, and
             * the alignment, depend on the basis either driver picks in that eigenspace. */
            if (c == C_ALIGN4) printf("  subspace %.4f / %.4f", of[4], orf[4]);
            printf("\n");
            fflush(stdout);
        }
        lr_gmm_free(g);
        lr_class_stats_free(st);
        lr_ntk_data_free(d);
        lr_ntk_equiv_plan_free(ep);
        lr_ntk_spec_plan_free(fast), lr_ntk_spec_plan_free(ref);
        free(lab), free(X.data), free(G.data), free(E.data), free(Kt.data), free(Nz.data), free(U.data);
    }
    return 0;
}
