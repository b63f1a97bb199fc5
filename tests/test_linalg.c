/* Linear algebra: SVD plans, the dgesdd -> dgesvd fallback, numerical rank, and the
 * identities data-driven compression rests on (docs/theory.md section 2), checked as
 * properties on seeded random and hard matrices. */
#include <CUnit/CUnit.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "compress/compress.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "tests.h"

static lr_mat mat_new(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

static void random_mat(gsl_rng *rng, lr_mat A) { lr_gen_noise(rng, A, LR_NOISE_GAUSSIAN, 1.0, 0); }

/* ||Q^T Q - I||_max for the first k columns. */
static double orth_defect(lr_mat Q, size_t k)
{
    double worst = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            double d = 0;
            for (size_t l = 0; l < Q.rows; l++) d += LR_AT(Q, l, i) * LR_AT(Q, l, j);
            worst = fmax(worst, fabs(d - (i == j)));
        }
    return worst;
}

static void check_svd(size_t m, size_t n, int force_fallback)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 7, m, n);
    size_t mn = m < n ? m : n;
    lr_mat A = mat_new(m, n), A0 = mat_new(m, n), U = mat_new(m, mn), VT = mat_new(mn, n), R = mat_new(m, n);
    double *s = lr_calloc(mn + 1, sizeof(double));
    random_mat(rng, A);
    lr_mat_copy(A0, A);
    lr_svd_plan *p = lr_svd_plan_alloc(m + 3, n + 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int fb = -1;
    if (force_fallback) lr_lapack_fail_gesdd(1);
    CU_ASSERT_EQUAL(lr_svd(p, A, s, U, VT, &fb), LR_OK);
    CU_ASSERT_EQUAL(fb, force_fallback);
    CU_ASSERT_EQUAL(lr_svd_plan_fallbacks(p), (size_t)force_fallback);
    CU_ASSERT(orth_defect(U, mn) < 1e-12);
    lr_mat V = mat_new(n, mn);
    for (size_t i = 0; i < mn; i++)
        for (size_t j = 0; j < n; j++) LR_AT(V, j, i) = LR_AT(VT, i, j);
    CU_ASSERT(orth_defect(V, mn) < 1e-12);
    for (size_t i = 1; i < mn; i++) CU_ASSERT(s[i] <= s[i - 1]);
    lr_mat_scale_cols(U, s);
    lr_gemm('N', 'N', 1.0, U, VT, 0.0, R);
    CU_ASSERT(lr_mat_diff_fro(R, A0) <= 1e-12 * lr_mat_norm_fro(A0));
    lr_svd_plan_free(p);
    lr_free(A.data), lr_free(A0.data), lr_free(U.data), lr_free(VT.data), lr_free(R.data);
    lr_free(V.data), lr_free(s);
    gsl_rng_free(rng);
}

static void test_svd_tall(void) { check_svd(40, 17, 0); }
static void test_svd_wide(void) { check_svd(9, 31, 0); }
static void test_svd_fallback(void) { check_svd(25, 25, 1); }

static void test_svd_rejects_nan_and_oversize(void)
{
    lr_svd_plan *p = lr_svd_plan_alloc(4, 4);
    lr_mat A = mat_new(5, 4), U = mat_new(5, 4), VT = mat_new(4, 4);
    double s[5];
    CU_ASSERT_EQUAL(lr_svd(p, A, s, U, VT, NULL), LR_EINVAL);
    A.rows = 4;
    U.rows = 4;
    LR_AT(A, 1, 1) = NAN;
    CU_ASSERT_EQUAL(lr_svd(p, A, s, U, VT, NULL), LR_ENUMERIC);
    lr_svd_plan_free(p);
    lr_free(A.data), lr_free(U.data), lr_free(VT.data);
}

static void test_alloc_failure_injected(void)
{
    lr_fail_alloc_after(2);
    lr_svd_plan *p = lr_svd_plan_alloc(10, 10); /* its 2nd allocation fails */
    CU_ASSERT_PTR_NULL(p);
    lr_fail_alloc_after(0);
    p = lr_svd_plan_alloc(10, 10);
    CU_ASSERT_PTR_NOT_NULL(p);
    lr_svd_plan_free(p);
}

static void test_numerical_rank(void)
{
    double s[] = {10, 5, 1e-3, 1e-15, 0};
    CU_ASSERT_EQUAL(lr_numerical_rank(s, 5, lr_rank_rtol_default(100, 5)), 3);
    CU_ASSERT_EQUAL(lr_numerical_rank(s, 5, 1e-2), 2);
    double z[] = {0, 0};
    CU_ASSERT_EQUAL(lr_numerical_rank(z, 2, 1e-10), 0);
}

/* A small lr_layer with its workspace, for the compressor tests. */
typedef struct layer_fixture {
    lr_layer L;
    lr_layer_ws ws;
    lr_mat store[6];
} layer_fixture;

static void fixture_init(layer_fixture *f, gsl_rng *rng, size_t m, size_t n0, size_t n1, size_t q)
{
    memset(f, 0, sizeof *f);
    size_t mn = m < n0 ? m : n0;
    f->L.X = mat_new(m, n0);
    f->L.W = mat_new(n0, n1);
    f->L.Y = mat_new(m, n1);
    f->L.Ux = mat_new(m, mn);
    f->L.Vx = mat_new(n0, mn);
    f->L.sx = lr_calloc(mn + 1, sizeof(double));
    double *scratch = lr_calloc(lr_gen_x_scratch(m, n0, mn) + 1, sizeof(double));
    lr_gen_x(rng, f->L.X, q < mn ? LR_X_LOWRANK : LR_X_GAUSSIAN, q, 1, scratch);
    lr_free(scratch);
    random_mat(rng, f->L.W);
    random_mat(rng, f->L.Y);
    size_t big = m > n0 ? m : n0, bn = n0 > n1 ? n0 : n1;
    f->ws.svd = lr_svd_plan_alloc(big, bn);
    lr_arena_init(&f->ws.arena, 4 * (lr_arena_need(big, bn) + lr_arena_need(big, big)));
    lr_layer_factor_x(&f->L, lr_rank_rtol_default(m, n0), &f->ws);
}

static void fixture_free(layer_fixture *f)
{
    lr_free(f->L.X.data), lr_free(f->L.W.data), lr_free(f->L.Y.data), lr_free(f->L.Ux.data);
    lr_free(f->L.Vx.data), lr_free(f->L.sx);
    lr_svd_plan_free(f->ws.svd);
    lr_arena_release(&f->ws.arena);
}

static double fit_residual(const lr_compressor *c, layer_fixture *f, size_t k, lr_mat *XM_out)
{
    size_t n0 = f->L.W.rows, n1 = f->L.W.cols, m = f->L.X.rows;
    lr_compressed fac = {.A = mat_new(n0, k), .B = mat_new(k, n1)};
    lr_fit_info info = {0};
    CU_ASSERT_EQUAL(lr_test_fit(c, &f->L, NULL, &k, 1, &fac, &info), LR_OK);
    lr_mat XA = mat_new(m, fac.k), XM = mat_new(m, n1);
    lr_gemm('N', 'N', 1.0, f->L.X, lr_mat_view(fac.A, 0, 0, n0, fac.k), 0.0, XA);
    lr_gemm('N', 'N', 1.0, XA, lr_mat_view(fac.B, 0, 0, fac.k, n1), 0.0, XM);
    double res = lr_mat_diff_fro(XM, f->L.Y);
    if (XM_out) *XM_out = XM;
    else lr_free(XM.data);
    lr_free(fac.A.data), lr_free(fac.B.data), lr_free(XA.data);
    return res;
}

/* min_{rank M <= k} ||Y - X M||_F^2 = ||(I - P) Y||_F^2 + tau_k(P Y)^2, attained by dd_rank;
 * also for rank-deficient X (q < N0). */
static void check_generalised_eckart_young(size_t m, size_t n0, size_t n1, size_t q, size_t k)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 11, q, k);
    layer_fixture f;
    fixture_init(&f, rng, m, n0, n1, q);
    CU_ASSERT_EQUAL(f.L.q, q);
    /* P Y and its singular values, computed the plain way (SVD of the m x N1 matrix). */
    lr_mat UtY = mat_new(f.L.q, n1), PY = mat_new(m, n1), R = mat_new(m, n1);
    lr_gemm('T', 'N', 1.0, f.L.Ux, f.L.Y, 0.0, UtY);
    lr_gemm('N', 'N', 1.0, f.L.Ux, UtY, 0.0, PY);
    lr_mat_copy(R, f.L.Y);
    lr_mat_axpy(-1.0, PY, R);
    double perp2 = pow(lr_mat_norm_fro(R), 2);
    double *s = lr_calloc(n1 + m, sizeof(double));
    lr_svd_plan *p = lr_svd_plan_alloc(m, n1);
    lr_mat none = {NULL, 0, 0, 1};
    lr_mat PYc = mat_new(m, n1);
    lr_mat_copy(PYc, PY);
    lr_svd(p, PYc, s, none, none, NULL);
    double tail2 = 0;
    for (size_t i = k; i < (m < n1 ? m : n1); i++) tail2 += s[i] * s[i];
    double res = fit_residual(&lr_compressor_dd_rank, &f, k, NULL);
    LR_ASSERT_CLOSE(res * res, perp2 + tail2, 1e-10);
    /* Optimality: the data-agnostic fit at the same rank is never better. */
    double res_w = fit_residual(&lr_compressor_svd_w, &f, k, NULL);
    CU_ASSERT(res <= res_w * (1 + 1e-12));
    lr_svd_plan_free(p);
    lr_free(UtY.data), lr_free(PY.data), lr_free(R.data), lr_free(s), lr_free(PYc.data);
    fixture_free(&f);
    gsl_rng_free(rng);
}

static void test_gey_full_rank(void) { check_generalised_eckart_young(60, 20, 15, 20, 5); }
static void test_gey_rank_deficient(void) { check_generalised_eckart_young(60, 20, 15, 8, 3); }
static void test_gey_wide_x(void) { check_generalised_eckart_young(12, 30, 10, 12, 4); }

/* Eckart-Young: svd_w's [W]_k error equals the singular-value tail and beats random
 * rank-k perturbations of itself. */
static void test_eckart_young(void)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 3, 1, 1);
    size_t n0 = 18, n1 = 12, k = 4;
    layer_fixture f;
    fixture_init(&f, rng, 30, n0, n1, 18);
    lr_compressed fac = {.A = mat_new(n0, k), .B = mat_new(k, n1)};
    lr_fit_info info = {0};
    CU_ASSERT_EQUAL(lr_test_fit(&lr_compressor_svd_w, &f.L, NULL, &k, 1, &fac, &info), LR_OK);
    lr_mat M = mat_new(n0, n1), Wc = mat_new(n0, n1);
    lr_gemm('N', 'N', 1.0, fac.A, fac.B, 0.0, M);
    double err = lr_mat_diff_fro(M, f.L.W);
    double s[12];
    lr_mat none = {NULL, 0, 0, 1};
    lr_svd_plan *p = lr_svd_plan_alloc(n0, n1);
    lr_mat_copy(Wc, f.L.W);
    lr_svd(p, Wc, s, none, none, NULL);
    double tail = 0;
    for (size_t i = k; i < n1; i++) tail += s[i] * s[i];
    LR_ASSERT_CLOSE(err, sqrt(tail), 1e-12);
    for (int trial = 0; trial < 20; trial++) {
        lr_mat dA = mat_new(n0, k), P2 = mat_new(n0, n1);
        lr_gen_noise(rng, dA, LR_NOISE_GAUSSIAN, 1e-3, 0);
        lr_mat_axpy(1.0, fac.A, dA);
        lr_gemm('N', 'N', 1.0, dA, fac.B, 0.0, P2);
        CU_ASSERT(lr_mat_diff_fro(P2, f.L.W) >= err * (1 - 1e-12));
        lr_free(dA.data), lr_free(P2.data);
    }
    lr_svd_plan_free(p);
    lr_free(fac.A.data), lr_free(fac.B.data), lr_free(M.data), lr_free(Wc.data);
    fixture_free(&f);
    gsl_rng_free(rng);
}

/* With X = X~, dd_rank's error tau_k(XW) <= svd_w's ||X (W - [W]_k)||_F, and adding to W a
 * part that X annihilates leaves the first unchanged while the second can grow. */
static void test_annihilated_component(void)
{
    gsl_rng *rng = lr_rng_alloc();
    lr_rng_seed_unit(rng, 5, 2, 2);
    size_t m = 50, n0 = 20, n1 = 10, q = 8, k = 3;
    layer_fixture f;
    fixture_init(&f, rng, m, n0, n1, q);
    /* W of rank k, so that the data-driven error tau_k(XW) is zero; Y = X W exactly. */
    lr_mat Wa = mat_new(n0, k), Wb = mat_new(k, n1);
    random_mat(rng, Wa);
    random_mat(rng, Wb);
    lr_gemm('N', 'N', 1.0, Wa, Wb, 0.0, f.L.W);
    lr_free(Wa.data), lr_free(Wb.data);
    lr_gemm('N', 'N', 1.0, f.L.X, f.L.W, 0.0, f.L.Y);
    double ynorm = lr_mat_norm_fro(f.L.Y);
    double dd0 = fit_residual(&lr_compressor_dd_rank, &f, k, NULL);
    double da0 = fit_residual(&lr_compressor_svd_w, &f, k, NULL);
    CU_ASSERT(dd0 <= da0 + 1e-12 * ynorm);
    /* N = (I - Vx Vx^T) G lies in ker X; W + 100 N has the same Y. */
    lr_mat G = mat_new(n0, n1), VtG = mat_new(f.L.q, n1);
    random_mat(rng, G);
    lr_gemm('T', 'N', 1.0, f.L.Vx, G, 0.0, VtG);
    lr_gemm('N', 'N', -1.0, f.L.Vx, VtG, 1.0, G);
    lr_mat_axpy(100.0, G, f.L.W);
    double dd1 = fit_residual(&lr_compressor_dd_rank, &f, k, NULL);
    double da1 = fit_residual(&lr_compressor_svd_w, &f, k, NULL);
    CU_ASSERT(dd0 <= 1e-10 * ynorm && dd1 <= 1e-10 * ynorm);
    CU_ASSERT(da0 <= 1e-10 * ynorm);
    /* [W + 100 N]_k keeps mostly N, which X annihilates: the data-agnostic error is now a
     * sizeable part of ||Y||, the data-driven one still zero. */
    CU_ASSERT(da1 > 0.1 * ynorm);
    lr_free(G.data), lr_free(VtG.data);
    fixture_free(&f);
    gsl_rng_free(rng);
}

void lr_tests_linalg(void)
{
    CU_pSuite s = CU_add_suite("linalg", NULL, NULL);
    CU_add_test(s, "SVD of a tall matrix: orthogonality, order, reconstruction", test_svd_tall);
    CU_add_test(s, "SVD of a wide matrix", test_svd_wide);
    CU_add_test(s, "dgesdd failure falls back to dgesvd and is counted", test_svd_fallback);
    CU_add_test(s, "SVD rejects oversize and NaN input", test_svd_rejects_nan_and_oversize);
    CU_add_test(s, "injected allocation failure is reported", test_alloc_failure_injected);
    CU_add_test(s, "numerical rank with a relative tolerance", test_numerical_rank);
    CU_add_test(s, "generalised Eckart-Young identity, full-rank X", test_gey_full_rank);
    CU_add_test(s, "generalised Eckart-Young identity, rank-deficient X", test_gey_rank_deficient);
    CU_add_test(s, "generalised Eckart-Young identity, wide X", test_gey_wide_x);
    CU_add_test(s, "Eckart-Young: svd_w error is the singular tail and optimal", test_eckart_young);
    CU_add_test(s, "annihilated component: dd unchanged, da grows", test_annihilated_component);
}
