/* Gaussian mixtures and real-data normalisation (src/gen/gmm.h): exact class counts, the
 * sample moments against the parameters within tolerances derived from n, one stream giving
 * the same X through every covariance representation, population statistics, and the
 * normalised real data's mean squared norm and plug-in statistics. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gmm.h"
#include "tests.h"

static lr_mat mat_new(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

static void test_counts(void)
{
    size_t c[4];
    double half[2] = {0.5, 0.5};
    CU_ASSERT_EQUAL(lr_gmm_counts(half, 2, 7, c), LR_OK);
    CU_ASSERT(c[0] == 4 && c[1] == 3); /* equal remainders: the lower class index first */
    double third[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    CU_ASSERT_EQUAL(lr_gmm_counts(third, 3, 100, c), LR_OK);
    CU_ASSERT(c[0] == 34 && c[1] == 33 && c[2] == 33);
    /* When the roundings sum to n they are the counts: 1.4, 2.1, 3.5 -> 1, 2, 4. */
    double q[3] = {0.2, 0.3, 0.5};
    CU_ASSERT_EQUAL(lr_gmm_counts(q, 3, 7, c), LR_OK);
    CU_ASSERT(c[0] == 1 && c[1] == 2 && c[2] == 4);
    /* Every n: the counts sum to n and each is within 1 of pi_a n. */
    double w[4] = {0.1, 0.2, 0.3, 0.4};
    for (size_t n = 0; n < 200; n++) {
        CU_ASSERT_EQUAL(lr_gmm_counts(w, 4, n, c), LR_OK);
        size_t s = 0;
        for (size_t a = 0; a < 4; a++) {
            s += c[a];
            CU_ASSERT(fabs((double)c[a] - w[a] * (double)n) < 1.0);
        }
        CU_ASSERT_EQUAL(s, n);
    }
    double bad[2] = {0.5, 0.6}, neg[2] = {1.5, -0.5};
    CU_ASSERT_EQUAL(lr_gmm_counts(bad, 2, 10, c), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_gmm_counts(neg, 2, 10, c), LR_EINVAL);
}

/* A fixed symmetric positive definite covariance: C = B B^T + I with B's entries a smooth
 * function of (i, j, a), so the test needs no second stream. */
static void make_cov(lr_mat C, size_t a)
{
    size_t p = C.rows;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            double s = i == j ? 1.0 : 0.0;
            for (size_t k = 0; k < p; k++)
                s += sin(1.0 + (double)(i + 3 * k + 7 * a)) * sin(1.0 + (double)(j + 3 * k + 7 * a)) / (double)p;
            LR_AT(C, i, j) = s;
        }
}

static void test_moments(void)
{
    /* p = 6, two classes of 20000: each class's sample mean and covariance about its known
     * mean.  Tolerances: 5 standard errors of each entry, from n_a:
     *   mean_i:      sd = sqrt(C_ii / p / n_a),
     *   cov_ij:      sd = sqrt((C_ii C_jj + C_ij^2) / n_a) / p   (Var of a Gaussian product),
     * which 4 x 27 entries pass together with probability above 0.9999 (the draw is seeded,
     * so the test is deterministic). */
    size_t p = 6, K = 2, n = 40000;
    lr_gmm *g = lr_gmm_alloc(p, K, LR_GMM_COV_FACTOR);
    CU_ASSERT_FATAL(g != NULL);
    lr_mat C[2] = {mat_new(p, p), mat_new(p, p)};
    for (size_t a = 0; a < K; a++) {
        make_cov(C[a], a);
        CU_ASSERT_EQUAL(lr_gmm_set_cov(g, a, C[a]), LR_OK);
        for (size_t i = 0; i < p; i++) g->mu[i + a * p] = (a ? -2.0 : 3.0) * cos((double)i);
    }
    lr_mat X = mat_new(p, n);
    size_t *lab = lr_calloc(n, sizeof(size_t));
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 11, 0, 0);
    CU_ASSERT_EQUAL(lr_gmm_sample(g, r, X, lab), LR_OK);
    double sp = sqrt((double)p);
    size_t worst_bad = 0;
    for (size_t a = 0; a < K; a++) {
        size_t off = a * (n / 2), na = n / 2;
        for (size_t j = 0; j < na; j++) CU_ASSERT_EQUAL(lab[off + j], a);
        for (size_t i = 0; i < p; i++) {
            double m = 0.0;
            for (size_t j = 0; j < na; j++) m += LR_AT(X, i, off + j);
            m /= (double)na;
            double sd = sqrt(LR_AT(C[a], i, i) / (double)p / (double)na);
            worst_bad += fabs(m - g->mu[i + a * p] / sp) > 5 * sd;
        }
        for (size_t i = 0; i < p; i++)
            for (size_t k = 0; k <= i; k++) {
                double s = 0.0;
                for (size_t j = 0; j < na; j++)
                    s += (LR_AT(X, i, off + j) - g->mu[i + a * p] / sp) * (LR_AT(X, k, off + j) - g->mu[k + a * p] / sp);
                s /= (double)na;
                double cik = LR_AT(C[a], i, k);
                double sd = sqrt((LR_AT(C[a], i, i) * LR_AT(C[a], k, k) + cik * cik) / (double)na) / (double)p;
                worst_bad += fabs(s - cik / (double)p) > 5 * sd;
            }
    }
    CU_ASSERT_EQUAL(worst_bad, 0);
    /* The population statistics of the factor: tr(C_a)/p and tr(C_a C_b)/p by plain loops. */
    lr_class_stats *s = lr_class_stats_alloc(p, K);
    CU_ASSERT_EQUAL(lr_gmm_class_stats(g, s), LR_OK);
    CU_ASSERT_EQUAL(s->plugin, 0);
    for (size_t a = 0; a < K; a++) {
        double tr = 0.0;
        for (size_t i = 0; i < p; i++) tr += LR_AT(C[a], i, i);
        LR_TEST_REL(s->trc[a], tr / (double)p, 1e-14, "tr C_a / p from the factor");
        for (size_t b = 0; b < K; b++) {
            double t = 0.0;
            for (size_t i = 0; i < p; i++)
                for (size_t k = 0; k < p; k++) t += LR_AT(C[a], i, k) * LR_AT(C[b], k, i);
            LR_TEST_REL(s->trcc[a + b * K], t / (double)p, 1e-13, "tr C_a C_b / p from the factors");
        }
    }
    lr_class_stats_free(s);
    gsl_rng_free(r);
    lr_free(X.data), lr_free(lab), lr_free(C[0].data), lr_free(C[1].data);
    lr_gmm_free(g);
}

/* One stream through the three representations of the same covariances gives the same X:
 * the scaled-identity and diagonal fast paths against the factor path (dtrmm). */
static void test_kinds_agree(void)
{
    size_t p = 24, K = 3, n = 50;
    lr_gmm *g[3];
    lr_mat X[3];
    lr_class_stats *s[3];
    gsl_rng *r = lr_rng_alloc();
    lr_gmm_cov_kind kinds[3] = {LR_GMM_COV_SCALED, LR_GMM_COV_DIAG, LR_GMM_COV_FACTOR};
    for (int k = 0; k < 3; k++) {
        g[k] = lr_gmm_alloc(p, K, kinds[k]);
        CU_ASSERT_FATAL(g[k] != NULL);
        CU_ASSERT_EQUAL(lr_gmm_set_preset(g[k], LR_GMM_PRESET_GU22), LR_OK);
        g[k]->pi[0] = 0.5, g[k]->pi[1] = 0.3, g[k]->pi[2] = 0.2;
        X[k] = mat_new(p, n);
        lr_rng_seed_unit(r, 5, 1, 2);
        CU_ASSERT_EQUAL(lr_gmm_sample(g[k], r, X[k], NULL), LR_OK);
        s[k] = lr_class_stats_alloc(p, K);
        CU_ASSERT_EQUAL(lr_gmm_class_stats(g[k], s[k]), LR_OK);
    }
    for (int k = 0; k < 2; k++) {
        CU_ASSERT(lr_mat_diff_fro(X[k], X[2]) <= 1e-15 * lr_mat_norm_fro(X[2]));
        for (size_t a = 0; a < K; a++) {
            LR_TEST_REL(s[k]->trc[a], s[2]->trc[a], 1e-14, "tr C_a / p: fast path = factor");
            for (size_t b = 0; b < K; b++)
                LR_TEST_REL(s[k]->trcc[a + b * K], s[2]->trcc[a + b * K], 1e-14, "tr C_a C_b / p: fast path = factor");
        }
    }
    for (int k = 0; k < 3; k++) lr_free(X[k].data), lr_gmm_free(g[k]), lr_class_stats_free(s[k]);
    gsl_rng_free(r);
}

static void test_preset_and_seed(void)
{
    size_t p = 64, K = 3, n = 30;
    lr_gmm *g = lr_gmm_alloc(p, K, LR_GMM_COV_SCALED);
    CU_ASSERT_EQUAL(lr_gmm_preset_parse("gu22"), LR_GMM_PRESET_GU22);
    CU_ASSERT_EQUAL(lr_gmm_preset_parse("gu22_mean"), LR_GMM_PRESET_GU22_MEAN);
    CU_ASSERT_EQUAL(lr_gmm_preset_parse("gu22_cov"), LR_GMM_PRESET_GU22_COV);
    CU_ASSERT_EQUAL(lr_gmm_preset_parse("nope"), -1);
    CU_ASSERT_PTR_NULL(lr_gmm_preset_name_at(3));
    CU_ASSERT_EQUAL(lr_gmm_set_preset(g, LR_GMM_PRESET_GU22), LR_OK);
    /* mu_a = 8 e_{8a}, C_a = (1 + 8a / sqrt 64) I = (1 + a) I. */
    for (size_t a = 0; a < K; a++) {
        for (size_t i = 0; i < p; i++) CU_ASSERT_EQUAL(g->mu[i + a * p], i == 8 * a ? 8.0 : 0.0);
        CU_ASSERT_EQUAL(g->scale[a], 1.0 + (double)a);
        LR_ASSERT_CLOSE(g->pi[a], 1.0 / 3, 1e-16);
    }
    CU_ASSERT_EQUAL(lr_gmm_set_preset(g, LR_GMM_PRESET_GU22_MEAN), LR_OK);
    CU_ASSERT(g->scale[2] == 1.0 && g->mu[16 + 2 * p] == 8.0);
    CU_ASSERT_EQUAL(lr_gmm_set_preset(g, LR_GMM_PRESET_GU22_COV), LR_OK);
    CU_ASSERT(g->scale[2] == 3.0 && g->mu[16 + 2 * p] == 0.0);
    /* A seed gives the same draw; another seed another. */
    lr_mat A = mat_new(p, n), B = mat_new(p, n);
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 3, 0, 0);
    CU_ASSERT_EQUAL(lr_gmm_sample(g, r, A, NULL), LR_OK);
    lr_rng_seed_unit(r, 3, 0, 0);
    CU_ASSERT_EQUAL(lr_gmm_sample(g, r, B, NULL), LR_OK);
    CU_ASSERT_EQUAL(memcmp(A.data, B.data, p * n * sizeof(double)), 0);
    lr_rng_seed_unit(r, 3, 0, 1);
    CU_ASSERT_EQUAL(lr_gmm_sample(g, r, B, NULL), LR_OK);
    CU_ASSERT(lr_mat_diff_fro(A, B) > 1.0);
    /* The means need p >= 8 (K - 1) + 1. */
    lr_gmm *small = lr_gmm_alloc(16, 3, LR_GMM_COV_DIAG);
    CU_ASSERT_EQUAL(lr_gmm_set_preset(small, LR_GMM_PRESET_GU22), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_gmm_set_preset(small, LR_GMM_PRESET_GU22_COV), LR_OK);
    lr_gmm_free(small);
    /* Shapes and parameters are checked. */
    lr_mat W = mat_new(p - 1, n);
    CU_ASSERT_EQUAL(lr_gmm_sample(g, r, W, NULL), LR_EINVAL);
    g->scale[1] = -1.0;
    CU_ASSERT_EQUAL(lr_gmm_sample(g, r, A, NULL), LR_EINVAL);
    lr_free(W.data), lr_free(A.data), lr_free(B.data);
    gsl_rng_free(r);
    lr_gmm_free(g);
}

static void test_set_cov(void)
{
    size_t p = 5;
    lr_gmm *g = lr_gmm_alloc(p, 2, LR_GMM_COV_FACTOR);
    lr_mat C = mat_new(p, p);
    make_cov(C, 1);
    CU_ASSERT_EQUAL(lr_gmm_set_cov(g, 1, C), LR_OK);
    /* L L^T = C, L lower triangular. */
    lr_mat L = lr_mat_wrap(g->factor + p * p, p, p);
    double err = 0.0;
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            double s = 0.0;
            for (size_t k = 0; k < p; k++) s += LR_AT(L, i, k) * LR_AT(L, j, k);
            err = fmax(err, fabs(s - LR_AT(C, i, j)));
            if (j > i) CU_ASSERT_EQUAL(LR_AT(L, i, j), 0.0);
        }
    CU_ASSERT(err < 1e-14);
    LR_AT(C, 2, 2) = -1.0; /* not positive definite */
    CU_ASSERT_EQUAL(lr_gmm_set_cov(g, 0, C), LR_ESINGULAR);
    CU_ASSERT_EQUAL(lr_gmm_set_cov(g, 2, C), LR_EINVAL);
    lr_gmm *d = lr_gmm_alloc(p, 2, LR_GMM_COV_DIAG);
    CU_ASSERT_EQUAL(lr_gmm_set_cov(d, 0, C), LR_EINVAL);
    lr_gmm_free(d);
    lr_free(C.data);
    lr_gmm_free(g);
}

/* Real data: columns of four classes, two of them selected. */
static void test_real_normalise(void)
{
    size_t p = 10, N = 70, classes[2] = {2, 0}, counts[2], n;
    lr_mat D = mat_new(p, N);
    size_t *lab = lr_calloc(N, sizeof(size_t));
    for (size_t j = 0; j < N; j++) {
        lab[j] = (j * 7) % 4;
        for (size_t i = 0; i < p; i++) LR_AT(D, i, j) = 3.0 + sin((double)(i * N + j)) + 0.5 * (double)lab[j] * (double)(i == 1);
    }
    CU_ASSERT_EQUAL(lr_real_select_count(lab, N, classes, 2, counts, &n), LR_OK);
    CU_ASSERT_EQUAL(counts[0] + counts[1], n);
    lr_mat X = mat_new(p, n);
    size_t *lo = lr_calloc(n, sizeof(size_t));
    lr_class_stats *s = lr_class_stats_alloc(p, 2);
    double scale = 0.0;
    CU_ASSERT_EQUAL(lr_real_normalise(D, lab, classes, 2, X, lo, &scale, s), LR_OK);
    CU_ASSERT_EQUAL(s->plugin, 1);
    /* Mean squared norm 1, global mean 0. */
    double ms = 0.0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < p; i++) ms += LR_AT(X, i, j) * LR_AT(X, i, j);
    LR_TEST_REL(ms / (double)n, 1.0, 1e-14, "mean squared norm of normalised data");
    for (size_t i = 0; i < p; i++) {
        double m = 0.0;
        for (size_t j = 0; j < n; j++) m += LR_AT(X, i, j);
        CU_ASSERT(fabs(m / (double)n) < 1e-15);
    }
    /* Grouped by class in the order asked, stable, and an affine image of D's columns. */
    size_t k = 0;
    for (size_t a = 0; a < 2; a++)
        for (size_t j = 0; j < N; j++)
            if (lab[j] == classes[a]) {
                CU_ASSERT_EQUAL(lo[k], a);
                if (k + 1 < n && lo[k + 1] == a) {
                    size_t j2 = j + 1;
                    while (lab[j2] != classes[a]) j2++;
                    for (size_t i = 0; i < p; i++)
                        LR_ASSERT_CLOSE(LR_AT(X, i, k + 1) - LR_AT(X, i, k), (LR_AT(D, i, j2) - LR_AT(D, i, j)) / scale, 1e-13);
                }
                k++;
            }
    CU_ASSERT_EQUAL(k, n);
    /* Plug-in statistics by plain loops: pi, mu, tr, and T with the i = j pairs left out
     * within a class. */
    double tot = 0.0;
    for (size_t a = 0; a < 2; a++) {
        size_t off = a ? counts[0] : 0, na = counts[a];
        LR_ASSERT_CLOSE(s->pi[a], (double)na / (double)n, 1e-16);
        double m[10] = {0}, tr = 0.0;
        for (size_t j = 0; j < na; j++)
            for (size_t i = 0; i < p; i++) m[i] += LR_AT(X, i, off + j) / (double)na;
        for (size_t i = 0; i < p; i++) LR_ASSERT_CLOSE(s->mu[i + a * p], sqrt((double)p) * m[i], 1e-14);
        for (size_t j = 0; j < na; j++)
            for (size_t i = 0; i < p; i++) tr += pow(LR_AT(X, i, off + j) - m[i], 2) / (double)na;
        LR_TEST_REL(s->trc[a], tr, 1e-13, "plug-in tr C_a / p");
        double mm = 0.0;
        for (size_t i = 0; i < p; i++) mm += m[i] * m[i];
        tot += s->pi[a] * (s->trc[a] + mm);
        for (size_t b = 0; b < 2; b++) {
            size_t offb = b ? counts[0] : 0, nb = counts[b];
            double f = 0.0, cnt = 0.0, mb[10] = {0};
            for (size_t j = 0; j < nb; j++)
                for (size_t i = 0; i < p; i++) mb[i] += LR_AT(X, i, offb + j) / (double)nb;
            for (size_t i1 = 0; i1 < na; i1++)
                for (size_t j1 = 0; j1 < nb; j1++) {
                    if (a == b && i1 == j1) continue;
                    double dot = 0.0;
                    for (size_t i = 0; i < p; i++)
                        dot += (LR_AT(X, i, off + i1) - m[i]) * (LR_AT(X, i, offb + j1) - mb[i]);
                    f += dot * dot, cnt += 1.0;
                }
            LR_TEST_REL(s->trcc[a + b * 2], (double)p * f / cnt, 1e-12, "plug-in T_ab");
        }
    }
    /* Centred globally and of mean squared norm 1: sum_a pi_a (tr C_a + ||mu_a||^2)/p = 1. */
    LR_TEST_REL(tot, 1.0, 1e-13, "the class decomposition of the mean squared norm");
    /* Refusals. */
    size_t dup[2] = {1, 1}, none[1] = {9}, one[1] = {1};
    CU_ASSERT_EQUAL(lr_real_select_count(lab, N, dup, 2, counts, &n), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_real_normalise(D, lab, none, 1, X, NULL, NULL, NULL), LR_EDATA);
    CU_ASSERT_EQUAL(lr_real_normalise(D, lab, one, 1, X, NULL, NULL, NULL), LR_EINVAL); /* X is not p x n_1 */
    lr_class_stats_free(s);
    lr_free(D.data), lr_free(X.data), lr_free(lab), lr_free(lo);
}

/* The plug-in T_aa on data that is a mixture: with the i = j pairs left out it estimates
 * tr(C_a^2)/p = s_a^2 without the bias p trc_a^2 / n_a the plain plug-in carries.
 * p = 200, n_a = 400: that bias would be s_a^2 p / n_a = s_a^2 / 2, while the estimator's
 * standard deviation is about s_a^2 sqrt(8 / (n_a p) + 4 / n_a^2) = 0.011 s_a^2; the
 * tolerance is 6 of those. */
static void test_real_plugin_unbiased(void)
{
    size_t p = 200, K = 2, n = 800, cls[2] = {0, 1};
    lr_gmm *g = lr_gmm_alloc(p, K, LR_GMM_COV_SCALED);
    CU_ASSERT_EQUAL(lr_gmm_set_preset(g, LR_GMM_PRESET_GU22_COV), LR_OK);
    lr_mat X = mat_new(p, n), Y = mat_new(p, n);
    size_t *lab = lr_calloc(n, sizeof(size_t));
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 21, 0, 0);
    CU_ASSERT_EQUAL(lr_gmm_sample(g, r, X, lab), LR_OK);
    lr_class_stats *s = lr_class_stats_alloc(p, K);
    double scale;
    CU_ASSERT_EQUAL(lr_real_normalise(X, lab, cls, K, Y, NULL, &scale, s), LR_OK);
    for (size_t a = 0; a < K; a++) {
        /* Undo the normalisation's scale: T scales as scale^-4, trc as scale^-2. */
        double sa = g->scale[a], t = s->trcc[a + a * K] * pow(scale, 4);
        double sd = sa * sa * sqrt(8.0 / (400.0 * (double)p) + 4.0 / (400.0 * 400.0));
        CU_ASSERT(fabs(t - sa * sa) < 6 * sd);
        CU_ASSERT(fabs(s->trc[a] * scale * scale - sa) < 6 * sa * sqrt(2.0 / (400.0 * (double)p)) + sa / 400.0);
    }
    lr_class_stats_free(s);
    gsl_rng_free(r);
    lr_free(X.data), lr_free(Y.data), lr_free(lab);
    lr_gmm_free(g);
}

static void test_alloc_failures(void)
{
    /* Each allocation of each constructor failing in turn: NULL and LR_ENOMEM, never a crash. */
    for (long k = 1; k < 8; k++) {
        lr_fail_alloc_after(k);
        lr_gmm *g = lr_gmm_alloc(8, 2, LR_GMM_COV_FACTOR);
        lr_fail_alloc_after(0);
        if (g) {
            lr_gmm_free(g);
            break;
        }
    }
    for (long k = 1; k < 8; k++) {
        lr_fail_alloc_after(k);
        lr_class_stats *s = lr_class_stats_alloc(8, 2);
        lr_fail_alloc_after(0);
        if (s) {
            lr_class_stats_free(s);
            break;
        }
    }
    CU_ASSERT_PTR_NULL(lr_gmm_alloc(0, 2, LR_GMM_COV_DIAG));
    CU_ASSERT_PTR_NULL(lr_gmm_alloc(4, LR_GMM_MAX_CLASSES + 1, LR_GMM_COV_SCALED));
}

void lr_tests_gmm(void)
{
    CU_pSuite s = CU_add_suite("gmm", NULL, NULL);
    CU_add_test(s, "class counts: largest remainder, sum n, within 1 of pi n", test_counts);
    CU_add_test(s, "sample means and covariances within 5 standard errors", test_moments);
    CU_add_test(s, "scaled and diagonal fast paths = the factor path", test_kinds_agree);
    CU_add_test(s, "gu22 presets; a seed reproduces its draw", test_preset_and_seed);
    CU_add_test(s, "covariance from C by Cholesky; indefinite C refused", test_set_cov);
    CU_add_test(s, "real data: grouped, centred, mean squared norm 1, plug-in statistics", test_real_normalise);
    CU_add_test(s, "real data: plug-in T_aa without the diagonal pairs' bias", test_real_plugin_unbiased);
    CU_add_test(s, "constructors under allocation failure", test_alloc_failures);
}
