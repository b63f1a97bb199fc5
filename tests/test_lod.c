/* Tests of LoD's recovery kernels (src/nn/lod_check.c): the sine of the largest principal
 * angle against a plain reference (the cosines' formula at an angle where it is still
 * accurate, and known angles by construction), and the truth constructions against direct
 * computations: isotropic whitened inputs give the truncated SVDs of the target map, an
 * autoencoder gives the top principal subspaces, and inputs with a covariance give what
 * lrlab's own dd_rank compressor computes (the same answer by another route: the SVD of X~
 * and X~^+ [P Y]_b, src/compress/dd_rank.c). */
#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "nn/lod_check.h"
#include "tests.h"

/* Two planes in R^4 at principal angles 0.3 and theta: span(e1, e2) against
 * span(e1 cos 0.3 + e3 sin 0.3, e2 cos theta + e4 sin theta): sin theta_max = sin max(0.3, theta). */
static void test_sin_known(void)
{
    double thetas[3] = {1e-9, 0.1, 1.2};
    for (int k = 0; k < 3; k++) {
        double th = thetas[k];
        double Q1[8] = {1, 0, 0, 1, 0, 0, 0, 0};
        double Q2[8] = {cos(0.3), 0, 0, cos(th), sin(0.3), 0, 0, sin(th)};
        double want = sin(fmax(0.3, th));
        CU_ASSERT_DOUBLE_EQUAL(lr_lod_sin_max(Q1, Q2, 4, 2), want, 1e-14);
        /* one dimension: the angle theta alone, tiny angles kept to relative accuracy */
        double q1[2] = {1, 0}, q2[2] = {cos(th), sin(th)};
        CU_ASSERT_DOUBLE_EQUAL(lr_lod_sin_max(q1, q2, 2, 1) / sin(th), 1.0, 1e-12);
    }
}

/* Random subspaces: against the reference sqrt(1 - sigma_min(Q1^T Q2)^2). */
static void test_sin_reference(void)
{
    enum { N = 9, B = 3 };
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 7);
    for (int rep = 0; rep < 5; rep++) {
        double M1[N * B], M2[N * B], Q1[N * B], Q2[N * B], G[B * B], sv[B], work[B];
        for (int i = 0; i < N * B; i++) M1[i] = gsl_ran_gaussian(g, 1), M2[i] = gsl_ran_gaussian(g, 1);
        CU_ASSERT_EQUAL_FATAL(lr_lod_orth(M1, N, B, B, Q1), LR_OK);
        CU_ASSERT_EQUAL_FATAL(lr_lod_orth(M2, N, B, B, Q2), LR_OK);
        for (int i = 0; i < B; i++)
            for (int j = 0; j < B; j++) {
                double s = 0;
                for (int t = 0; t < N; t++) s += Q1[t * B + i] * Q2[t * B + j];
                G[i * B + j] = s;
            }
        CU_ASSERT_EQUAL_FATAL(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', B, B, G, B, sv, NULL, 1, NULL, 1, work), 0);
        double ref = sqrt(1 - sv[B - 1] * sv[B - 1]);
        CU_ASSERT_DOUBLE_EQUAL(lr_lod_sin_max(Q1, Q2, N, B), ref, 1e-10);
        CU_ASSERT(lr_lod_sin_max(Q1, Q1, N, B) < 1e-14);
    }
    gsl_rng_free(g);
}

/* Whitened inputs (X^T X / n = I) and Y = X A^T: W_b must be A's truncated SVD, computed
 * directly by LAPACK. */
static void test_truth_isotropic(void)
{
    enum { n = 40, d = 6, m = 5, r = 4 };
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 11);
    double Z[n * d], X[n * d], A[m * d], Y[n * m];
    for (int i = 0; i < n * d; i++) Z[i] = gsl_ran_gaussian(g, 1);
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += Z[i * d + j];
        for (int i = 0; i < n; i++) Z[i * d + j] -= s / n;
    }
    CU_ASSERT_EQUAL_FATAL(lr_lod_orth(Z, n, d, d, X), LR_OK);
    for (int i = 0; i < n * d; i++) X[i] *= sqrt((double)n);
    for (int i = 0; i < m * d; i++) A[i] = gsl_ran_gaussian(g, 1);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m; k++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += X[i * d + j] * A[k * d + j];
            Y[i * m + k] = s;
        }
    lr_lod_truth t;
    CU_ASSERT_EQUAL_FATAL(lr_lod_truth_compute(X, Y, n, d, m, r, &t), LR_OK);
    double Ac[m * d], U[m * m], VT[d * d], sv[m], work[m];
    memcpy(Ac, A, sizeof Ac);
    CU_ASSERT_EQUAL_FATAL(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'A', 'A', m, d, Ac, d, sv, U, m, VT, d, work), 0);
    for (int b = 1; b <= r; b++) {
        double W[m * d], err = 0, nrm = 0;
        lr_lod_truth_map(&t, (size_t)b, W);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int c = 0; c < b; c++) s += U[i * m + c] * sv[c] * VT[c * d + j];
                err += (W[i * d + j] - s) * (W[i * d + j] - s), nrm += s * s;
            }
        CU_ASSERT(sqrt(err / nrm) < 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(t.s[b - 1], sv[b - 1], 1e-12 * sv[0]);
        /* the row-space basis against A's right singular vectors */
        double Vb[d * 4], Qb[d * 4];
        for (int j = 0; j < d; j++)
            for (int c = 0; c < b; c++) Vb[j * b + c] = VT[c * d + j], Qb[j * b + c] = t.Qr[j * r + c];
        CU_ASSERT(lr_lod_sin_max(Vb, Qb, d, (size_t)b) < 1e-12);
    }
    lr_lod_truth_free(&t);
    gsl_rng_free(g);
}

/* Autoencoder Y = X: W_b = P_b P_b^T, the projection on the top-b eigenvectors of X^T X / n
 * (by LAPACK's dsyev directly). */
static void test_truth_autoencoder(void)
{
    enum { n = 60, d = 5, r = 3 };
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 5);
    double X[n * d], S[d * d], ev[d];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) X[i * d + j] = gsl_ran_gaussian(g, 1.0 / (1 + j));
    for (int j = 0; j < d; j++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += X[i * d + j];
        for (int i = 0; i < n; i++) X[i * d + j] -= s / n;
    }
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += X[i * d + a] * X[i * d + b];
            S[a * d + b] = s / n;
        }
    CU_ASSERT_EQUAL_FATAL(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', d, S, d, ev), 0);
    lr_lod_truth t;
    CU_ASSERT_EQUAL_FATAL(lr_lod_truth_compute(X, X, n, d, d, r, &t), LR_OK);
    for (int b = 1; b <= r; b++) {
        double W[d * d], err = 0;
        lr_lod_truth_map(&t, (size_t)b, W);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double s = 0;
                for (int c = 0; c < b; c++) s += S[i * d + d - 1 - c] * S[j * d + d - 1 - c]; /* dsyev: ascending */
                err = fmax(err, fabs(W[i * d + j] - s));
            }
        CU_ASSERT(err < 1e-12);
    }
    lr_lod_truth_free(&t);
    /* a singular covariance is refused with a message */
    double X1[n * d];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) X1[i * d + j] = j ? X[i * d + j] : 0.0;
    CU_ASSERT_EQUAL(lr_lod_truth_compute(X1, X1, n, d, d, r, &t), LR_ENUMERIC);
    gsl_rng_free(g);
}

/* Correlated inputs and noisy targets: the truth's W_b^T against dd_rank's M^ at rank b
 * (the compressor's N0 x N1 map, column-major), every b. */
static void test_truth_dd_rank(void)
{
    enum { n = 50, d = 7, m = 5, r = 4 };
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 21);
    double X[n * d], Y[n * m];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) X[i * d + j] = gsl_ran_gaussian(g, 1) + (j ? 0.5 * X[i * d + j - 1] : 0);
    for (int i = 0; i < n * m; i++) Y[i] = gsl_ran_gaussian(g, 1);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < m; k++)
            for (int j = 0; j < d; j++) Y[i * m + k] += (k + 1.0) / (j + 1.0) * X[i * d + j];
    double *cols[2] = {X, Y};
    int widths[2] = {d, m};
    for (int a = 0; a < 2; a++) /* centre X and Y, as the experiment does */
        for (int j = 0; j < widths[a]; j++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += cols[a][i * widths[a] + j];
            for (int i = 0; i < n; i++) cols[a][i * widths[a] + j] -= s / n;
        }
    lr_lod_truth t;
    CU_ASSERT_EQUAL_FATAL(lr_lod_truth_compute(X, Y, n, d, m, r, &t), LR_OK);
    /* the layer problem in lrlab's column-major layout: X~ n x d, Y n x m, W unused */
    lr_layer L = {0};
    lr_layer_ws ws = {0};
    L.X = lr_mat_wrap(lr_calloc(n * d, sizeof(double)), n, d), L.Y = lr_mat_wrap(lr_calloc(n * m, sizeof(double)), n, m);
    L.W = lr_mat_wrap(lr_calloc(d * m, sizeof(double)), d, m);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) L.X.data[i + j * n] = X[i * d + j];
        for (int k = 0; k < m; k++) L.Y.data[i + k * n] = Y[i * m + k];
    }
    L.Ux = lr_mat_wrap(lr_calloc(n * d, sizeof(double)), n, d), L.Vx = lr_mat_wrap(lr_calloc(d * d, sizeof(double)), d, d);
    L.sx = lr_calloc(d, sizeof(double));
    L.sigma = NAN;
    ws.svd = lr_svd_plan_alloc(n, d);
    CU_ASSERT_EQUAL_FATAL(lr_arena_init(&ws.arena, lr_layer_factor_x_scratch(n, d) + lr_arena_need(d, d)), LR_OK);
    CU_ASSERT_EQUAL_FATAL(lr_layer_factor_x(&L, lr_rank_rtol_default(n, d), &ws), LR_OK);
    lr_layer_shape sh = {n, d, m};
    lr_compressor_plan *p = lr_compressor_plan_alloc(&lr_compressor_dd_rank, &sh, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t ranks[r];
    lr_compressed out[r];
    for (int b = 0; b < r; b++)
        ranks[b] = (size_t)b + 1, out[b] = (lr_compressed){.A = lr_mat_wrap(lr_calloc(d * m, sizeof(double)), d, m),
                                                           .B = lr_mat_wrap(lr_calloc(m * m, sizeof(double)), m, m)};
    lr_fit_info info = {.gap = NAN, .lambda = NAN, .converged = -1};
    CU_ASSERT_EQUAL_FATAL(lr_compressor_execute(p, 0, &L, ranks, r, out, &info, NULL), LR_OK);
    for (int b = 1; b <= r; b++) {
        double W[m * d], err = 0, nrm = 0;
        lr_mat M = lr_mat_wrap(lr_calloc(d * m, sizeof(double)), d, m);
        CU_ASSERT_EQUAL_FATAL(lr_compressed_to_dense(&out[b - 1], M), LR_OK);
        lr_lod_truth_map(&t, (size_t)b, W);
        for (int k = 0; k < m; k++)
            for (int j = 0; j < d; j++) {
                double e = W[k * d + j] - M.data[j + k * d];
                err += e * e, nrm += W[k * d + j] * W[k * d + j];
            }
        CU_ASSERT(sqrt(err / nrm) < 1e-10);
        lr_free(M.data);
    }
    for (int b = 0; b < r; b++) lr_free(out[b].A.data), lr_free(out[b].B.data);
    lr_compressor_plan_free(p);
    lr_free(L.X.data), lr_free(L.Y.data), lr_free(L.W.data), lr_free(L.Ux.data), lr_free(L.Vx.data), lr_free(L.sx);
    lr_free(L.UtY.data);
    lr_svd_plan_free(ws.svd);
    lr_arena_release(&ws.arena);
    lr_lod_truth_free(&t);
    gsl_rng_free(g);
}

void lr_tests_lod(void)
{
    CU_pSuite s = CU_add_suite("lod_check", NULL, NULL);
    CU_add_test(s, "sine of the largest principal angle: known angles", test_sin_known);
    CU_add_test(s, "sine of the largest principal angle against the cosine reference", test_sin_reference);
    CU_add_test(s, "truth, isotropic inputs: the truncated SVDs of A", test_truth_isotropic);
    CU_add_test(s, "truth, autoencoder: the top principal subspaces; singular covariance refused", test_truth_autoencoder);
    CU_add_test(s, "truth, input covariance: dd_rank's answer at every rank", test_truth_dd_rank);
}
