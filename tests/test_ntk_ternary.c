/* Tests of the NTK kind's compressed network (src/ntk/ternary.c):
 *   - sigma_T fits of the activations that have one (relu, leaky relu, |t|, cos) converge
 *     at several scales, and the fitted sigma_T's key quantities by quadrature (not the
 *     closed form the solver used) match the targets;
 *   - activations that cannot be matched (odd ones: E sigma'' = 0 with E (sigma_c^2)'' != 0,
 *     which sigma_T rules out) are reported unconverged, with their residuals, not refused;
 *   - a sigma_Q fit of its own key quantities (a target that is known to have a solution)
 *     converges to residuals below tol;
 *   - a three-layer centred-ReLU network: every hidden layer converged, the scales chained
 *     (~tau_l^2 = Var sigma_T(~tau_{l-1} xi)), the shift = tau_L^2 - ~tau_L^2;
 *   - ternary weights: the zero fraction and the variance against their laws; memory bits
 *     by hand; argument checks. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/mat.h"
#include "ntk/act.h"
#include "ntk/keyq.h"
#include "ntk/kernel_emp.h"
#include "ntk/ternary.h"
#include "tests.h"

static lr_ntk_act parse(const char *spec)
{
    lr_ntk_act a = {0};
    CU_ASSERT_EQUAL(lr_ntk_act_parse(spec, &a), LR_OK);
    return a;
}

/* |x^2 - y^2| relative to s, the test's version of the solver's scaled residual. */
static double dev_sq(double x, double y, double s) { return fabs(x * x - y * y) / s; }

static void test_fit_T(void)
{
    static const char *const ok[] = {"relu", "leaky_relu(0.1,1)", "abs", "cos"};
    static const double taus[] = {0.5, 1.0, 2.0};
    double worst = 0;
    size_t fits = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        for (size_t t = 0; t < 3; t++)
            for (size_t c = 0; c < 3; c++) {
                lr_ntk_act a = parse(ok[i]);
                lr_ntk_keyq target, q;
                CU_ASSERT_EQUAL_FATAL(lr_ntk_keyq_eval(&a, taus[t], NULL, NULL, &target), LR_OK);
                lr_ntk_match m;
                double tc = taus[c];
                CU_ASSERT_EQUAL_FATAL(lr_ntk_match_fit(LR_NTK_MATCH_T, &target, tc, NULL, &m), LR_OK);
                CU_ASSERT(m.converged && m.resid_max <= 1e-8 && m.act.id == LR_NTK_ACT_SIGMA_T);
                if (!m.converged) fprintf(stderr, "\n  %s tau %g at %g: residual %.3e\n", ok[i], taus[t], tc, m.resid_max);
                /* Independently: the fitted activation's key quantities by quadrature. */
                CU_ASSERT_EQUAL_FATAL(lr_ntk_keyq_quad(&m.act, tc, NULL, NULL, &q, NULL), LR_OK);
                double S = target.var / (target.tau * target.tau);
                double d = fmax(fmax(dev_sq(q.d1, target.d1, S), dev_sq(q.d2, target.d2, S / (target.tau * target.tau))),
                                fabs(q.sq2 - target.sq2) / S);
                CU_ASSERT(d <= 1e-8);
                worst = fmax(worst, d);
                fits++;
            }
    printf("\n    sigma_T fits: %zu converged; quadrature of the fits against the targets: largest scaled deviation "
           "%.2e ", fits, worst);
}

/* E sigma_T'' = 0 forces E (sigma_T,c^2)'' = 0: odd activations have no exact sigma_T. */
static void test_fit_T_impossible(void)
{
    static const char *const odd[] = {"tanh", "erf", "sin", "linear"};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        lr_ntk_act a = parse(odd[i]);
        lr_ntk_keyq target;
        CU_ASSERT_EQUAL_FATAL(lr_ntk_keyq_eval(&a, 1.0, NULL, NULL, &target), LR_OK);
        CU_ASSERT(fabs(target.d2) < 1e-12 && fabs(target.sq2) > 0.1);
        lr_ntk_match m;
        CU_ASSERT_EQUAL_FATAL(lr_ntk_match_fit(LR_NTK_MATCH_T, &target, 1.0, NULL, &m), LR_OK);
        CU_ASSERT(!m.converged && m.resid_max > 1e-8 && isfinite(m.resid_max));
        printf("\n    %s: no sigma_T (largest scaled residual %.2e) ", odd[i], m.resid_max);
    }
}

/* A target that has a solution: the key quantities of a sigma_Q itself, at another scale. */
static void test_fit_Q_own(void)
{
    static const double p[3][4] = {{-0.8, 1.2, -0.6, 0.9}, {1.0, 0.5, -1.5, 0.2}, {-2.0, -0.7, -0.3, 1.7}};
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        lr_ntk_act q;
        CU_ASSERT_EQUAL_FATAL(lr_ntk_act_init(&q, LR_NTK_ACT_SIGMA_Q, p[i], 4), LR_OK);
        lr_ntk_keyq target;
        CU_ASSERT_EQUAL_FATAL(lr_ntk_keyq_closed(&q, 1.3, &target), LR_OK);
        lr_ntk_match m;
        CU_ASSERT_EQUAL_FATAL(lr_ntk_match_fit(LR_NTK_MATCH_Q, &target, 0.9, NULL, &m), LR_OK);
        CU_ASSERT(m.converged);
        CU_ASSERT(fabs(m.got.var - target.var) <= 1e-8 * target.var);
        worst = fmax(worst, m.resid_max);
    }
    printf("\n    sigma_Q fits of sigma_Q targets: largest scaled residual %.2e ", worst);
}

static void test_network(void)
{
    lr_ntk_act r[3] = {parse("relu"), parse("relu"), parse("relu")};
    lr_ntk_compressed_layer c[3];
    double shift;
    CU_ASSERT_EQUAL_FATAL(lr_ntk_compress_net(r, 3, 1.0, NULL, NULL, c, &shift), LR_OK);
    double tau = 1.0, taut = 1.0;
    for (int l = 0; l < 3; l++) {
        CU_ASSERT_DOUBLE_EQUAL(c[l].tau_in, tau, 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(c[l].taut_in, taut, 1e-15);
        if (l < 2) CU_ASSERT(c[l].m.kind == LR_NTK_MATCH_T && c[l].m.converged);
        /* Centred ReLU: d1 = 1/2 at every scale, d2 = 1 / (sqrt(2 pi) tau). */
        CU_ASSERT_DOUBLE_EQUAL(c[l].target.d1, 0.5, 1e-14);
        CU_ASSERT_DOUBLE_EQUAL(c[l].target.d2, 1 / (sqrt(2 * M_PI) * tau), 1e-13);
        tau = sqrt(c[l].target.var), taut = sqrt(c[l].m.got.var);
    }
    CU_ASSERT_DOUBLE_EQUAL(shift, tau * tau - taut * taut, 1e-15);
    printf("\n    three centred ReLU layers: last layer %s (%s), shift tau_L^2 - ~tau_L^2 = %.4g ",
           c[2].m.kind == LR_NTK_MATCH_Q ? "sigma_Q" : "sigma_T", c[2].m.converged ? "converged" : "not converged", shift);
}

static void test_ternary_weights(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 5);
    size_t n = 400, m = 500, N = n * m;
    lr_mat W = lr_mat_wrap(malloc(N * sizeof(double)), n, m);
    static const double eps[] = {0.0, 0.5, 0.9};
    for (int e = 0; e < 3; e++) {
        CU_ASSERT_EQUAL_FATAL(lr_ntk_draw_weights(g, LR_NTK_WEIGHTS_TERNARY, eps[e], W.data, N), LR_OK);
        size_t zeros = 0, plus = 0;
        double sum2 = 0, v = 1 / sqrt(1 - eps[e]);
        for (size_t i = 0; i < N; i++) {
            double x = W.data[i];
            zeros += x == 0, plus += x > 0, sum2 += x * x;
            CU_ASSERT(x == 0 || fabs(fabs(x) - v) <= 1e-15 * v);
        }
        /* Binomial counts within 5 standard deviations. */
        double sd = sqrt((double)N * eps[e] * (1 - eps[e]));
        CU_ASSERT(fabs((double)zeros - eps[e] * (double)N) <= 5 * sd + 1e-9);
        double sdp = sqrt((double)N * 0.25 * (1 - eps[e]));
        CU_ASSERT(fabs((double)plus - 0.5 * (1 - eps[e]) * (double)N) <= 5 * sdp + 5 * sd);
        /* E w^2 = 1; sum2 / N = (non-zeros / N) / (1 - eps). */
        CU_ASSERT(fabs(sum2 / (double)N - 1) <= 5 * sd / (double)N / (1 - eps[e]) + 1e-12);
    }
    CU_ASSERT_EQUAL(lr_ntk_draw_weights(g, LR_NTK_WEIGHTS_TERNARY, 1.0, W.data, N), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_draw_weights(g, LR_NTK_WEIGHTS_TERNARY, -0.1, W.data, N), LR_EINVAL);
    free(W.data);
    gsl_rng_free(g);
    /* Memory: 1000 weights at eps 0.5: 32 000 dense, 500 THEORY, (1 + 0.5) x 1000 entropy. */
    lr_ntk_memory mb = lr_ntk_memory_bits(1000, 0.5);
    CU_ASSERT_DOUBLE_EQUAL(mb.dense_bits, 32000, 0);
    CU_ASSERT_DOUBLE_EQUAL(mb.ternary_bits, 500, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(mb.entropy_bits, 1500, 1e-9);
    mb = lr_ntk_memory_bits(1000, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(mb.entropy_bits, 1000, 1e-12);
}

static void test_refusals(void)
{
    lr_ntk_keyq t = {.tau = 1, .mean = 0, .d1 = 0.5, .d2 = 0.4, .sq2 = 0.7, .var = 0.34, .d1sq = 0.5};
    lr_ntk_match m;
    CU_ASSERT_EQUAL(lr_ntk_match_fit(LR_NTK_MATCH_T, &t, 0.0, NULL, &m), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_match_fit(LR_NTK_MATCH_T, NULL, 1.0, NULL, &m), LR_EINVAL);
    lr_ntk_keyq bad = t;
    bad.var = 0;
    CU_ASSERT_EQUAL(lr_ntk_match_fit(LR_NTK_MATCH_T, &bad, 1.0, NULL, &m), LR_EINVAL);
    lr_ntk_match_opts o = lr_ntk_match_defaults();
    o.starts = 0;
    CU_ASSERT_EQUAL(lr_ntk_match_fit(LR_NTK_MATCH_T, &t, 1.0, &o, &m), LR_EINVAL);
    lr_ntk_act r = parse("relu");
    lr_ntk_compressed_layer c;
    double sh;
    CU_ASSERT_EQUAL(lr_ntk_compress_net(&r, 1, -1.0, NULL, NULL, &c, &sh), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_compress_net(&r, 0, 1.0, NULL, NULL, &c, &sh), LR_EINVAL);
}

void lr_tests_ntk_ternary(void)
{
    CU_pSuite s = CU_add_suite("ntk: the compressed network (sigma_T / sigma_Q fits, ternary weights)", NULL, NULL);
    CU_add_test(s, "sigma_T fits converge, checked by quadrature", test_fit_T);
    CU_add_test(s, "odd activations: no sigma_T, reported with residuals", test_fit_T_impossible);
    CU_add_test(s, "sigma_Q fits of sigma_Q targets converge", test_fit_Q_own);
    CU_add_test(s, "three ReLU layers: scales chained, shift reported", test_network);
    CU_add_test(s, "ternary weights: zero fraction, variance; memory bits", test_ternary_weights);
    CU_add_test(s, "bad arguments refused", test_refusals);
}
