/* The NTK equivalent kernels (src/ntk/equiv.h): the alpha/beta/tau/kappa recursions on key
 * quantities filled by hand from closed forms, what the kernels reduce to for the linear
 * activation, the asymptotics on the quadratic activation (whose exact kernels are
 * polynomials of X^T X, so the test needs no quadrature), the BLAS build against its plain
 * reference, and the spectral comparisons against LAPACK's full dsyevd. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"
#include "gen/gen.h"
#include "gen/gmm.h"
#include "ntk/equiv.h"
#include "tests.h"

/* OpenBLAS's thread controls (its cblas.h clashes with GSL's, which gen/gen.h brings in).
 * The Lanczos tests run BLAS on one thread, as the runner does: a Lanczos process at these
 * sizes is thousands of small products, which on a busy machine would otherwise spend
 * most of their time starting and joining OpenBLAS's threads (10 s against 1.7 s here). */
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
static int blas_threads_saved;
static void blas_one_thread(void)
{
    blas_threads_saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
}
static void blas_restore(void) { openblas_set_num_threads(blas_threads_saved); }

static lr_mat mat_new(size_t r, size_t c) { return lr_mat_wrap(lr_calloc(r * c + 1, sizeof(double)), r, c); }

/* ---- key quantities from closed forms ---- */

/* Centred ReLU at scale tau (docs/theory.md section 5). */
static lr_ntk_keyq relu_keyq(double tau)
{
    lr_ntk_keyq q = {.tau = tau,
                     .mean = tau / sqrt(2 * M_PI),
                     .d1 = 0.5,
                     .d2 = 1.0 / (sqrt(2 * M_PI) * tau),
                     .sq2 = 1.0 - 1.0 / M_PI,
                     .var = tau * tau * (0.5 - 0.5 / M_PI),
                     .d1sq = 0.5};
    return q;
}

/* sigma(t) = t: E sigma' = 1, E sigma'' = 0, (t^2)'' = 2, Var = tau^2, E sigma'^2 = 1. */
static lr_ntk_keyq linear_keyq(double tau)
{
    lr_ntk_keyq q = {.tau = tau, .mean = 0.0, .d1 = 1.0, .d2 = 0.0, .sq2 = 2.0, .var = tau * tau, .d1sq = 1.0};
    return q;
}

/* sigma(t) = t^2, centred by tau^2: E sigma' = E 2 tau xi = 0, E sigma'' = 2,
 * E ((t^2 - tau^2)^2)'' = E (12 t^2 - 4 tau^2) = 8 tau^2, Var = 3 tau^4 - tau^4 = 2 tau^4,
 * E sigma'^2 = 4 tau^2. */
static lr_ntk_keyq quad_keyq(double tau)
{
    double t2 = tau * tau;
    lr_ntk_keyq q = {.tau = tau, .mean = t2, .d1 = 0.0, .d2 = 2.0, .sq2 = 8 * t2, .var = 2 * t2 * t2, .d1sq = 4 * t2};
    return q;
}

typedef lr_ntk_keyq keyq_of(double tau);

static int keyq_cb(void *ctx, size_t layer, double tau, lr_ntk_keyq *out)
{
    (void)layer;
    *out = ((keyq_of *)ctx)(tau);
    return LR_OK;
}

static int failing_cb(void *ctx, size_t layer, double tau, lr_ntk_keyq *out)
{
    (void)ctx;
    *out = relu_keyq(tau);
    if (layer == 2) LR_ERROR(LR_EDATA, "test: the second layer's quantities fail");
    return LR_OK;
}

/* A callback that reports quantities taken at a wrong scale. */
static int wrong_scale_cb(void *ctx, size_t layer, double tau, lr_ntk_keyq *out)
{
    (void)ctx, (void)layer;
    *out = relu_keyq(tau * (1 + 1e-9));
    return LR_OK;
}

/* ---- (a) recursions ---- */

static void test_relu_three_layers(void)
{
    /* alpha_{l,1} = (E sigma')^2 alpha_{l-1,1} = 4^{-l} whatever tau: 1/64 at layer 3. */
    double taus[2] = {1.0, 2.5};
    for (int k = 0; k < 2; k++) {
        lr_ntk_coef c[4];
        CU_ASSERT_EQUAL(lr_ntk_recursion_run(taus[k], 3, keyq_cb, (void *)relu_keyq, LR_NTK_TAU_RTOL, NULL, c), LR_OK);
        LR_TEST_REL(c[3].alpha[0], 1.0 / 64, 1e-14, "alpha_{3,1} of three centred ReLU layers");
        /* The array form on the same quantities gives the same numbers, bit for bit. */
        lr_ntk_keyq q[3];
        lr_ntk_coef d[4];
        double tau = taus[k];
        for (int l = 0; l < 3; l++) q[l] = relu_keyq(tau), tau = sqrt(q[l].var);
        CU_ASSERT_EQUAL(lr_ntk_recursion(taus[k], q, 3, LR_NTK_TAU_RTOL, d), LR_OK);
        CU_ASSERT_EQUAL(memcmp(c, d, sizeof c), 0);
    }
}

static void test_relu_hand(void)
{
    /* One and two centred ReLU layers at tau_0 = 1, by hand from the recursions:
     * layer 1 (d1 = 1/2, d2^2 = 1/(2 pi), sq2 = 1 - 1/pi, var = (pi - 1)/(2 pi), d1sq = 1/2):
     *   alpha = (1/4, 1/(8 pi), 1/(4 pi), (1 - 1/pi)/2),  beta = (1/2, 1/(8 pi), 3/(4 pi)),
     *   tau_1^2 = (pi - 1)/(2 pi),  kappa_1^2 = tau_1^2 + 1/2 = 1 - 1/(2 pi);
     * layer 2 (at tau_1: d2^2 = 1/(2 pi tau_1^2) = 1/(pi - 1)):
     *   alpha_{2,1} = 1/16, alpha_{2,2} = 1/(32 pi) + (pi - 1)/(16 pi^2),
     *   alpha_{2,3} = 1/(16 pi) + 1/(32 (pi - 1)), alpha_{2,4} = (1 - 1/pi)^2 / 4,
     *   beta_{2,1} = 3/16, beta_{2,2} = 1/(16 pi) + (pi - 1)/(16 pi^2),
     *   beta_{2,3} = 1/(4 pi) + 5/(32 (pi - 1)),
     *   tau_2^2 = ((pi - 1)/(2 pi))^2, kappa_2^2 = tau_2^2 + (1 - 1/(2 pi))/2. */
    lr_ntk_coef c[3];
    CU_ASSERT_EQUAL(lr_ntk_recursion_run(1.0, 2, keyq_cb, (void *)relu_keyq, LR_NTK_TAU_RTOL, NULL, c), LR_OK);
    const double pi = M_PI, tol = 1e-14;
    LR_TEST_REL(c[0].alpha[0], 1.0, 0, "alpha_{0,1}");
    LR_TEST_REL(c[0].alpha[3], 1.0, 0, "alpha_{0,4}");
    LR_TEST_REL(c[0].kappa2, 1.0, 0, "kappa_0^2");
    LR_TEST_REL(c[1].alpha[0], 0.25, tol, "alpha_{1,1}");
    LR_TEST_REL(c[1].alpha[1], 1 / (8 * pi), tol, "alpha_{1,2}");
    LR_TEST_REL(c[1].alpha[2], 1 / (4 * pi), tol, "alpha_{1,3}");
    LR_TEST_REL(c[1].alpha[3], (1 - 1 / pi) / 2, tol, "alpha_{1,4}");
    LR_TEST_REL(c[1].beta[0], 0.5, tol, "beta_{1,1}");
    LR_TEST_REL(c[1].beta[1], 1 / (8 * pi), tol, "beta_{1,2}");
    LR_TEST_REL(c[1].beta[2], 3 / (4 * pi), tol, "beta_{1,3}");
    LR_TEST_REL(c[1].tau * c[1].tau, (pi - 1) / (2 * pi), tol, "tau_1^2");
    LR_TEST_REL(c[1].kappa2, 1 - 1 / (2 * pi), tol, "kappa_1^2");
    LR_TEST_REL(c[2].alpha[0], 1.0 / 16, tol, "alpha_{2,1}");
    LR_TEST_REL(c[2].alpha[1], 1 / (32 * pi) + (pi - 1) / (16 * pi * pi), tol, "alpha_{2,2}");
    LR_TEST_REL(c[2].alpha[2], 1 / (16 * pi) + 1 / (32 * (pi - 1)), tol, "alpha_{2,3}");
    LR_TEST_REL(c[2].alpha[3], (1 - 1 / pi) * (1 - 1 / pi) / 4, tol, "alpha_{2,4}");
    LR_TEST_REL(c[2].beta[0], 3.0 / 16, tol, "beta_{2,1}");
    LR_TEST_REL(c[2].beta[1], 1 / (16 * pi) + (pi - 1) / (16 * pi * pi), tol, "beta_{2,2}");
    LR_TEST_REL(c[2].beta[2], 1 / (4 * pi) + 5 / (32 * (pi - 1)), tol, "beta_{2,3}");
    double t2 = (pi - 1) / (2 * pi) * (pi - 1) / (2 * pi);
    LR_TEST_REL(c[2].tau * c[2].tau, t2, tol, "tau_2^2");
    LR_TEST_REL(c[2].kappa2, t2 + (1 - 1 / (2 * pi)) / 2, tol, "kappa_2^2");
}

static void test_driver_checks(void)
{
    lr_ntk_coef c[4];
    lr_ntk_keyq q[3];
    /* The quantities the callback gave are kept, at the scale of each layer's input. */
    CU_ASSERT_EQUAL(lr_ntk_recursion_run(1.3, 3, keyq_cb, (void *)relu_keyq, LR_NTK_TAU_RTOL, q, c), LR_OK);
    for (int l = 0; l < 3; l++) CU_ASSERT_EQUAL(q[l].tau, c[l].tau);
    /* The callback's failure is returned as it is. */
    CU_ASSERT_EQUAL(lr_ntk_recursion_run(1.0, 3, failing_cb, NULL, LR_NTK_TAU_RTOL, NULL, c), LR_EDATA);
    /* Quantities at another scale than tau_{l-1} are refused, within the named tolerance. */
    CU_ASSERT_EQUAL(lr_ntk_recursion_run(1.0, 2, wrong_scale_cb, NULL, LR_NTK_TAU_RTOL, NULL, c), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_recursion_run(1.0, 2, wrong_scale_cb, NULL, 1e-8, NULL, c), LR_OK);
    /* tau_0 must be positive; Var sigma = 0 would end the network. */
    CU_ASSERT_EQUAL(lr_ntk_recursion(0.0, q, 0, LR_NTK_TAU_RTOL, c), LR_EINVAL);
    lr_ntk_keyq z = relu_keyq(1.0);
    z.var = 0.0;
    CU_ASSERT_EQUAL(lr_ntk_recursion(1.0, &z, 1, LR_NTK_TAU_RTOL, c), LR_EINVAL);
    z = relu_keyq(1.0);
    z.d2 = NAN;
    CU_ASSERT_EQUAL(lr_ntk_recursion(1.0, &z, 1, LR_NTK_TAU_RTOL, c), LR_ENUMERIC);
    /* E sigma'^2 = infinity (sign, step, sigma_T): kappa^2 is infinite, the CK still exists,
     * the NTK's scalars are refused. */
    z = relu_keyq(1.0);
    z.d1sq = INFINITY;
    CU_ASSERT_EQUAL(lr_ntk_recursion(1.0, &z, 1, LR_NTK_TAU_RTOL, c), LR_OK);
    CU_ASSERT(isinf(c[1].kappa2) && c[1].kappa2 > 0);
    double a, b, e, s;
    CU_ASSERT_EQUAL(lr_ntk_equiv_scalars(c, 1, LR_NTK_KIND_CK, LR_NTK_DIAG_THEORY, &a, &b, &e, &s), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_equiv_scalars(c, 1, LR_NTK_KIND_NTK, LR_NTK_DIAG_THEORY, &a, &b, &e, &s), LR_ENUMERIC);
}

/* ---- data ---- */

typedef struct {
    size_t p, n, K;
    lr_gmm *g;
    lr_mat X;
    size_t *lab;
    lr_class_stats *s;
    lr_ntk_data *d;
} mixture;

static int mixture_make(mixture *m, size_t p, size_t n, size_t K, lr_gmm_preset preset, lr_ntk_norms norms,
                        uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->p = p, m->n = n, m->K = K;
    m->g = lr_gmm_alloc(p, K, LR_GMM_COV_SCALED);
    m->X = mat_new(p, n);
    m->lab = lr_calloc(n, sizeof(size_t));
    m->s = lr_class_stats_alloc(p, K);
    m->d = lr_ntk_data_alloc(n, K);
    if (!m->g || !m->X.data || !m->lab || !m->s || !m->d) return LR_ENOMEM;
    LR_TRY(lr_gmm_set_preset(m->g, preset));
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, seed, p, n);
    int st = lr_gmm_sample(m->g, r, m->X, m->lab);
    gsl_rng_free(r);
    LR_TRY(st);
    LR_TRY(lr_gmm_class_stats(m->g, m->s));
    return lr_ntk_data_fill(m->d, m->s, m->X, m->lab, norms);
}

static void mixture_free(mixture *m)
{
    lr_gmm_free(m->g);
    lr_free(m->X.data);
    lr_free(m->lab);
    lr_class_stats_free(m->s);
    lr_ntk_data_free(m->d);
}

static void test_data_stats(void)
{
    size_t p = 200, n = 600, K = 3;
    mixture th, wm;
    CU_ASSERT_FATAL(mixture_make(&th, p, n, K, LR_GMM_PRESET_GU22, LR_NTK_NORMS_THEORY, 7) == LR_OK);
    CU_ASSERT_FATAL(mixture_make(&wm, p, n, K, LR_GMM_PRESET_GU22, LR_NTK_NORMS_WITH_MEANS, 7) == LR_OK);
    double sp = sqrt((double)p);
    /* gu22: C_a = s_a I, s_a = 1 + 8a / sqrt p, pi = 1/3: tau_0^2 = mean s_a (THEORY), plus
     * ||mu_a||^2 / p = 64 / p (WITH_MEANS); t_a = sqrt(p) (s_a - tau_0^2) either way. */
    double s[3], sbar = 0.0;
    for (size_t a = 0; a < K; a++) s[a] = 1.0 + 8.0 * (double)a / sp, sbar += s[a] / 3.0;
    LR_TEST_REL(th.d->tau0sq, sbar, 1e-15, "tau_0^2 = tr C^o / p");
    LR_TEST_REL(wm.d->tau0sq, sbar + 64.0 / (double)p, 1e-15, "tau_0^2 = E ||x||^2");
    double tsum = 0.0;
    for (size_t a = 0; a < K; a++) {
        LR_ASSERT_CLOSE(th.d->t[a], sp * (s[a] - sbar), 1e-13);
        LR_ASSERT_CLOSE(wm.d->t[a], sp * (s[a] - sbar), 1e-12);
        tsum += th.d->t[a] / 3.0;
        for (size_t b = 0; b < K; b++) LR_TEST_REL(th.d->T[a + b * K], s[a] * s[b], 1e-15, "T_ab = s_a s_b");
    }
    CU_ASSERT(fabs(tsum) < 1e-13); /* sum_a pi_a t_a = 0: C_a^o are centred */
    /* Per sample: THEORY's psi_i = ||omega_i||^2 - s_a; WITH_MEANS' makes
     * t_a / sqrt p + psi_i = ||x_i||^2 - tau_0^2 exactly. */
    double xx_mean = 0.0;
    size_t counts[3];
    CU_ASSERT_EQUAL(lr_gmm_counts(th.g->pi, K, n, counts), LR_OK);
    double psi_mean[3] = {0}, ok_wm = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t a = th.lab[i];
        double xx = 0.0, ww = 0.0;
        for (size_t k = 0; k < p; k++) {
            double x = LR_AT(th.X, k, i), w = x - th.g->mu[k + a * p] / sp;
            xx += x * x, ww += w * w;
        }
        xx_mean += xx / (double)n;
        LR_ASSERT_CLOSE(th.d->psi[i], ww - s[a], 1e-13);
        ok_wm = fmax(ok_wm, fabs(wm.d->t[a] / sp + wm.d->psi[i] - (xx - wm.d->tau0sq)));
        psi_mean[a] += th.d->psi[i] / (double)counts[a];
        CU_ASSERT_EQUAL(th.d->labels[i], a);
    }
    CU_ASSERT(ok_wm < 1e-13);
    LR_TEST_REL(th.d->tau0sq_emp, xx_mean, 1e-13, "the empirical mean squared norm");
    /* psi is centred: Var psi_i = 2 tr(C_a^2)/p^2 = 2 T_aa / p, so the class mean of psi is
     * within 5 sd = 5 sqrt(2 T_aa / (p n_a)) of 0; likewise the mean squared norm about E||x||^2
     * (variance dominated by the same psi, plus the mean's share). */
    for (size_t a = 0; a < K; a++)
        CU_ASSERT(fabs(psi_mean[a]) < 5 * sqrt(2 * s[a] * s[a] / ((double)p * (double)counts[a])));
    CU_ASSERT(fabs(th.d->tau0sq_emp - wm.d->tau0sq) < 5 * sqrt(2 * 4.0 / ((double)p * (double)n)) + 1e-12);
    /* J. */
    lr_mat J = mat_new(n, K);
    CU_ASSERT_EQUAL(lr_ntk_indicator(th.lab, n, K, J), LR_OK);
    for (size_t a = 0; a < K; a++) {
        double c = 0.0;
        for (size_t i = 0; i < n; i++) {
            c += LR_AT(J, i, a);
            CU_ASSERT(LR_AT(J, i, a) == (th.lab[i] == a));
        }
        CU_ASSERT_EQUAL(c, (double)counts[a]);
    }
    lr_free(J.data);
    mixture_free(&th), mixture_free(&wm);
}

static void test_real_data_tau(void)
{
    /* On data normalised by lr_real_normalise, the WITH_MEANS tau_0^2 (plug-in) is 1, like the
     * empirical mean squared norm; THEORY's is 1 minus the means' share. */
    size_t p = 30, n = 90, K = 2, cls[2] = {0, 1};
    mixture m;
    CU_ASSERT_FATAL(mixture_make(&m, p, n, K, LR_GMM_PRESET_GU22, LR_NTK_NORMS_THEORY, 9) == LR_OK);
    lr_mat Y = mat_new(p, n);
    size_t *lab = lr_calloc(n, sizeof(size_t));
    lr_class_stats *s = lr_class_stats_alloc(p, K);
    lr_ntk_data *d = lr_ntk_data_alloc(n, K);
    CU_ASSERT_EQUAL(lr_real_normalise(m.X, m.lab, cls, K, Y, lab, NULL, s), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_data_fill(d, s, Y, lab, LR_NTK_NORMS_WITH_MEANS), LR_OK);
    LR_TEST_REL(d->tau0sq, 1.0, 1e-13, "plug-in E||x||^2 of normalised data");
    LR_TEST_REL(d->tau0sq_emp, 1.0, 1e-13, "mean squared norm of normalised data");
    CU_ASSERT_EQUAL(lr_ntk_data_fill(d, s, Y, lab, LR_NTK_NORMS_THEORY), LR_OK);
    double share = 0.0;
    for (size_t a = 0; a < K; a++) {
        double mm = 0.0;
        for (size_t k = 0; k < p; k++) mm += s->mu[k + a * p] * s->mu[k + a * p];
        share += s->pi[a] * mm / (double)p;
    }
    LR_TEST_REL(d->tau0sq, 1.0 - share, 1e-13, "plug-in tr C^o / p of normalised data");
    lab[3] = K; /* a label out of range */
    CU_ASSERT_EQUAL(lr_ntk_data_fill(d, s, Y, lab, LR_NTK_NORMS_THEORY), LR_EINVAL);
    lr_free(Y.data), lr_free(lab);
    lr_class_stats_free(s);
    lr_ntk_data_free(d);
    mixture_free(&m);
}

/* ---- (c) kernels ---- */

static void gram(lr_mat X, lr_mat G, double c)
{
    for (size_t j = 0; j < X.cols; j++)
        for (size_t i = 0; i < X.cols; i++) {
            double s = 0.0;
            for (size_t k = 0; k < X.rows; k++) s += LR_AT(X, k, i) * LR_AT(X, k, j);
            LR_AT(G, i, j) = c * s;
        }
}

static double max_abs(lr_mat A)
{
    double m = 0.0;
    for (size_t j = 0; j < A.cols; j++)
        for (size_t i = 0; i < A.rows; i++) m = fmax(m, fabs(LR_AT(A, i, j)));
    return m;
}

static void test_blas_vs_reference(void)
{
    /* Three classes, three ReLU layers, both kinds, rules and conventions: the BLAS build
     * agrees with the triple loop to 1e-12 of the largest entry, is exactly symmetric, writes
     * through a leading dimension larger than n, and allocates nothing. */
    size_t p = 40, n = 60, K = 3;
    lr_ntk_norms norms[2] = {LR_NTK_NORMS_THEORY, LR_NTK_NORMS_WITH_MEANS};
    lr_ntk_equiv_plan *plan = lr_ntk_equiv_plan_alloc(n + 5, K + 1);
    CU_ASSERT_FATAL(plan != NULL);
    double *big = lr_calloc((n + 3) * n, sizeof(double));
    lr_mat Kt = lr_mat_view((lr_mat){big, n + 3, n, n + 3}, 1, 0, n, n), R = mat_new(n, n);
    double worst = 0.0;
    for (int nm = 0; nm < 2; nm++) {
        mixture m;
        CU_ASSERT_FATAL(mixture_make(&m, p, n, K, LR_GMM_PRESET_GU22, norms[nm], 3) == LR_OK);
        lr_ntk_coef c[4];
        CU_ASSERT_EQUAL(lr_ntk_recursion_run(sqrt(m.d->tau0sq), 3, keyq_cb, (void *)relu_keyq, LR_NTK_TAU_RTOL, NULL, c),
                        LR_OK);
        for (size_t l = 0; l <= 3; l++)
            for (int kind = 0; kind < 2; kind++)
                for (int rule = 0; rule < 2; rule++) {
                    long before = lr_test_alloc_calls();
                    CU_ASSERT_EQUAL(lr_ntk_equiv_kernel(plan, c, l, kind, rule, m.X, m.d, Kt), LR_OK);
                    CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0);
                    CU_ASSERT_EQUAL(lr_ntk_equiv_kernel_ref(c, l, kind, rule, m.X, m.d, R), LR_OK);
                    double scale = max_abs(R), d = 0.0;
                    for (size_t j = 0; j < n; j++)
                        for (size_t i = 0; i < n; i++) {
                            d = fmax(d, fabs(LR_AT(Kt, i, j) - LR_AT(R, i, j)));
                            CU_ASSERT(LR_AT(Kt, i, j) == LR_AT(Kt, j, i));
                        }
                    worst = fmax(worst, d / scale);
                }
        /* The rows around the view are untouched. */
        for (size_t j = 0; j < n; j++) CU_ASSERT(big[j * (n + 3)] == 0.0 && big[j * (n + 3) + n + 1] == 0.0);
        mixture_free(&m);
    }
    CU_ASSERT(worst < 1e-12);
    /* Shapes beyond the plan and mismatched statistics are refused. */
    mixture m;
    CU_ASSERT_FATAL(mixture_make(&m, p, n + 6, K, LR_GMM_PRESET_GU22, LR_NTK_NORMS_THEORY, 3) == LR_OK);
    lr_ntk_coef c0;
    lr_ntk_coef_init(1.0, &c0);
    lr_mat Kbig = mat_new(n + 6, n + 6);
    CU_ASSERT_EQUAL(lr_ntk_equiv_kernel(plan, &c0, 0, LR_NTK_KIND_CK, LR_NTK_DIAG_THEORY, m.X, m.d, Kbig), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_equiv_kernel(plan, &c0, 0, LR_NTK_KIND_CK, LR_NTK_DIAG_THEORY, m.X, m.d, R), LR_EINVAL);
    lr_free(Kbig.data);
    mixture_free(&m);
    lr_free(big), lr_free(R.data);
    lr_ntk_equiv_plan_free(plan);
}

static void test_layer0_and_linear(void)
{
    /* Layer 0 of either kernel is X^T X.  For sigma(t) = t the recursion gives alpha = (1, 0,
     * 0, 1), tau_l = tau_0, beta_l = (l + 1, 0, 0), kappa_l^2 = (l + 1) tau_0^2 at every layer,
     * so the equivalent kernels reduce to
     *   K~_CK,l = X^T X,   K~_NTK,l = (l + 1) X^T X
     * (V A V^T = 0, the identity coefficient tau_0^2 - tau_0^2 = 0 under either rule), which
     * are exactly the linear network's CK (E[u v] = K_ij, layer after layer) and NTK
     * (K_NTK,l = X^T X + K_NTK,l-1 o 1).  So the equivalence is exact at every p, not only
     * asymptotically: checked through the spectral routine at three sizes. */
    lr_ntk_equiv_plan *plan = lr_ntk_equiv_plan_alloc(128, 2);
    lr_ntk_spec_plan *sp = lr_ntk_spec_plan_alloc(128, 1);
    size_t ps[3] = {32, 64, 128};
    for (int k = 0; k < 3; k++) {
        size_t p = ps[k], n = p;
        mixture m;
        CU_ASSERT_FATAL(mixture_make(&m, p, n, 2, LR_GMM_PRESET_GU22, LR_NTK_NORMS_THEORY, 4) == LR_OK);
        lr_ntk_coef c[5];
        double tau0 = sqrt(m.d->tau0sq);
        CU_ASSERT_EQUAL(lr_ntk_recursion_run(tau0, 4, keyq_cb, (void *)linear_keyq, LR_NTK_TAU_RTOL, NULL, c), LR_OK);
        lr_mat Kt = mat_new(n, n), G = mat_new(n, n);
        for (size_t l = 0; l <= 4; l++) {
            CU_ASSERT(c[l].alpha[0] == 1.0 && c[l].alpha[1] == 0.0 && c[l].alpha[2] == 0.0 && c[l].alpha[3] == 1.0);
            CU_ASSERT(c[l].beta[0] == (double)(l + 1) && c[l].beta[1] == 0.0 && c[l].beta[2] == 0.0);
            LR_TEST_REL(c[l].tau, tau0, 1e-15, "tau_l = tau_0 for the linear activation");
            LR_TEST_REL(c[l].kappa2, (double)(l + 1) * tau0 * tau0, 1e-15, "kappa_l^2 = (l + 1) tau_0^2");
            for (int kind = 0; kind < 2; kind++)
                for (int rule = 0; rule < 2; rule++) {
                    CU_ASSERT_EQUAL(lr_ntk_equiv_kernel(plan, c, l, kind, rule, m.X, m.d, Kt), LR_OK);
                    gram(m.X, G, kind == LR_NTK_KIND_CK ? 1.0 : (double)(l + 1));
                    double rel = 1.0;
                    CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, G, Kt, &rel, NULL, NULL), LR_OK);
                    CU_ASSERT(rel < 1e-13);
                }
        }
        lr_free(Kt.data), lr_free(G.data);
        mixture_free(&m);
    }
    lr_ntk_spec_plan_free(sp);
    lr_ntk_equiv_plan_free(plan);
}

/* The exact kernels of centred sigma(t) = t^2 layers (Isserlis: E u^2 v^2 = K_ii K_jj +
 * 2 K_ij^2): from the previous layer's CK K (at scale tau, tau^2 = the centring constant)
 *   CK:  (K_ii - tau^2)(K_jj - tau^2) + 2 K_ij^2,   K'_ij = E[2u 2v] = 4 K_ij,
 *   NTK: CK + NTK_prev o 4 K. */
static void quad_layer(lr_mat K, lr_mat N, double tau2, lr_mat Kn, lr_mat Nn)
{
    size_t n = K.rows;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) {
            double kij = LR_AT(K, i, j);
            double ck = (LR_AT(K, i, i) - tau2) * (LR_AT(K, j, j) - tau2) + 2 * kij * kij;
            LR_AT(Kn, i, j) = ck;
            LR_AT(Nn, i, j) = ck + LR_AT(N, i, j) * 4 * kij;
        }
}

/* D = E - Kt and the mean of its diagonal. */
static void diff(lr_mat E, lr_mat Kt, lr_mat D, double *mean_diag)
{
    size_t n = E.rows;
    *mean_diag = 0.0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) LR_AT(D, i, j) = LR_AT(E, i, j) - LR_AT(Kt, i, j);
    for (size_t i = 0; i < n; i++) *mean_diag += LR_AT(D, i, i) / (double)n;
}

static void test_quadratic_asymptotics(void)
{
    /* One class, C = I, zero means (gu22_cov with K = 1, where both norm conventions agree),
     * n = p, the quadratic activation at layers 1 and 2.
     *  - Matched identity rule: ||K - K~||_2 / ||K||_2 falls with p.  docs/theory.md's claim is a
     *    p^{-1/2} rate, a factor 0.35 from p = 100 to 800; required: below 0.6 (layer 1, and
     *    the CK of layer 2) and below 0.75 (the NTK of layer 2, whose diagonal is a degree-8
     *    polynomial of ||x_i|| and fluctuates most).
     *  - THEORY's rule: its diagonal is short by q3 tau_0^4 (2 tau_0^4 for the CK, 6 tau_0^4
     *    for the NTK at layer 1), so ||K - K~||_2 >= |tr(K - K~)| / n stays near that: at
     *    least 0.9 of it at both sizes, while the matched rule's mean diagonal error is a
     *    small fraction of it.  At layer 2, E sigma' = 0 makes alpha_{2,3} = beta_{2,3} = 0:
     *    the two rules coincide there. */
    size_t ps[2] = {100, 800};
    double rel[2][2][2]; /* [size][layer - 1][kind] */
    lr_ntk_equiv_plan *plan = lr_ntk_equiv_plan_alloc(800, 1);
    lr_ntk_spec_plan *sp = lr_ntk_spec_plan_alloc(800, 1);
    for (int k = 0; k < 2; k++) {
        size_t p = ps[k], n = p;
        mixture m;
        CU_ASSERT_FATAL(mixture_make(&m, p, n, 1, LR_GMM_PRESET_GU22_COV, LR_NTK_NORMS_THEORY, 12) == LR_OK);
        double t2 = m.d->tau0sq;
        lr_ntk_coef c[3];
        CU_ASSERT_EQUAL(lr_ntk_recursion_run(sqrt(t2), 2, keyq_cb, (void *)quad_keyq, LR_NTK_TAU_RTOL, NULL, c), LR_OK);
        LR_TEST_REL(c[1].alpha[2], 2.0, 1e-15, "alpha_{1,3} = E[sigma'']^2 / 2 = 2");
        LR_TEST_REL(c[1].beta[2], 6.0, 1e-15, "beta_{1,3} = 2 + 4");
        CU_ASSERT(c[2].alpha[2] == 0.0 && c[2].beta[2] == 0.0);
        lr_mat K0 = mat_new(n, n), N0 = mat_new(n, n), K1 = mat_new(n, n), N1 = mat_new(n, n), K2 = mat_new(n, n),
               N2 = mat_new(n, n), Kt = mat_new(n, n), D = mat_new(n, n);
        CU_ASSERT_EQUAL(lr_syrk('T', 1.0, m.X, 0.0, K0), LR_OK);
        lr_mat_symmetrize(K0);
        lr_mat_copy(N0, K0);
        quad_layer(K0, N0, t2, K1, N1);
        quad_layer(K1, N1, c[1].tau * c[1].tau, K2, N2);
        lr_mat exact[2][2] = {{K1, N1}, {K2, N2}};
        for (size_t l = 1; l <= 2; l++)
            for (int kind = 0; kind < 2; kind++) {
                lr_mat E = exact[l - 1][kind];
                double nE, err_m, err_t = 0.0, tr_m = 0.0, tr_t = 0.0, lin, q2, q3, shift;
                CU_ASSERT_EQUAL(lr_ntk_norm2(sp, E, &nE), LR_OK);
                CU_ASSERT_EQUAL(lr_ntk_equiv_kernel(plan, c, l, kind, LR_NTK_DIAG_MATCHED, m.X, m.d, Kt), LR_OK);
                diff(E, Kt, D, &tr_m);
                CU_ASSERT_EQUAL(lr_ntk_norm2(sp, D, &err_m), LR_OK);
                rel[k][l - 1][kind] = err_m / nE;
                CU_ASSERT_EQUAL(lr_ntk_equiv_scalars(c, l, kind, LR_NTK_DIAG_THEORY, &lin, &q2, &q3, &shift), LR_OK);
                double gap = q3 * t2 * t2;
                CU_ASSERT_EQUAL(lr_ntk_equiv_kernel(plan, c, l, kind, LR_NTK_DIAG_THEORY, m.X, m.d, Kt), LR_OK);
                diff(E, Kt, D, &tr_t);
                LR_ASSERT_CLOSE(tr_t - tr_m, gap, 1e-12);
                if (gap > 0) {
                    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, D, &err_t), LR_OK);
                    CU_ASSERT(fabs(tr_m) < 0.15 * gap);
                    CU_ASSERT(err_t >= 0.9 * gap);
                }
                if (getenv("LR_NTK_VERBOSE"))
                    printf("\n  p %zu layer %zu %s: rel %.4f matched, %.4f THEORY's (gap %.2f); mean diag %.4f",
                           p, l, kind ? "NTK" : "CK", rel[k][l - 1][kind], gap > 0 ? err_t / nE : rel[k][l - 1][kind],
                           gap, tr_m);
            }
        lr_free(K0.data), lr_free(N0.data), lr_free(K1.data), lr_free(N1.data), lr_free(K2.data), lr_free(N2.data),
            lr_free(Kt.data), lr_free(D.data);
        mixture_free(&m);
    }
    for (int l = 0; l < 2; l++)
        for (int kind = 0; kind < 2; kind++)
            CU_ASSERT(rel[1][l][kind] < (l == 1 && kind == 1 ? 0.75 : 0.6) * rel[0][l][kind]);
    lr_ntk_spec_plan_free(sp);
    lr_ntk_equiv_plan_free(plan);
}

/* ---- (d) spectral comparisons ---- */

/* A symmetric n x n matrix with prescribed eigenvalues lam (Haar eigenvectors Q, n x n). */
static void sym_with(lr_mat A, lr_mat Q, const double *lam)
{
    size_t n = A.rows;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t k = 0; k < n; k++) s += LR_AT(Q, i, k) * lam[k] * LR_AT(Q, j, k);
            LR_AT(A, i, j) = s;
        }
}

static double norm2_dsyevd(lr_mat A, double *w)
{
    size_t n = A.rows;
    lr_eig_plan *ep = lr_eig_plan_alloc(n);
    lr_mat C = mat_new(n, n), Z = mat_new(n, n);
    lr_mat_copy(C, A);
    CU_ASSERT_EQUAL(lr_eig_sym(ep, C, w, Z), LR_OK); /* all pairs: dsyevd */
    lr_free(C.data), lr_free(Z.data);
    lr_eig_plan_free(ep);
    return fmax(fabs(w[0]), fabs(w[n - 1]));
}

static void test_spectral(void)
{
    size_t n = 80, m = 5;
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 31, 0, 0);
    lr_mat Q = mat_new(n, n), A = mat_new(n, n), B = mat_new(n, n), D = mat_new(n, n);
    double *scratch = lr_calloc(lr_gen_orthonormal_scratch(n, n), sizeof(double));
    CU_ASSERT_EQUAL(lr_gen_orthonormal(r, Q, scratch), LR_OK);
    /* Indefinite, with the largest magnitude at the bottom, so both ends matter. */
    double lam[80], lam2[80], w[80];
    for (size_t k = 0; k < n; k++) lam[k] = 3.0 - 0.1 * (double)k, lam2[k] = lam[k] + 0.01 * sin((double)k);
    sym_with(A, Q, lam);
    sym_with(B, Q, lam2);
    lr_mat A0 = mat_new(n, n);
    lr_mat_copy(A0, A);
    lr_ntk_spec_plan *sp = lr_ntk_spec_plan_alloc(n, m);
    double nA, rel, err, nK;
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nA), LR_OK);
    LR_TEST_REL(nA, norm2_dsyevd(A, w), 1e-14, "||A||_2: dsyevr values = dsyevd");
    LR_TEST_REL(nA, 4.9, 1e-13, "||A||_2 = |lambda_min| = 4.9");
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) LR_AT(D, i, j) = LR_AT(A, i, j) - LR_AT(B, i, j);
    CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, A, B, &rel, &err, &nK), LR_OK);
    LR_TEST_REL(err, norm2_dsyevd(D, w), 1e-12, "||A - B||_2 against dsyevd");
    LR_TEST_REL(rel, err / nK, 1e-15, "relative = absolute / ||K||");
    /* The inputs are left as they were. */
    CU_ASSERT_EQUAL(memcmp(A.data, A0.data, n * n * sizeof(double)), 0);
    /* Top m eigenvalues = the first m of the full decomposition; eigenvectors are Q's columns. */
    double top[5], topt[5], al[5], sub;
    lr_mat U = mat_new(n, m);
    CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, m, top, U), LR_OK);
    norm2_dsyevd(A, w);
    for (size_t k = 0; k < m; k++) {
        LR_TEST_REL(top[k], w[k], 1e-13, "top eigenvalue: dsyevr range = dsyevd");
        double d = 0.0;
        for (size_t i = 0; i < n; i++) d += LR_AT(U, i, k) * LR_AT(Q, i, k);
        LR_ASSERT_CLOSE(fabs(d), 1.0, 1e-12);
    }
    /* Same eigenvectors, perturbed eigenvalues (order kept): aligned. */
    CU_ASSERT_EQUAL(lr_ntk_eig_align(sp, A, B, m, top, topt, al, &sub), LR_OK);
    for (size_t k = 0; k < m; k++) {
        LR_ASSERT_CLOSE(al[k], 1.0, 1e-10);
        LR_TEST_REL(topt[k], lam2[k], 1e-13, "top eigenvalues of B");
    }
    LR_ASSERT_CLOSE(sub, 1.0, 1e-10);
    /* Eigenvalues moved so that B's top m eigenvectors are A's next m: orthogonal. */
    for (size_t k = 0; k < n; k++) lam2[k] = lam[k];
    for (size_t k = 0; k < m; k++) lam2[k] = lam[m + k], lam2[m + k] = lam[k];
    sym_with(B, Q, lam2);
    CU_ASSERT_EQUAL(lr_ntk_eig_align(sp, A, B, m, NULL, NULL, al, &sub), LR_OK);
    CU_ASSERT(sub < 1e-20 + 1e-10);
    for (size_t k = 0; k < m; k++) CU_ASSERT(al[k] < 1e-10);
    /* On the reference path LAPACK info > 0 is a typed error (LR_ECONV); zero K, shapes and m
     * are refused on both. */
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_DSYEVR, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS), LR_OK);
    CU_ASSERT_EQUAL(lr_lapack_fail_after("dsyevr", 1), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, A, B, &rel, NULL, NULL), LR_ECONV);
    /* A failing dsyevr in the top pairs falls back to dsyevd: the same pairs, counted. */
    CU_ASSERT_EQUAL(lr_lapack_fail_after("dsyevr", 1), LR_OK);
    size_t fb0 = lr_ntk_spec_dsyevd_fallbacks(sp);
    CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, m, top, U), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_spec_dsyevd_fallbacks(sp), fb0 + 1);
    for (size_t k = 0; k < m; k++) LR_ASSERT_CLOSE(top[k], lam[k], 1e-10);
    lr_lapack_fail_reset();
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_AUTO, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS), LR_OK);
    lr_mat Z0 = mat_new(n, n);
    CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, Z0, B, &rel, NULL, NULL), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, m + 1, top, (lr_mat){NULL, 0, 0, 1}), LR_EINVAL);
    lr_mat S = mat_new(n - 1, n);
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, S, &nA), LR_EINVAL);
    LR_AT(A, 3, 1) = NAN;
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nA), LR_ENUMERIC);
    lr_free(S.data), lr_free(Z0.data), lr_free(U.data), lr_free(A0.data);
    lr_ntk_spec_plan_free(sp);
    lr_free(Q.data), lr_free(A.data), lr_free(B.data), lr_free(D.data), lr_free(scratch);
    gsl_rng_free(r);
}

/* ---- (d') the Lanczos path against the dense drivers ---- */

/* The largest relative disagreements seen, printed at the end of the suite's Lanczos tests. */
static double agree_norm, agree_eig, agree_kernel;
static size_t agree_steps_min = (size_t)-1, agree_steps_max, spectra_fb[2][2]; /* [n = 300, 64][norm, top] */

static void note_steps(const lr_ntk_spec_plan *sp)
{
    lr_ntk_spec_info in;
    lr_ntk_spec_plan_info(sp, &in);
    if (in.last_steps && in.last_steps < agree_steps_min) agree_steps_min = in.last_steps;
    if (in.last_steps > agree_steps_max) agree_steps_max = in.last_steps;
}

/* ||A u_i - w_i u_i|| / ||A||_2 (largest over i) and ||U^T U - I||_max of m pairs. */
static void pair_quality(lr_mat A, const double *w, lr_mat U, size_t m, double normA, double *resid, double *orth)
{
    size_t n = A.rows;
    *resid = 0.0, *orth = 0.0;
    for (size_t k = 0; k < m; k++) {
        double r2 = 0.0;
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++) s += LR_AT(A, i, j) * LR_AT(U, j, k);
            s -= w[k] * LR_AT(U, i, k);
            r2 += s * s;
        }
        *resid = fmax(*resid, sqrt(r2) / normA);
        for (size_t l = 0; l < m; l++) {
            double d = 0.0;
            for (size_t i = 0; i < n; i++) d += LR_AT(U, i, k) * LR_AT(U, i, l);
            *orth = fmax(*orth, fabs(d - (k == l ? 1.0 : 0.0)));
        }
    }
}

/* Lanczos (sp, method LR_NTK_SPEC_LANCZOS) against dsyevd's full decomposition of A: the
 * norm to 1e-10 relative, the top m eigenvalues to 1e-10 ||A||_2, their vectors orthonormal
 * with residuals at most tol ||A||_2 (up to rounding), whether Lanczos converged or fell
 * back; fb[0] and fb[1] count the norms' and the top sets' fallbacks. */
static void check_against_dsyevd(lr_ntk_spec_plan *sp, lr_mat A, size_t m, size_t fb[2])
{
    size_t n = A.rows;
    double *w = lr_calloc(n, sizeof(double)), top[8], nA = -1.0;
    double ref = norm2_dsyevd(A, w);
    lr_ntk_spec_info in;
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nA), LR_OK);
    note_steps(sp);
    lr_ntk_spec_plan_info(sp, &in);
    fb[0] += (size_t)in.last_fallback;
    double dn = fabs(nA - ref) / (ref > 0 ? ref : 1.0);
    CU_ASSERT(dn <= 1e-10);
    CU_ASSERT(nA <= ref * (1 + 1e-14) || ref == 0.0); /* interlacing: never above ||A||_2 */
    agree_norm = fmax(agree_norm, dn);
    lr_mat U = mat_new(n, m);
    CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, m, top, U), LR_OK);
    note_steps(sp);
    lr_ntk_spec_plan_info(sp, &in);
    fb[1] += (size_t)in.last_fallback;
    double de = 0.0, resid, orth, scale = ref > 0 ? ref : 1.0;
    for (size_t k = 0; k < m; k++) de = fmax(de, fabs(top[k] - w[k]) / scale);
    CU_ASSERT(de <= 1e-10);
    agree_eig = fmax(agree_eig, de);
    pair_quality(A, top, U, m, scale, &resid, &orth);
    CU_ASSERT(resid <= LR_NTK_SPEC_TOL + 1e-13);
    CU_ASSERT(orth <= 1e-12);
    lr_free(U.data), lr_free(w);
}

static void test_lanczos_spectra_run(void);
static void test_lanczos_spectra(void)
{
    blas_one_thread();
    test_lanczos_spectra_run();
    blas_restore();
}

static void test_lanczos_spectra_run(void)
{
    /* Prescribed spectra, Haar eigenvectors, n = 300 and 64:
     *  0  a cluster of three at the top, 1e-9 apart, the rest spread below;
     *  1  negative-dominant: ||A|| = |lambda_min| = 8 against lambda_max = 5;
     *  2  the two ends of equal magnitude, +-4 (each a triple eigenvalue);
     *  3  rank 5 with exact zeros (n - 5 of them) and a negative eigenvalue;
     *  4  an exact double top eigenvalue (a single-vector process would miss one copy);
     *  5  rank one plus noise: 30 u u^T + a GOE matrix of norm about 2 (its spectrum is
     *     dsyevd's, not prescribed).
     * m = 4 top pairs; for the clusters this is a set of nearly equal values, checked by
     * value, residual and orthonormality, not by vector.  The evenly spread spectra are the
     * hard case of Krylov methods (no gap stands out): at n = 300 every process converges;
     * at n = 64 the block processes for the top 4 cannot within the 60 vectors that fit
     * and fall back, which must give the same answers. */
    size_t ns[2] = {300, 64}, m = 4;
    gsl_rng *r = lr_rng_alloc();
    for (int si = 0; si < 2; si++) {
        size_t n = ns[si];
        lr_ntk_spec_plan *sp = lr_ntk_spec_plan_alloc(n, m);
        CU_ASSERT_FATAL(sp != NULL);
        CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS), LR_OK);
        lr_mat Q = mat_new(n, n), A = mat_new(n, n);
        double *lam = lr_calloc(n, sizeof(double)), *scratch = lr_calloc(lr_gen_orthonormal_scratch(n, n), sizeof(double));
        for (int kind = 0; kind < 6; kind++) {
            lr_rng_seed_unit(r, 41, (uint64_t)kind, n);
            CU_ASSERT_EQUAL(lr_gen_orthonormal(r, Q, scratch), LR_OK);
            for (size_t k = 0; k < n; k++) {
                double t = (double)k / (double)(n - 1); /* 0 .. 1 */
                switch (kind) {
                case 0: lam[k] = k < 3 ? 10.0 - 1e-9 * (double)k : 6.0 - 9.0 * t; break;
                case 1: lam[k] = k == n - 1 ? -8.0 : 5.0 - 8.0 * t; break;
                case 2: lam[k] = k < 3 ? 4.0 : (k >= n - 3 ? -4.0 : 3.0 - 6.0 * t); break;
                case 3: lam[k] = k < 4 ? 6.0 - (double)k : (k == n - 1 ? -2.0 : 0.0); break;
                case 4: lam[k] = k < 2 ? 7.0 : 5.0 - 10.0 * t; break;
                default: lam[k] = 0.0;
                }
            }
            sym_with(A, Q, lam);
            if (kind == 5) {
                /* u = the first Haar column; the noise symmetric Gaussian of variance 1/n. */
                for (size_t j = 0; j < n; j++)
                    for (size_t i = j; i < n; i++) {
                        double g = gsl_ran_gaussian(r, 1.0) / sqrt((double)n) * (i == j ? sqrt(2.0) : 1.0);
                        LR_AT(A, i, j) = LR_AT(A, j, i) = 30.0 * LR_AT(Q, i, 0) * LR_AT(Q, j, 0) + g;
                    }
            }
            check_against_dsyevd(sp, A, m, spectra_fb[si]);
            if (kind == 1) {
                double nA;
                CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nA), LR_OK);
                LR_TEST_REL(nA, 8.0, 1e-10, "negative-dominant: ||A|| = |lambda_min|");
            }
            if (kind == 3) {
                /* The top 4 of a rank-5 matrix: 6, 5, 4, 3, then a zero of multiplicity n - 5. */
                double top[4];
                CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, 4, top, (lr_mat){NULL, 0, 0, 1}), LR_OK);
                for (size_t k = 0; k < 4; k++) LR_ASSERT_CLOSE(top[k], 6.0 - (double)k, 1e-10);
            }
        }
        /* The zero matrix: norm 0 by Lanczos (the first product is zero, the bracket closed),
         * relative error undefined. */
        lr_mat_set_zero(A);
        double nA = 1.0, top[4] = {1, 1, 1, 1}, rel;
        CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nA), LR_OK);
        CU_ASSERT(nA == 0.0);
        CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, m, top, (lr_mat){NULL, 0, 0, 1}), LR_OK);
        for (size_t k = 0; k < m; k++) CU_ASSERT(top[k] == 0.0);
        CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, A, A, &rel, NULL, NULL), LR_EINVAL);
        lr_ntk_spec_info in;
        lr_ntk_spec_plan_info(sp, &in);
        CU_ASSERT(in.method == LR_NTK_SPEC_LANCZOS && in.tol == LR_NTK_SPEC_TOL && in.max_steps == LR_NTK_SPEC_MAX_STEPS);
        CU_ASSERT(in.calls == in.lanczos + in.fallbacks && in.direct == 0 && in.bound_max <= LR_NTK_SPEC_TOL);
        lr_free(Q.data), lr_free(A.data), lr_free(lam), lr_free(scratch);
        lr_ntk_spec_plan_free(sp);
    }
    gsl_rng_free(r);
    CU_ASSERT(spectra_fb[0][0] == 0 && spectra_fb[0][1] == 0 && spectra_fb[1][0] == 0);
    printf("\n  prescribed spectra: fallbacks of the top-4 sets at n = 64: %zu of 6", spectra_fb[1][1]);
}

static void test_lanczos_kernels_run(void);
static void test_lanczos_kernels(void)
{
    blas_one_thread();
    test_lanczos_kernels_run();
    blas_restore();
}

static void test_lanczos_kernels_run(void)
{
    /* Kernel-like matrices: the Gram matrix X^T X of gu22 two-class Gaussian-mixture data at
     * p = n / 2 (a spike over a Marchenko-Pastur bulk with n - p exact zeros) and p = 2 n,
     * n = 200, 400, 800; and the equivalent kernel K~ of the quadratic activation at layer 1
     * with its exact kernel K (test_quadratic_asymptotics), whose difference K - K~ has no
     * spike: the error matrix the experiment measures.  Lanczos against the dsyevr reference
     * (a second plan): norms, relative errors and the top 4 eigenvalues to 1e-10, eigenvector
     * subspaces of the isolated top eigenvalue to 1e-10, no fallback. */
    size_t ns[3] = {200, 400, 800}, m = 4;
    lr_ntk_equiv_plan *plan = lr_ntk_equiv_plan_alloc(800, 2);
    for (int si = 0; si < 3; si++) {
        size_t n = ns[si];
        lr_ntk_spec_plan *fast = lr_ntk_spec_plan_alloc(n, m), *ref = lr_ntk_spec_plan_alloc(n, m);
        CU_ASSERT_FATAL(fast && ref);
        CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(ref, LR_NTK_SPEC_DSYEVR, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS), LR_OK);
        CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(fast, LR_NTK_SPEC_LANCZOS, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS), LR_OK);
        lr_mat G = mat_new(n, n), E = mat_new(n, n), Kt = mat_new(n, n), Uf = mat_new(n, m), Ur = mat_new(n, m);
        for (int ratio = 0; ratio < 3; ratio++) {
            size_t p = ratio == 0 ? n / 2 : 2 * n;
            mixture mx;
            CU_ASSERT_FATAL(mixture_make(&mx, p, n, ratio == 2 ? 1 : 2,
                                         ratio == 2 ? LR_GMM_PRESET_GU22_COV : LR_GMM_PRESET_GU22,
                                         LR_NTK_NORMS_THEORY, 60 + (uint64_t)ratio) == LR_OK);
            CU_ASSERT_EQUAL(lr_syrk('T', 1.0, mx.X, 0.0, G), LR_OK);
            lr_mat_symmetrize(G);
            lr_mat S = G;
            if (ratio == 2) {
                /* Quadratic activation, layer 1: E = exact CK, Kt = the matched K~. */
                lr_ntk_coef c[2];
                CU_ASSERT_EQUAL(lr_ntk_recursion_run(sqrt(mx.d->tau0sq), 1, keyq_cb, (void *)quad_keyq, LR_NTK_TAU_RTOL,
                                                     NULL, c),
                                LR_OK);
                lr_mat N0 = mat_new(n, n), N1 = mat_new(n, n);
                lr_mat_copy(N0, G);
                quad_layer(G, N0, mx.d->tau0sq, E, N1);
                lr_free(N0.data), lr_free(N1.data);
                CU_ASSERT_EQUAL(lr_ntk_equiv_kernel(plan, c, 1, LR_NTK_KIND_CK, LR_NTK_DIAG_MATCHED, mx.X, mx.d, Kt),
                                LR_OK);
                S = E;
                double rf, rr, ef, er, kf, kr;
                CU_ASSERT_EQUAL(lr_ntk_rel_err(fast, E, Kt, &rf, &ef, &kf), LR_OK);
                note_steps(fast);
                CU_ASSERT_EQUAL(lr_ntk_rel_err(ref, E, Kt, &rr, &er, &kr), LR_OK);
                double d = fmax(fabs(ef - er) / er, fabs(kf - kr) / kr);
                CU_ASSERT(d <= 1e-10);
                CU_ASSERT(fabs(rf - rr) <= 1e-10 * rr);
                agree_kernel = fmax(agree_kernel, d);
            }
            double nf, nr, wf[4], wr[4];
            CU_ASSERT_EQUAL(lr_ntk_norm2(fast, S, &nf), LR_OK);
            note_steps(fast);
            CU_ASSERT_EQUAL(lr_ntk_norm2(ref, S, &nr), LR_OK);
            CU_ASSERT(fabs(nf - nr) <= 1e-10 * nr);
            agree_kernel = fmax(agree_kernel, fabs(nf - nr) / nr);
            CU_ASSERT_EQUAL(lr_ntk_top_eig(fast, S, m, wf, Uf), LR_OK);
            note_steps(fast);
            CU_ASSERT_EQUAL(lr_ntk_top_eig(ref, S, m, wr, Ur), LR_OK);
            for (size_t k = 0; k < m; k++) {
                CU_ASSERT(fabs(wf[k] - wr[k]) <= 1e-10 * nr);
                agree_kernel = fmax(agree_kernel, fabs(wf[k] - wr[k]) / nr);
            }
            /* The top eigenvector (isolated on all three) agrees with dsyevr's. */
            double dot = 0.0;
            for (size_t i = 0; i < n; i++) dot += LR_AT(Uf, i, 0) * LR_AT(Ur, i, 0);
            CU_ASSERT(fabs(fabs(dot) - 1.0) <= 1e-10);
            mixture_free(&mx);
        }
        CU_ASSERT_EQUAL(lr_ntk_spec_plan_fallbacks(fast), 0);
        lr_ntk_spec_info in;
        lr_ntk_spec_plan_info(ref, &in);
        CU_ASSERT(in.direct == in.calls && in.lanczos == 0 && in.steps == 0);
        lr_free(G.data), lr_free(E.data), lr_free(Kt.data), lr_free(Uf.data), lr_free(Ur.data);
        lr_ntk_spec_plan_free(fast), lr_ntk_spec_plan_free(ref);
    }
    lr_ntk_equiv_plan_free(plan);
    printf("\n  Lanczos against dsyevd/dsyevr, largest relative differences: norms %.1e, top-4 eigenvalues %.1e"
           " (prescribed spectra), kernels %.1e; %zu to %zu Lanczos vectors",
           agree_norm, agree_eig, agree_kernel, agree_steps_min, agree_steps_max);
}

static void test_lanczos_fallback_run(void);
static void test_lanczos_fallback(void)
{
    blas_one_thread();
    test_lanczos_fallback_run();
    blas_restore();
}

static void test_lanczos_fallback_run(void)
{
    /* max_steps = 2: neither process converges (the block one cannot even take a step of
     * block size 4), so dsyevr computes every result, which is then the reference's exactly,
     * and every problem is counted as a fallback.  Failures of the small Ritz solvers fall
     * back too; a failure of the fallback itself is LR_ECONV. */
    size_t n = 120, m = 4;
    gsl_rng *r = lr_rng_alloc();
    lr_rng_seed_unit(r, 77, 0, 0);
    lr_mat Q = mat_new(n, n), A = mat_new(n, n), B = mat_new(n, n), U = mat_new(n, m);
    double *scratch = lr_calloc(lr_gen_orthonormal_scratch(n, n), sizeof(double)), lam[120];
    CU_ASSERT_EQUAL(lr_gen_orthonormal(r, Q, scratch), LR_OK);
    for (size_t k = 0; k < n; k++) lam[k] = 2.0 - 4.0 * (double)k / (double)n + 0.3 * sin((double)k);
    sym_with(A, Q, lam);
    for (size_t k = 0; k < n; k++) lam[k] *= 1.01;
    sym_with(B, Q, lam);
    lr_ntk_spec_plan *sp = lr_ntk_spec_plan_alloc(n, m), *ref = lr_ntk_spec_plan_alloc(n, m);
    CU_ASSERT_FATAL(sp && ref);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(ref, LR_NTK_SPEC_DSYEVR, 1e-10, 512), LR_OK);
    double nr, rr, wr[4], al[4], sub_r;
    CU_ASSERT_EQUAL(lr_ntk_norm2(ref, A, &nr), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_rel_err(ref, A, B, &rr, NULL, NULL), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_eig_align(ref, A, B, m, wr, NULL, al, &sub_r), LR_OK);

    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, 1e-10, 2), LR_OK);
    double nf, rf, wf[4], sub_f;
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nf), LR_OK);
    CU_ASSERT(nf == nr);
    lr_ntk_spec_info in;
    lr_ntk_spec_plan_info(sp, &in);
    CU_ASSERT(in.calls == 1 && in.fallbacks == 1 && in.last_fallback == 1 && in.last_steps == 2 && in.max_steps == 2);
    CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, A, B, &rf, NULL, NULL), LR_OK);
    CU_ASSERT(rf == rr);
    CU_ASSERT_EQUAL(lr_ntk_eig_align(sp, A, B, m, wf, NULL, al, &sub_f), LR_OK);
    for (size_t k = 0; k < m; k++) CU_ASSERT(wf[k] == wr[k]);
    CU_ASSERT(sub_f == sub_r);
    lr_ntk_spec_plan_info(sp, &in);
    CU_ASSERT(in.calls == 5 && in.fallbacks == 5 && in.lanczos == 0 && in.last_steps == 0);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_fallbacks(sp), 5);
    lr_ntk_spec_plan_reset_info(sp);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_fallbacks(sp), 0);

    /* The default tolerance and basis again: converged, and the Ritz solvers' failures fall
     * back. */
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nf), LR_OK);
    CU_ASSERT(fabs(nf - nr) <= 1e-10 * nr);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_fallbacks(sp), 0);
    const char *ritz[2] = {"dstev", "dstein"};
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL(lr_lapack_fail_after(ritz[k], 3), LR_OK); /* the third step's */
        CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nf), LR_OK);
        CU_ASSERT(nf == nr);
        CU_ASSERT_EQUAL(lr_ntk_spec_plan_fallbacks(sp), (size_t)k + 1);
    }
    /* The block process's Ritz solver is dsyevr on the small T: the first dsyevr call. */
    CU_ASSERT_EQUAL(lr_lapack_fail_after("dsyevr", 1), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, m, wf, U), LR_OK);
    for (size_t k = 0; k < m; k++) CU_ASSERT(wf[k] == wr[k]);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_fallbacks(sp), 3);
    /* Both the Ritz solver and the fallback failing: a typed error. */
    CU_ASSERT_EQUAL(lr_lapack_fail_after("dstev", 1), LR_OK);
    CU_ASSERT_EQUAL(lr_lapack_fail_after("dsyevr", 1), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nf), LR_ECONV);
    lr_lapack_fail_reset();

    /* Settings refused; a larger basis reallocated, and a failed reallocation leaves the
     * plan as it was. */
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, (lr_ntk_spec_method)7, 1e-10, 10), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, 0.0, 10), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, 1.0, 10), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, NAN, 10), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, 1e-10, 0), LR_EINVAL);
    lr_ntk_spec_plan *big = lr_ntk_spec_plan_alloc(600, 2);
    CU_ASSERT_FATAL(big != NULL);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(big, LR_NTK_SPEC_LANCZOS, LR_NTK_SPEC_TOL, LR_NTK_SPEC_MAX_STEPS), LR_OK);
    lr_fail_alloc_after(1);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(big, LR_NTK_SPEC_LANCZOS, 1e-8, 600), LR_ENOMEM);
    lr_fail_alloc_after(0);
    lr_ntk_spec_plan_info(big, &in);
    CU_ASSERT(in.method == LR_NTK_SPEC_LANCZOS && in.tol == LR_NTK_SPEC_TOL && in.max_steps == LR_NTK_SPEC_MAX_STEPS);
    CU_ASSERT_EQUAL(lr_ntk_norm2(big, A, &nf), LR_OK);
    CU_ASSERT(fabs(nf - nr) <= 1e-10 * nr);
    CU_ASSERT_EQUAL(lr_ntk_spec_plan_set(big, LR_NTK_SPEC_LANCZOS, 1e-8, 600), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_norm2(big, A, &nf), LR_OK);
    CU_ASSERT(fabs(nf - nr) <= 1e-8 * nr);
    lr_ntk_spec_plan_free(big);
    /* The Lanczos plan's own checks. */
    CU_ASSERT_PTR_NULL(lr_lanczos_plan_alloc(0, 1, 10));
    CU_ASSERT_PTR_NULL(lr_lanczos_plan_alloc(10, 1, 0));
    CU_ASSERT_PTR_NULL(lr_lanczos_plan_alloc(10, 11, 10));
    lr_lanczos_plan *lz = lr_lanczos_plan_alloc(n, m, 50);
    CU_ASSERT_FATAL(lz != NULL);
    CU_ASSERT_EQUAL(lr_lanczos_plan_max_steps(lz), 50);
    lr_lanczos_result lres;
    lr_mat A5 = lr_mat_view(A, 0, 0, 5, 5);
    CU_ASSERT_EQUAL(lr_lanczos_top(lz, A5, 3, 1e-10, 50, wf, U, &lres), LR_EINVAL); /* 2 k > n */
    CU_ASSERT_EQUAL(lr_lanczos_top(lz, A, m + 1, 1e-10, 50, wf, U, &lres), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_lanczos_top(lz, A, m, 1e-10, 50, wf, lr_mat_view(U, 0, 0, n - 1, m), &lres), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_lanczos_norm(lz, A, -1.0, 50, &nf, &lres), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_lanczos_norm(lz, lr_mat_view(A, 0, 0, n, n - 1), 1e-10, 50, &nf, &lres), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_lanczos_norm(lz, A, 1e-10, 50, &nf, &lres), LR_OK);
    CU_ASSERT(lres.steps <= 50 && lres.steps > 0 && (lres.converged ? lres.bound <= 1e-10 : lres.bound > 1e-10));
    lr_lanczos_plan_free(lz);
    /* No allocation in the hot calls. */
    long before = lr_test_alloc_calls();
    CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, A, B, &rf, NULL, NULL), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_eig_align(sp, A, B, m, wf, NULL, al, &sub_f), LR_OK);
    CU_ASSERT_EQUAL(lr_test_alloc_calls() - before, 0);
    /* NaN and Inf are refused on the Lanczos paths too. */
    LR_AT(A, 7, 2) = INFINITY;
    CU_ASSERT_EQUAL(lr_ntk_norm2(sp, A, &nf), LR_ENUMERIC);
    CU_ASSERT_EQUAL(lr_ntk_top_eig(sp, A, m, wf, U), LR_ENUMERIC);
    LR_AT(A, 7, 2) = NAN;
    CU_ASSERT_EQUAL(lr_ntk_rel_err(sp, A, B, &rf, NULL, NULL), LR_ENUMERIC);
    lr_free(Q.data), lr_free(A.data), lr_free(B.data), lr_free(U.data), lr_free(scratch);
    lr_ntk_spec_plan_free(sp), lr_ntk_spec_plan_free(ref);
    gsl_rng_free(r);
}

/* ||G||_2, the top m eigenvalues and a sign-free product of two entries of the top vector
 * (out[0], out[1 .. m], out[m + 1]) through a fresh Lanczos plan; 1 on success.  No CUnit
 * call: it runs inside OpenMP threads. */
static int spec_once(lr_mat G, size_t m, double *out)
{
    size_t n = G.rows;
    lr_ntk_spec_plan *sp = lr_ntk_spec_plan_alloc(n, m);
    lr_mat U = lr_mat_wrap(lr_calloc(n * m, sizeof(double)), n, m);
    int ok = sp && U.data && lr_ntk_spec_plan_set(sp, LR_NTK_SPEC_LANCZOS, LR_NTK_SPEC_TOL, 512) == LR_OK &&
             lr_ntk_norm2(sp, G, &out[0]) == LR_OK && lr_ntk_top_eig(sp, G, m, &out[1], U) == LR_OK;
    out[m + 1] = ok ? LR_AT(U, n / 2, 0) * LR_AT(U, 0, 0) : 0.0;
    lr_free(U.data);
    lr_ntk_spec_plan_free(sp);
    return ok;
}

static void test_lanczos_threads(void)
{
    /* The start vectors are fixed, not drawn from a stream: the same matrix gives the same
     * norm and eigenpairs on every call, serially and from two OpenMP threads at once (each
     * with its own plan; BLAS on one thread, as the runner sets it), bit for bit. */
    size_t n = 300, p = 150, m = 3;
    mixture mx;
    CU_ASSERT_FATAL(mixture_make(&mx, p, n, 2, LR_GMM_PRESET_GU22, LR_NTK_NORMS_THEORY, 5) == LR_OK);
    lr_mat G = mat_new(n, n);
    CU_ASSERT_EQUAL(lr_syrk('T', 1.0, mx.X, 0.0, G), LR_OK);
    lr_mat_symmetrize(G);
    for (size_t i = 0; i < n; i++) LR_AT(G, i, i) -= 2.0; /* both ends compete */
    blas_one_thread();
    double res[5][3 + 2];
    int ok[5];
    ok[0] = spec_once(G, m, res[0]);
#pragma omp parallel for num_threads(2) schedule(static, 1)
    for (int t = 1; t < 5; t++) ok[t] = spec_once(G, m, res[t]);
    blas_restore();
    for (int t = 0; t < 5; t++) {
        CU_ASSERT(ok[t]);
        CU_ASSERT_EQUAL(memcmp(res[t], res[0], sizeof res[0]), 0);
    }
    lr_free(G.data);
    mixture_free(&mx);
}

static void test_alloc_failures(void)
{
    /* Each allocation of each constructor failing in turn gives NULL, never a crash. */
    int made = 0;
    for (long k = 1; k < 40 && !made; k++) {
        lr_fail_alloc_after(k);
        lr_ntk_spec_plan *s = lr_ntk_spec_plan_alloc(40, 3);
        lr_fail_alloc_after(0);
        if (s) {
            lr_ntk_spec_plan_free(s);
            made = 1;
        }
    }
    CU_ASSERT(made); /* every allocation of the plan was made to fail once */
    for (long k = 1; k < 8; k++) {
        lr_fail_alloc_after(k);
        lr_ntk_equiv_plan *e = lr_ntk_equiv_plan_alloc(20, 3);
        lr_fail_alloc_after(0);
        if (e) {
            lr_ntk_equiv_plan_free(e);
            break;
        }
    }
    for (long k = 1; k < 8; k++) {
        lr_fail_alloc_after(k);
        lr_ntk_data *d = lr_ntk_data_alloc(20, 3);
        lr_fail_alloc_after(0);
        if (d) {
            lr_ntk_data_free(d);
            break;
        }
    }
    CU_ASSERT_PTR_NULL(lr_ntk_spec_plan_alloc(4, 5));
    CU_ASSERT_PTR_NULL(lr_ntk_equiv_plan_alloc(0, 1));
}

void lr_tests_ntk_equiv(void)
{
    CU_pSuite s = CU_add_suite("ntk_equiv", NULL, NULL);
    CU_add_test(s, "three centred ReLU layers: alpha_{3,1} = 1/64", test_relu_three_layers);
    CU_add_test(s, "one and two ReLU layers: alpha, beta, tau, kappa by hand", test_relu_hand);
    CU_add_test(s, "recursion driver: callback, scale check, refusals, infinite kappa", test_driver_checks);
    CU_add_test(s, "data statistics: tau_0, t, T, psi in both conventions", test_data_stats);
    CU_add_test(s, "normalised real data: tau_0^2 = 1 with the means' share", test_real_data_tau);
    CU_add_test(s, "kernel: BLAS = triple loop, symmetric, no allocation", test_blas_vs_reference);
    CU_add_test(s, "linear activation: K~_CK = X^T X, K~_NTK = (l+1) X^T X", test_layer0_and_linear);
    CU_add_test(s, "quadratic activation: error falls with p; THEORY's diagonal is short", test_quadratic_asymptotics);
    CU_add_test(s, "spectral norm, top eigenpairs, alignment against dsyevd", test_spectral);
    CU_add_test(s, "Lanczos: prescribed spectra against dsyevd", test_lanczos_spectra);
    CU_add_test(s, "Lanczos: kernel matrices against dsyevr, n = 200 .. 800", test_lanczos_kernels);
    CU_add_test(s, "Lanczos: forced and injected fallbacks, settings, no allocation", test_lanczos_fallback);
    CU_add_test(s, "Lanczos: the same result from every thread", test_lanczos_threads);
    CU_add_test(s, "constructors under allocation failure", test_alloc_failures);
}
