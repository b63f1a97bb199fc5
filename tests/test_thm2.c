/* Issue 3: Theorems 2 and 3's bounds against hand computations (and where they do not
 * apply), and the generators behind them: spectral tails, row-correlated noise, the
 * annihilated component, measured spectra read from text. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bounds/bounds.h"
#include "core/error.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "io/spectrum.h"
#include "tests.h"

static void test_thm2_arithmetic(void)
{
    lr_bound_params P = {.C = 2.0, .t = 2.0, .tol = 1e-10, .Ctau = 1.0, .C2b = 4.5, .C2c = 3.0,
                         .lambda_c = 2.0, .C3 = 1.0};
    double tau2[4] = {10.0, 3.0, 1.0, 0.0}; /* tau_0^2 .. tau_3^2 */
    lr_bound_input in = {.m = 100, .n0 = 30, .n1 = 20, .q = 25, .r = 2, .k = 2, .sigma = 0.1, .pg_op = 0.5,
                         .preact = 1, .gaussian = 1, .tau_k = 1.0, .tau2 = tau2, .ntau = 4, .lambda = 1.2,
                         .xg_op = 0.4, .m0_nuc = 7.0, .z_norm = sqrt(10.0)};
    const lr_bound *a = lr_bound_find("thm2a"), *ap = lr_bound_find("thm2a_p"), *b = lr_bound_find("thm2b");
    const lr_bound *c = lr_bound_find("thm2c"), *t3 = lr_bound_find("thm3");
    LR_ASSERT_CLOSE(a->value(&in, &P), 1.0 + 2.0 * 2.0 * 0.5, 1e-15);
    LR_ASSERT_CLOSE(ap->value(&in, &P), 1.0 + 2.0 * 2.0 * 0.1 * (5.0 + sqrt(20.0) + 2.0), 1e-15);
    /* 2(b): min over k of tau_k^2 + 4.5 * 1.44 k = {10, 9.48, 13.96, 19.44} -> 9.48. */
    LR_ASSERT_CLOSE(b->value(&in, &P), sqrt(3.0 + 4.5 * 1.44), 1e-15);
    /* 2(c): min(3 * 1.2 * 7, ||Z0||^2 = 10) = 10. */
    LR_ASSERT_CLOSE(c->value(&in, &P), sqrt(10.0), 1e-15);
    in.m0_nuc = 2.0;
    LR_ASSERT_CLOSE(c->value(&in, &P), sqrt(3 * 1.2 * 2.0), 1e-15);
    /* Assumptions: lambda below lambda_c times the noise level, no lambda, non-Gaussian. */
    in.lambda = 0.9; /* < 2 * 0.5 but >= 2 * 0.4 */
    CU_ASSERT(isnan(b->value(&in, &P)));
    CU_ASSERT(!isnan(c->value(&in, &P)));
    in.lambda = 0.7;
    CU_ASSERT(isnan(c->value(&in, &P)));
    in.lambda = NAN;
    CU_ASSERT(isnan(b->value(&in, &P)) && isnan(c->value(&in, &P)));
    in.gaussian = 0;
    CU_ASSERT(isnan(lr_bound_evaluate(ap, &in, &P)));
    CU_ASSERT(!isnan(a->value(&in, &P)));
    /* Theorem 3's shape only under ReLU observations. */
    CU_ASSERT(isnan(t3->value(&in, &P)));
    in.gaussian = 1;
    in.relu = 1;
    LR_ASSERT_CLOSE(t3->value(&in, &P), 0.1 * sqrt(2.0) * (5.0 + sqrt(20.0)) * sqrt(log(2000.0)), 1e-15);
    P.C3 = 2.5;
    LR_ASSERT_CLOSE(t3->value(&in, &P), 2.5 * 0.1 * sqrt(2.0) * (5.0 + sqrt(20.0)) * sqrt(log(2000.0)), 1e-15);
    CU_ASSERT_EQUAL(t3->kind, LR_BOUND_PREDICTION);
    CU_ASSERT(isnan(ap->value(&in, &P))); /* Y+ is not Y: 2(a) w.p. is about linear observations */
    /* Without tail information (a caller that does not know tau) 2(a) does not apply. */
    in.tau2 = NULL;
    CU_ASSERT(!isnan(a->value(&in, &P))); /* 2(a) needs tau_k only */
    CU_ASSERT(isnan(b->value(&in, &P)));  /* 2(b) minimises over every tau_j */
    in.ntau = 0;
    CU_ASSERT(isnan(a->value(&in, &P)));
}

static void test_tail_spectra(void)
{
    double s[8], v[6] = {9, 5, 4, 2, 1, 0.5};
    CU_ASSERT_EQUAL(lr_spectrum_with_tail(s, 8, 2, 2.0, 4.0, LR_TAIL_POWER, 2.0, 0, 0.1, NULL, 0), LR_OK);
    LR_ASSERT_CLOSE(s[0], 2.0, 1e-15);
    LR_ASSERT_CLOSE(s[1], 0.5, 1e-15);
    LR_ASSERT_CLOSE(s[2], 0.2, 1e-15);
    LR_ASSERT_CLOSE(s[3], 0.2 / 4, 1e-15);
    LR_ASSERT_CLOSE(s[7], 0.2 / 36, 1e-15);
    CU_ASSERT_EQUAL(lr_spectrum_with_tail(s, 8, 2, 2.0, 4.0, LR_TAIL_EXP, 0, 0.5, 0.1, NULL, 0), LR_OK);
    LR_ASSERT_CLOSE(s[4], 0.2 * exp(-1.0), 1e-15);
    CU_ASSERT_EQUAL(lr_spectrum_with_tail(s, 8, 2, 2.0, 4.0, LR_TAIL_FLOOR, 0, 0, 0.1, NULL, 0), LR_OK);
    LR_ASSERT_CLOSE(s[7], 0.2, 1e-15);
    CU_ASSERT_EQUAL(lr_spectrum_with_tail(s, 8, 2, 2.0, 4.0, LR_TAIL_FILE, 0, 0, 0.1, v, 6), LR_OK);
    LR_ASSERT_CLOSE(s[2], 0.2, 1e-15);
    LR_ASSERT_CLOSE(s[3], 0.2 * 2 / 4, 1e-15);
    LR_ASSERT_CLOSE(s[5], 0.2 * 0.5 / 4, 1e-15);
    CU_ASSERT_EQUAL(s[6], 0.0);
    CU_ASSERT_EQUAL(lr_spectrum_with_tail(s, 8, 2, 2.0, 4.0, LR_TAIL_NONE, 0, 0, 0.1, NULL, 0), LR_OK);
    CU_ASSERT_EQUAL(s[2], 0.0);
    CU_ASSERT_EQUAL(lr_spectrum_with_tail(s, 8, 6, 2.0, 4.0, LR_TAIL_FILE, 0, 0, 0.1, v, 6), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_tail_kind_parse("exp"), LR_TAIL_EXP);
    CU_ASSERT_EQUAL(lr_tail_kind_parse("zipf"), -1);
}

static void test_row_correlated_noise(void)
{
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 5, 0, 0);
    size_t m = 4000, n = 25;
    lr_mat A = lr_mat_wrap(lr_calloc(m * n, sizeof(double)), m, n);
    CU_ASSERT_EQUAL(lr_gen_noise_rows(r, A, 0.5, 0.8), LR_OK);
    double s2 = 0, c1 = 0, c2 = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < m; i++) {
            s2 += LR_AT(A, i, j) * LR_AT(A, i, j);
            if (i) c1 += LR_AT(A, i, j) * LR_AT(A, i - 1, j);
            if (i > 1) c2 += LR_AT(A, i, j) * LR_AT(A, i - 2, j);
        }
    double var = s2 / (double)(m * n);
    CU_ASSERT(fabs(var / 0.25 - 1) < 0.05);
    CU_ASSERT(fabs(c1 / s2 - 0.8) < 0.02);
    CU_ASSERT(fabs(c2 / s2 - 0.64) < 0.03);
    CU_ASSERT_EQUAL(lr_gen_noise_rows(r, A, 0.5, 1.0), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_gen_noise(r, A, LR_NOISE_ROW_CORRELATED, 0.5, 0), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_noise_kind_parse("row_correlated"), LR_NOISE_ROW_CORRELATED);
    lr_free(A.data);
    gsl_rng_free(r);
}

static void test_annihilated(void)
{
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 6, 0, 0);
    size_t m = 50, n0 = 20, n1 = 15, q = 8;
    lr_mat X = lr_mat_wrap(lr_calloc(m * n0, sizeof(double)), m, n0);
    double *scr = lr_calloc(lr_gen_x_scratch(m, n0, q) + lr_gen_annihilated_scratch(n0, n1, n0), sizeof(double));
    CU_ASSERT_EQUAL(lr_gen_x(r, X, LR_X_LOWRANK, q, 1, scr), LR_OK);
    /* Vx: the row space of X~ from its SVD. */
    lr_mat Xc = lr_mat_wrap(lr_calloc(m * n0, sizeof(double)), m, n0), U = lr_mat_wrap(lr_calloc(m * n0, sizeof(double)), m, n0);
    lr_mat VT = lr_mat_wrap(lr_calloc(n0 * n0, sizeof(double)), n0, n0), Vx = lr_mat_wrap(lr_calloc(n0 * q, sizeof(double)), n0, q);
    double s[20];
    lr_mat_copy(Xc, X);
    lr_svd_plan *p = lr_svd_plan_alloc(m, n0);
    CU_ASSERT_EQUAL(lr_svd(p, Xc, s, U, VT, NULL), LR_OK);
    for (size_t j = 0; j < q; j++)
        for (size_t i = 0; i < n0; i++) LR_AT(Vx, i, j) = LR_AT(VT, j, i);
    lr_mat N = lr_mat_wrap(lr_calloc(n0 * n1, sizeof(double)), n0, n1), XN = lr_mat_wrap(lr_calloc(m * n1, sizeof(double)), m, n1);
    CU_ASSERT_EQUAL(lr_gen_annihilated(r, N, Vx, 3.0, scr), LR_OK);
    LR_ASSERT_CLOSE(lr_mat_norm_fro(N), 3.0, 1e-13);
    lr_gemm('N', 'N', 1.0, X, N, 0.0, XN);
    CU_ASSERT(lr_mat_norm_fro(XN) < 1e-12 * s[0] * 3.0);
    /* Full column rank: nothing to annihilate. */
    lr_mat Vfull = lr_mat_wrap(lr_calloc(n0 * n0, sizeof(double)), n0, n0);
    CU_ASSERT_EQUAL(lr_gen_annihilated(r, N, Vfull, 1.0, scr), LR_EINVAL);
    lr_svd_plan_free(p);
    lr_free(X.data), lr_free(Xc.data), lr_free(U.data), lr_free(VT.data), lr_free(Vx.data), lr_free(N.data);
    lr_free(XN.data), lr_free(Vfull.data), lr_free(scr);
    gsl_rng_free(r);
}

static void test_spectrum_file(void)
{
    char path[] = "/tmp/lrlab-spectrum-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# singular values of a layer\n3.5, 1.25\n10 0.5 # trailing comment\n\n2\n");
    fclose(f);
    double *v = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(lr_spectrum_read(path, NULL, &v, &n), LR_OK);
    CU_ASSERT_EQUAL(n, 5);
    if (n == 5) {
        CU_ASSERT_EQUAL(v[0], 10.0);
        CU_ASSERT_EQUAL(v[1], 3.5);
        CU_ASSERT_EQUAL(v[4], 0.5);
    }
    free(v);
    f = fopen(path, "w");
    fprintf(f, "1 2 -3\n");
    fclose(f);
    CU_ASSERT_EQUAL(lr_spectrum_read(path, NULL, &v, &n), LR_EDATA);
    f = fopen(path, "w");
    fprintf(f, "1 two\n");
    fclose(f);
    CU_ASSERT_EQUAL(lr_spectrum_read(path, NULL, &v, &n), LR_EDATA);
    remove(path);
    CU_ASSERT_EQUAL(lr_spectrum_read(path, NULL, &v, &n), LR_EIO);
}

void lr_tests_thm2(void)
{
    CU_pSuite s = CU_add_suite("bounds/thm2 and gen: Theorems 2 and 3, spectral tails, row-correlated noise", NULL, NULL);
    CU_add_test(s, "2(a), 2(a) w.p., 2(b), 2(c), 3: arithmetic and applicability", test_thm2_arithmetic);
    CU_add_test(s, "spectral tails: power, exp, floor, file, none", test_tail_spectra);
    CU_add_test(s, "row-correlated noise: variance and AR(1) correlations", test_row_correlated_noise);
    CU_add_test(s, "annihilated component: X~ N = 0, norm as asked", test_annihilated);
    CU_add_test(s, "measured spectrum from a text file", test_spectrum_file);
}
