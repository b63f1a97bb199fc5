/* The fast paths of issue 5, each against its plain reference:
 *   lr_eig_sym (dsyevr) -- reconstruction and orthogonality;
 *   lr_layer_factor_gram (eigendecomposition of X~^T X~) against lr_layer_factor_x (thin
 *     SVD of X~): singular values, projector, pseudo-inverse, and dd_rank's factors when
 *     it is handed U^T Y instead of Ux; the guard on graded, short and rank-deficient X~;
 *   lr_svd_top (dgesvdx) against lr_svd (dgesdd): the rank-k truncation, with repeated
 *     singular values, and the recorded fallback;
 *   lr_norm_op_gram against lr_norm_op; lr_syrk against lr_gemm;
 *   the whole `recovery` experiment: compress.route = "gram" (X~ and G streamed in row
 *     blocks) against "svd_blocks" (the same draws, whole matrices, thin SVD): /trials
 *     equal to 1e-9 relative; the guard's fallback reproduces svd_blocks bit for bit;
 *   no allocation inside the trial loop: malloc and friends are wrapped at link time
 *     (-Wl,--wrap) and counted, and a run with 4 trials per point must make exactly as
 *     many calls as a run with 1 (the work per trial changes, the allocations must not). */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress/compress.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "io/h5.h"
#include "run/run.h"
#include "tests.h"

/* The counting allocator is tests/test_failure.c's (lr_test_alloc_calls, tests.h). */

static lr_mat mat_new(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }
static void mat_free(lr_mat A) { lr_free(A.data); }

static double rel_diff(lr_mat A, lr_mat B) { return lr_mat_diff_fro(A, B) / fmax(lr_mat_norm_fro(A), 1e-300); }

static void test_syrk(void)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 3, 0, 0);
    lr_mat X = mat_new(37, 11), K = mat_new(11, 11), K2 = mat_new(11, 11);
    lr_gen_noise(rng, X, LR_NOISE_GAUSSIAN, 1.0, 0);
    CU_ASSERT_EQUAL(lr_syrk('T', 1.0, lr_mat_view(X, 0, 0, 20, 11), 0.0, K), LR_OK);
    CU_ASSERT_EQUAL(lr_syrk('T', 1.0, lr_mat_view(X, 20, 0, 17, 11), 1.0, K), LR_OK);
    lr_mat_symmetrize(K);
    lr_gemm('T', 'N', 1.0, X, X, 0.0, K2);
    CU_ASSERT(rel_diff(K2, K) < 1e-14);
    CU_ASSERT_EQUAL(lr_syrk('T', 1.0, X, 0.0, lr_mat_view(K, 0, 0, 10, 10)), LR_EINVAL);
    mat_free(X), mat_free(K), mat_free(K2);
    gsl_rng_free(rng);
}

static void test_eig_sym(void)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 4, 0, 0);
    size_t n = 30;
    lr_mat X = mat_new(50, n), K = mat_new(n, n), K0 = mat_new(n, n), Z = mat_new(n, n), R = mat_new(n, n);
    double w[30];
    lr_gen_noise(rng, X, LR_NOISE_GAUSSIAN, 1.0, 0);
    lr_gemm('T', 'N', 1.0, X, X, 0.0, K);
    lr_mat_copy(K0, K);
    lr_eig_plan *ep = lr_eig_plan_alloc(n + 5);
    CU_ASSERT_EQUAL_FATAL(lr_eig_sym(ep, K, w, Z), LR_OK);
    for (size_t i = 1; i < n; i++) CU_ASSERT(w[i] <= w[i - 1]);
    /* Z diag(w) Z^T = K0, Z^T Z = I */
    lr_mat ZW = mat_new(n, n);
    lr_mat_copy(ZW, Z);
    lr_mat_scale_cols(ZW, w);
    lr_gemm('N', 'T', 1.0, ZW, Z, 0.0, R);
    CU_ASSERT(rel_diff(K0, R) < 1e-13);
    lr_gemm('T', 'N', 1.0, Z, Z, 0.0, R);
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) worst = fmax(worst, fabs(LR_AT(R, i, j) - (i == j)));
    CU_ASSERT(worst < 1e-13);
    LR_AT(K0, 3, 2) = NAN;
    CU_ASSERT_EQUAL(lr_eig_sym(ep, K0, w, Z), LR_ENUMERIC);
    lr_eig_plan_free(ep);
    mat_free(X), mat_free(K), mat_free(K0), mat_free(Z), mat_free(R), mat_free(ZW);
    gsl_rng_free(rng);
}

/* Factor the same X~ both ways; compare what the experiment uses. */
static void check_gram_vs_svd(size_t m, size_t n0, size_t n1, lr_x_kind kind, double cond,
                              int expect_accept)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 11, m, n0);
    size_t mn = m < n0 ? m : n0;
    lr_mat X = mat_new(m, n0), Y = mat_new(m, n1), W = mat_new(n0, n1);
    double *scratch = lr_calloc(lr_gen_x_scratch(m, n0, mn) + 1, sizeof(double));
    CU_ASSERT_EQUAL_FATAL(lr_gen_x(rng, X, kind, mn, cond, scratch), LR_OK);
    lr_gen_noise(rng, Y, LR_NOISE_GAUSSIAN, 1.0, 0);

    lr_layer_ws ws = {0};
    ws.svd = lr_svd_plan_alloc(m > n0 ? m : n0, n0 > n1 ? n0 : n1);
    lr_arena_init(&ws.arena, 8 * (lr_arena_need(m > n0 ? m : n0, n0 > n1 ? n0 : n1) + lr_arena_need(n0, n0)));
    lr_layer P = {.X = X, .W = W, .Y = Y};
    P.Ux = mat_new(m, mn), P.Vx = mat_new(n0, mn), P.sx = lr_calloc(mn + 1, sizeof(double));
    double rtol = lr_rank_rtol_default(m, n0);
    CU_ASSERT_EQUAL_FATAL(lr_layer_factor_x(&P, rtol, &ws), LR_OK);

    lr_layer G = {.X = {NULL, m, n0, m}, .W = W, .Y = {NULL, m, n1, m}};
    G.Vx = mat_new(n0, n0), G.sx = lr_calloc(n0 + 1, sizeof(double));
    lr_mat K = mat_new(n0, n0);
    lr_syrk('T', 1.0, X, 0.0, K);
    lr_eig_plan *ep = lr_eig_plan_alloc(n0);
    double ratio = -1;
    int acc = -1;
    CU_ASSERT_EQUAL_FATAL(lr_layer_factor_gram(&G, m, K, rtol, 1e-3, ep, &ratio, &acc), LR_OK);
    CU_ASSERT_EQUAL(acc, expect_accept);
    if (acc) {
        CU_ASSERT_EQUAL(G.q, P.q);
        for (size_t i = 0; i < P.q; i++) LR_ASSERT_CLOSE(G.sx[i], P.sx[i], 1e-12);
        LR_ASSERT_CLOSE(G.smin_x, P.smin_x, 1e-12);
        /* U^T Y = diag(1/s) V^T X^T Y on the Gram route; compare the pseudo-inverse
         * solutions X^+ Y = V diag(1/s) U^T Y, which do not depend on sign choices. */
        size_t q = G.q;
        lr_mat XtY = mat_new(n0, n1), UtY = mat_new(q, n1), W1 = mat_new(n0, n1), W2 = mat_new(n0, n1);
        lr_mat UtYp = mat_new(q, n1);
        lr_gemm('T', 'N', 1.0, X, Y, 0.0, XtY);
        lr_gemm('T', 'N', 1.0, G.Vx, XtY, 0.0, UtY);
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < q; i++) LR_AT(UtY, i, j) /= G.sx[i];
        lr_mat T = mat_new(q, n1);
        lr_mat_copy(T, UtY);
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < q; i++) LR_AT(T, i, j) /= G.sx[i];
        lr_gemm('N', 'N', 1.0, G.Vx, T, 0.0, W1);
        lr_gemm('T', 'N', 1.0, P.Ux, Y, 0.0, UtYp);
        lr_mat_copy(T, UtYp);
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < q; i++) LR_AT(T, i, j) /= P.sx[i];
        lr_gemm('N', 'N', 1.0, P.Vx, T, 0.0, W2);
        CU_ASSERT(rel_diff(W2, W1) < 1e-11);
        LR_ASSERT_CLOSE(lr_mat_norm_fro(UtY), lr_mat_norm_fro(UtYp), 1e-12);

        /* dd_rank handed U^T Y (fast) against dd_rank computing it from Ux (plain): the
         * products A B must agree (the factors themselves differ by signs). */
        G.UtY = UtY;
        size_t ranks[3] = {1, 3, q < n1 ? q : n1};
        lr_compressed f1[3], f2[3];
        lr_mat store[12];
        for (int i = 0; i < 3; i++) {
            store[i] = f1[i].A = mat_new(n0, ranks[2]);
            store[3 + i] = f1[i].B = mat_new(ranks[2], n1);
            store[6 + i] = f2[i].A = mat_new(n0, ranks[2]);
            store[9 + i] = f2[i].B = mat_new(ranks[2], n1);
        }
        lr_fit_info info = {.gap = NAN, .lambda = NAN};
        CU_ASSERT_EQUAL(lr_test_fit(&lr_compressor_dd_rank, &P, NULL, ranks, 3, f1, &info), LR_OK);
        CU_ASSERT_EQUAL(lr_test_fit(&lr_compressor_dd_rank, &G, NULL, ranks, 3, f2, &info), LR_OK);
        lr_mat M1 = mat_new(n0, n1), M2 = mat_new(n0, n1);
        for (int i = 0; i < 3; i++) {
            CU_ASSERT_EQUAL(f1[i].k, f2[i].k);
            lr_gemm('N', 'N', 1.0, lr_mat_view(f1[i].A, 0, 0, n0, f1[i].k), lr_mat_view(f1[i].B, 0, 0, f1[i].k, n1), 0.0, M1);
            lr_gemm('N', 'N', 1.0, lr_mat_view(f2[i].A, 0, 0, n0, f2[i].k), lr_mat_view(f2[i].B, 0, 0, f2[i].k, n1), 0.0, M2);
            CU_ASSERT(rel_diff(M1, M2) < 1e-10);
        }
        for (int i = 0; i < 12; i++) mat_free(store[i]);
        mat_free(M1), mat_free(M2), mat_free(XtY), mat_free(UtY), mat_free(W1), mat_free(W2);
        mat_free(UtYp), mat_free(T);
    }
    lr_eig_plan_free(ep);
    lr_svd_plan_free(ws.svd);
    lr_arena_release(&ws.arena);
    mat_free(X), mat_free(Y), mat_free(W), mat_free(K), mat_free(P.Ux), mat_free(P.Vx), mat_free(G.Vx);
    lr_free(P.sx), lr_free(G.sx), lr_free(scratch);
    gsl_rng_free(rng);
}

static void test_gram_gaussian(void) { check_gram_vs_svd(300, 40, 25, LR_X_GAUSSIAN, 1, 1); }
static void test_gram_wide_outputs(void) { check_gram_vs_svd(200, 20, 60, LR_X_GAUSSIAN, 1, 1); }
static void test_gram_moderate_cond(void) { check_gram_vs_svd(120, 30, 20, LR_X_SPECTRUM, 100, 1); }
static void test_gram_guard_graded(void) { check_gram_vs_svd(120, 30, 20, LR_X_SPECTRUM, 1e5, 0); }
static void test_gram_guard_short(void) { check_gram_vs_svd(20, 30, 10, LR_X_GAUSSIAN, 1, 0); }

static void test_gram_guard_rank_deficient(void)
{
    /* X~ of rank 5 < N0 = 12: K is singular, the guard must refuse. */
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 5, 0, 0);
    lr_mat X = mat_new(80, 12), K = mat_new(12, 12), V = mat_new(12, 12);
    double *scratch = lr_calloc(lr_gen_x_scratch(80, 12, 5) + 1, sizeof(double)), s[12];
    lr_gen_x(rng, X, LR_X_LOWRANK, 5, 1, scratch);
    lr_syrk('T', 1.0, X, 0.0, K);
    lr_layer L = {.Vx = V, .sx = s};
    lr_eig_plan *ep = lr_eig_plan_alloc(12);
    double ratio;
    int acc = -1;
    CU_ASSERT_EQUAL(lr_layer_factor_gram(&L, 80, K, 1e-12, 1e-6, ep, &ratio, &acc), LR_OK);
    CU_ASSERT_EQUAL(acc, 0);
    CU_ASSERT(ratio < 1e-6);
    lr_eig_plan_free(ep);
    mat_free(X), mat_free(K), mat_free(V), lr_free(scratch);
    gsl_rng_free(rng);
}

/* lr_svd_top against lr_svd: singular values and the rank-k truncation. */
static void check_svd_top(size_t m, size_t n, size_t k, int repeated, int inject)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 9, m, n);
    size_t mn = m < n ? m : n;
    lr_mat A = mat_new(m, n), A1 = mat_new(m, n), U1 = mat_new(m, mn), V1 = mat_new(mn, n);
    lr_mat U2 = mat_new(m, mn), V2 = mat_new(mn, n), T1 = mat_new(m, n), T2 = mat_new(m, n);
    double *s1 = lr_calloc(mn, sizeof(double)), *s2 = lr_calloc(mn, sizeof(double));
    double *scratch = lr_calloc(lr_gen_with_spectrum_scratch(m, n, mn) + 1, sizeof(double));
    /* Spectrum: geometric, or with a block of equal values straddling nothing at k. */
    for (size_t i = 0; i < mn; i++) s1[i] = repeated ? (i < k ? 3.0 - (double)(i / 8) * 0.5 : 0.25) : pow(0.9, (double)i);
    lr_gen_with_spectrum(rng, A, s1, mn, scratch);
    lr_mat_copy(A1, A);
    lr_svd_plan *p = lr_svd_plan_alloc(m, n);
    int fb = -1;
    CU_ASSERT_EQUAL_FATAL(lr_svd(p, A1, s1, U1, V1, &fb), LR_OK);
    lr_mat_copy(A1, A);
    if (inject) lr_lapack_fail_gesdd(1);
    CU_ASSERT_EQUAL_FATAL(lr_svd_top(p, A1, k, s2, U2, V2, &fb), LR_OK);
    CU_ASSERT_EQUAL(fb, inject);
    for (size_t i = 0; i < k; i++) LR_ASSERT_CLOSE(s1[i], s2[i], 1e-13);
    lr_mat u1 = lr_mat_view(U1, 0, 0, m, k), u2 = lr_mat_view(U2, 0, 0, m, k);
    lr_mat_scale_cols(u1, s1);
    lr_mat_scale_cols(u2, s2);
    lr_gemm('N', 'N', 1.0, u1, lr_mat_view(V1, 0, 0, k, n), 0.0, T1);
    lr_gemm('N', 'N', 1.0, u2, lr_mat_view(V2, 0, 0, k, n), 0.0, T2);
    CU_ASSERT(rel_diff(T1, T2) < 1e-11);
    lr_svd_plan_free(p);
    mat_free(A), mat_free(A1), mat_free(U1), mat_free(V1), mat_free(U2), mat_free(V2);
    mat_free(T1), mat_free(T2), lr_free(s1), lr_free(s2), lr_free(scratch);
    gsl_rng_free(rng);
}

static void test_svd_top(void) { check_svd_top(120, 90, 16, 0, 0); }
static void test_svd_top_wide(void) { check_svd_top(70, 130, 20, 0, 0); }
static void test_svd_top_repeated(void) { check_svd_top(100, 100, 24, 1, 0); }
static void test_svd_top_whole(void) { check_svd_top(60, 50, 40, 0, 0); }
static void test_svd_top_fallback(void) { check_svd_top(100, 80, 10, 0, 1); }

static void test_norm_op_gram(void)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 12, 0, 0);
    lr_svd_plan *p = lr_svd_plan_alloc(60, 60);
    lr_eig_plan *ep = lr_eig_plan_alloc(60);
    size_t shapes[3][2] = {{40, 25}, {25, 40}, {33, 33}};
    for (int c = 0; c < 3; c++) {
        size_t m = shapes[c][0], n = shapes[c][1];
        lr_mat A = mat_new(m, n), B = mat_new(m, n), S = mat_new(60, 60);
        double w[60], nrm1 = 0, nrm2 = 0;
        lr_gen_noise(rng, A, LR_NOISE_GAUSSIAN, 1e-3, 0);
        LR_AT(A, 0, 0) = 5.0; /* a dominant direction plus small noise */
        lr_mat_copy(B, A);
        CU_ASSERT_EQUAL(lr_norm_op(p, B, w, &nrm1, NULL), LR_OK);
        CU_ASSERT_EQUAL(lr_norm_op_gram(ep, A, S, w, &nrm2), LR_OK);
        LR_ASSERT_CLOSE(nrm1, nrm2, 1e-14);
        mat_free(A), mat_free(B), mat_free(S);
    }
    lr_svd_plan_free(p);
    lr_eig_plan_free(ep);
    gsl_rng_free(rng);
}

/* lr_svd_top_gram against lr_svd_top: the rank-k truncation A V_k V_k^T, and the guard. */
static void check_svd_top_gram(size_t m, size_t n, size_t k, double decay, int accept)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 11, m, n);
    size_t mn = m < n ? m : n;
    lr_mat A = mat_new(m, n), A0 = mat_new(m, n), A1 = mat_new(m, n), U1 = mat_new(m, mn);
    lr_mat V1 = mat_new(mn, n), U2 = mat_new(m, k), V2 = mat_new(k, n), S = mat_new(mn, mn);
    lr_mat T1 = mat_new(m, n), T2 = mat_new(m, n);
    double *s1 = lr_calloc(mn, sizeof(double)), *s2 = lr_calloc(mn, sizeof(double));
    double *scratch = lr_calloc(lr_gen_with_spectrum_scratch(m, n, mn) + 1, sizeof(double));
    for (size_t i = 0; i < mn; i++) s1[i] = pow(decay, (double)i);
    lr_gen_with_spectrum(rng, A, s1, mn, scratch);
    lr_mat_copy(A0, A);
    lr_mat_copy(A1, A);
    lr_svd_plan *p = lr_svd_plan_alloc(m, n);
    lr_eig_plan *ep = lr_eig_plan_alloc(mn);
    int fb = 0, accepted = -1;
    CU_ASSERT_EQUAL_FATAL(lr_svd_top(p, A1, k, s1, U1, V1, &fb), LR_OK);
    CU_ASSERT_EQUAL_FATAL(lr_svd_top_gram(ep, A, k, 1e-4, S, s2, U2, V2, &accepted), LR_OK);
    CU_ASSERT_EQUAL(accepted, accept);
    CU_ASSERT(rel_diff(A0, A) == 0.0); /* A is read only, so a refusal can fall back on it */
    if (accept) {
        for (size_t i = 0; i < k; i++) LR_ASSERT_CLOSE(s1[i], s2[i], 1e-12);
        lr_mat u1 = lr_mat_view(U1, 0, 0, m, k);
        lr_mat_scale_cols(u1, s1);
        lr_mat_scale_cols(U2, s2);
        lr_gemm('N', 'N', 1.0, u1, lr_mat_view(V1, 0, 0, k, n), 0.0, T1);
        lr_gemm('N', 'N', 1.0, U2, V2, 0.0, T2);
        CU_ASSERT(rel_diff(T1, T2) < 1e-11);
        /* ... and the error of the truncation, what the experiments report. */
        lr_mat_axpy(-1.0, A0, T1);
        lr_mat_axpy(-1.0, A0, T2);
        LR_ASSERT_CLOSE(lr_mat_norm_fro(T1), lr_mat_norm_fro(T2), 1e-11 * lr_mat_norm_fro(T1));
    }
    lr_svd_plan_free(p);
    lr_eig_plan_free(ep);
    mat_free(A), mat_free(A0), mat_free(A1), mat_free(U1), mat_free(V1), mat_free(U2), mat_free(V2);
    mat_free(S), mat_free(T1), mat_free(T2), lr_free(s1), lr_free(s2), lr_free(scratch);
    gsl_rng_free(rng);
}

static void test_svd_top_gram_tall(void) { check_svd_top_gram(150, 90, 16, 0.93, 1); }
static void test_svd_top_gram_wide(void) { check_svd_top_gram(70, 130, 20, 0.93, 1); }
/* s_k / s_1 = 0.5^19 = 1.9e-6 < 1e-4: refused. */
static void test_svd_top_gram_guard(void) { check_svd_top_gram(100, 80, 20, 0.5, 0); }

/* ---- the experiment, route against route ---- */

static const char quick_cfg[] =
    "experiment = \"recovery\";\n"
    "seed = 17;\n"
    "trials = 3;\n"
    "problem = { m = 300; m_test = 70; N0 = 24; N1 = 20; r = 4; block_rows = 64;\n"
    "  noise = { sigma = { geom = [1.0e-4, 1.0e-1, 3.0]; }; }; };\n"
    "compress = { methods = [\"svd_w\", \"dd_rank\"]; rank_offsets = [-2, 0, 3]; };\n";

static char cfg_path[64];

static lr_table *run_route(const char *route, const char *extra, int threads, const char *tag)
{
    char out[96], ov1[64];
    snprintf(out, sizeof out, "%s.%s.h5", cfg_path, tag);
    snprintf(ov1, sizeof ov1, "compress.route=\"%s\"", route);
    const char *ov[3] = {ov1, extra ? extra : "seed=17", NULL};
    lr_run_options opt = {0};
    opt.config_path = cfg_path;
    opt.overrides = ov;
    opt.noverrides = 2;
    opt.output = out;
    opt.nthreads = threads;
    opt.force = 1;
    opt.progress = 0;
    opt.command_line = "test";
    if (lr_run_main(&opt, NULL, 0) != LR_OK) {
        fprintf(stderr, "run_route(%s): %s\n", route, lr_last_error());
        return NULL;
    }
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    lr_table *t = NULL;
    lr_h5_read_table(f, "trials", &t);
    H5Fclose(f);
    unlink(out);
    return t;
}

static int write_cfg(void)
{
    snprintf(cfg_path, sizeof cfg_path, "/tmp/lrlab-gram-XXXXXX");
    int fd = mkstemp(cfg_path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    fputs(quick_cfg, f);
    fclose(f);
    return 0;
}

static void test_routes_agree(void)
{
    CU_ASSERT_FATAL(write_cfg() == 0);
    lr_table *a = run_route("svd_blocks", NULL, 2, "a"), *b = run_route("gram", NULL, 2, "b");
    lr_table *b1 = run_route("gram", NULL, 1, "b1");
    lr_table *c = run_route("gram", "compress.gram_min_ratio=0.999", 2, "c");
    CU_ASSERT_FATAL(a && b && b1 && c);
    CU_ASSERT_EQUAL_FATAL(a->nrows, b->nrows);
    CU_ASSERT_EQUAL_FATAL(a->ncols, b->ncols);
    const char *cols[] = {"err_fro", "err_rel", "err_weight", "err_heldout_rel", "err_layer",
                          "err_layer_rel", "z_norm", "pg_op", "thm1a", "thm1b", "thm1c", "thm1d"};
    int route = lr_table_col(a, "route");
    double worst = 0;
    int nan_mismatch = 0, route_ok = 1, same_b1 = 1, same_c = 1;
    for (size_t i = 0; i < a->nrows; i++) {
        for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) {
            int cc = lr_table_col(a, cols[k]);
            double x = lr_table_row(a, i)[cc], y = lr_table_row(b, i)[cc];
            if (isnan(x) || isnan(y)) nan_mismatch += isnan(x) != isnan(y);
            else worst = fmax(worst, fabs(x - y) / fmax(fabs(x), 1e-300));
        }
        route_ok &= lr_table_row(a, i)[route] == 0 && lr_table_row(b, i)[route] == 1 &&
                    lr_table_row(c, i)[route] == 2;
        /* Any thread count: bit-identical rows. */
        same_b1 &= !memcmp(lr_table_row(b, i), lr_table_row(b1, i), b->ncols * sizeof(double));
        /* The guard's fallback replays the same draws on the SVD route: svd_blocks' rows. */
        for (size_t cc = 0; cc < a->ncols; cc++) {
            double x = lr_table_row(a, i)[cc], y = lr_table_row(c, i)[cc];
            if ((int)cc != route && !(x == y || (isnan(x) && isnan(y)))) {
                if (same_c)
                    fprintf(stderr, "fallback differs from svd_blocks in column %s: %.17g vs %.17g\n",
                            a->cols[cc].name, x, y);
                same_c = 0;
            }
        }
    }
    CU_ASSERT(worst < 1e-9);
    CU_ASSERT_EQUAL(nan_mismatch, 0);
    CU_ASSERT(route_ok);
    CU_ASSERT(same_b1);
    CU_ASSERT(same_c);
    if (worst >= 1e-9) fprintf(stderr, "gram vs svd_blocks: worst relative difference %g\n", worst);
    lr_table_free(a), lr_table_free(b), lr_table_free(b1), lr_table_free(c);
    unlink(cfg_path);
}

/* compress.gram_fit_min_ratio: the fits' top-k SVDs through the Gram matrix agree with the
 * plain route's LAPACK SVDs to 1e-9 relative, and fit_route says which rows took it. */
static void test_gram_fit_routes_agree(void)
{
    CU_ASSERT_FATAL(write_cfg() == 0);
    lr_table *a = run_route("svd_blocks", NULL, 1, "fa");
    lr_table *b = run_route("gram", "compress.gram_fit_min_ratio=1e-4", 1, "fb");
    CU_ASSERT_FATAL(a && b);
    const char *cols[] = {"err_fro", "err_weight", "err_layer", "thm1a", "thm1b", "thm1c", "thm1d"};
    int fr = lr_table_col(b, "fit_route");
    double worst = 0;
    size_t viagram = 0, plain = 0;
    for (size_t i = 0; i < a->nrows; i++) {
        viagram += lr_table_row(b, i)[fr] == 1;
        plain += lr_table_row(a, i)[fr] == 0;
        for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) {
            int cc = lr_table_col(a, cols[k]);
            double x = lr_table_row(a, i)[cc], y = lr_table_row(b, i)[cc];
            if (!isnan(x) && !isnan(y)) worst = fmax(worst, fabs(x - y) / fmax(fabs(x), 1e-300));
        }
    }
    CU_ASSERT(worst < 1e-9);
    CU_ASSERT(viagram > 0);
    CU_ASSERT_EQUAL(plain, a->nrows);
    if (worst >= 1e-9) fprintf(stderr, "gram fits vs svd_blocks: worst relative difference %g\n", worst);
    lr_table_free(a), lr_table_free(b);
    unlink(cfg_path);
}

static void test_weight_model_routes_agree(void)
{
    CU_ASSERT_FATAL(write_cfg() == 0);
    lr_table *a = run_route("svd_blocks", "problem.model=\"weight\"", 1, "wa");
    lr_table *b = run_route("gram", "problem.model=\"weight\"", 1, "wb");
    CU_ASSERT_FATAL(a && b);
    double worst = 0;
    const char *cols[] = {"err_fro", "err_weight", "err_heldout_rel", "err_layer", "pg_op", "thm1a", "thm1d"};
    for (size_t i = 0; i < a->nrows; i++)
        for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) {
            int cc = lr_table_col(a, cols[k]);
            double x = lr_table_row(a, i)[cc], y = lr_table_row(b, i)[cc];
            if (!isnan(x) && !isnan(y)) worst = fmax(worst, fabs(x - y) / fmax(fabs(x), 1e-300));
        }
    CU_ASSERT(worst < 1e-9);
    lr_table_free(a), lr_table_free(b);
    unlink(cfg_path);
}

/* No allocation in the trial loop: 4 trials per point must allocate exactly as often as
 * 1 (with one thread, so that the per-thread workspaces are made once). */
static void test_no_alloc_in_trial_loop(void)
{
    CU_ASSERT_FATAL(write_cfg() == 0);
    const char *routes[] = {"gram", "svd", "svd_blocks"};
    for (int r = 0; r < 3; r++) {
        long before = lr_test_alloc_calls();
        lr_table *t1 = run_route(routes[r], "trials=1", 1, "n1");
        long one = lr_test_alloc_calls() - before;
        before = lr_test_alloc_calls();
        lr_table *t4 = run_route(routes[r], "trials=4", 1, "n4");
        long four = lr_test_alloc_calls() - before;
        CU_ASSERT(t1 && t4);
        CU_ASSERT(one > 0); /* the wrappers do count (setting up a run allocates) */
        CU_ASSERT_EQUAL(one, four);
        if (one != four) fprintf(stderr, "route %s: %ld allocations with 1 trial, %ld with 4\n", routes[r], one, four);
        lr_table_free(t1), lr_table_free(t4);
    }
    unlink(cfg_path);
}

void lr_tests_gram(void)
{
    CU_pSuite s = CU_add_suite("compress/gram and core/linalg: the Gram route and the fast paths against their references", NULL, NULL);
    CU_add_test(s, "dsyrk accumulated over row blocks equals X^T X", test_syrk);
    CU_add_test(s, "symmetric eigendecomposition: descending, orthogonal, reconstructs", test_eig_sym);
    CU_add_test(s, "Gram route = SVD route on Gaussian X~ (values, X^+ Y, dd_rank fits)", test_gram_gaussian);
    CU_add_test(s, "Gram route with N1 > N0", test_gram_wide_outputs);
    CU_add_test(s, "Gram route on a spectrum of condition 100", test_gram_moderate_cond);
    CU_add_test(s, "Gram guard refuses a graded spectrum (cond 1e5)", test_gram_guard_graded);
    CU_add_test(s, "Gram guard refuses m < N0", test_gram_guard_short);
    CU_add_test(s, "Gram guard refuses a rank-deficient X~", test_gram_guard_rank_deficient);
    CU_add_test(s, "top-k SVD = whole SVD truncated (tall)", test_svd_top);
    CU_add_test(s, "top-k SVD = whole SVD truncated (wide)", test_svd_top_wide);
    CU_add_test(s, "top-k SVD with repeated singular values", test_svd_top_repeated);
    CU_add_test(s, "top-k SVD takes the whole SVD when k is large", test_svd_top_whole);
    CU_add_test(s, "top-k SVD through the Gram matrix = dgesvdx (tall)", test_svd_top_gram_tall);
    CU_add_test(s, "top-k SVD through the Gram matrix = dgesvdx (wide)", test_svd_top_gram_wide);
    CU_add_test(s, "top-k SVD through the Gram matrix: the guard refuses s_k/s_1 < 1e-4",
                test_svd_top_gram_guard);
    CU_add_test(s, "recovery: the fits through the Gram matrix = svd_blocks to 1e-9",
                test_gram_fit_routes_agree);
    CU_add_test(s, "top-k SVD failure falls back and is recorded", test_svd_top_fallback);
    CU_add_test(s, "operator norm from the largest Gram eigenvalue = from the SVD", test_norm_op_gram);
    CU_add_test(s, "recovery: gram route = svd_blocks route to 1e-9; any thread count; fallback", test_routes_agree);
    CU_add_test(s, "recovery, weight model: gram route = svd_blocks route", test_weight_model_routes_agree);
    CU_add_test(s, "no allocation inside the trial loop (gram, svd, svd_blocks)", test_no_alloc_in_trial_loop);
}
