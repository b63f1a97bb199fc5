/* Tests of the activation registry (src/nn/activation.c): each activation against its
 * plain formula and GSL's special functions; every entry found, listed and parsed. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_exp.h>
#include <gsl/gsl_sys.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/activation.h"
#include "nn/net.h"
#include "tests.h"

/* |a - b| <= tol * max(1e-300, |b|): relative, also for tiny values. */
static int rel_close(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(fabs(b), 1e-300); }

/* Apply id through the registry's dispatch to every x, and check against ref(x) and the
 * entry's scalar function: relative to |ref(x)|, or (input_scale) to max(|ref(x)|, |x|),
 * for references that cancel where the activation is tiny. */
static void check_against(lr_activation_id id, double p, double (*ref)(double x, double p), double tol,
                          int input_scale)
{
    double xs[] = {-800, -40, -12, -5, -3.25, -1, -0.5, -1e-3, -1e-300, 0, 1e-300, 1e-3, 0.5, 1, 2.5, 3,
                   7, 12, 40, 800};
    enum { N = sizeof xs / sizeof xs[0] };
    double v[N];
    memcpy(v, xs, sizeof v);
    CU_ASSERT_EQUAL(lr_activation_apply(id, p, v, N), LR_OK);
    const lr_activation *a = lr_activation_get(id);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        double r = ref(xs[i], p);
        int close = input_scale ? fabs(v[i] - r) <= tol * fmax(fabs(r), fabs(xs[i])) : rel_close(v[i], r, tol);
        int ok = close && v[i] == a->fn(xs[i], p) && isfinite(v[i]);
        if (!ok)
            fprintf(stderr, "\n  %s(%g; %g) = %.17g, reference %.17g\n", a->name, xs[i], p, v[i], r);
        bad += !ok;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static double ref_relu(double x, double p) { return (void)p, (x + fabs(x)) / 2; }
static double ref_leaky(double x, double p) { return p * x + (1 - p) * ref_relu(x, 0); }
/* tanh x = expm1(2x) / (expm1(2x) + 2), folded to x >= 0 (odd). */
static double ref_tanh(double x, double p)
{
    (void)p;
    double e = gsl_expm1(2 * fabs(x));
    double t = isinf(e) ? 1.0 : e / (e + 2);
    return x < 0 ? -t : t;
}
/* sigmoid x = (1 + tanh(x / 2)) / 2 for x >= 0, exp(x) / (1 + exp(x)) below (GSL's exp). */
static double ref_sigmoid(double x, double p)
{
    (void)p;
    if (x >= 0) return (1 + ref_tanh(x / 2, 0)) / 2;
    double e = x < -700 ? 0.0 : gsl_sf_exp(x);
    return e / (1 + e);
}
/* PyTorch's formula, 1 + erf (GSL's erf): it cancels for x << 0. */
static double ref_gelu_erf(double x, double p) { return (void)p, 0.5 * x * (1 + gsl_sf_erf(x / M_SQRT2)); }
/* x Phi(x): GSL's normal CDF, and GSL's erfc; both keep the left tail. */
static double ref_gelu_cdf(double x, double p) { return (void)p, x * gsl_cdf_ugaussian_P(x); }
static double ref_gelu_erfc(double x, double p) { return (void)p, 0.5 * x * gsl_sf_erfc(-x / M_SQRT2); }
/* PyTorch's formula for approximate='tanh': 1 + tanh cancels for x << 0. */
static double ref_gelu_tanh(double x, double p)
{
    (void)p;
    return 0.5 * x * (1 + ref_tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x), 0));
}

static void test_activation_formulas(void)
{
    check_against(LR_ACT_RELU, 0, ref_relu, 0, 0);
    check_against(LR_ACT_LEAKY_RELU, 0.01, ref_leaky, 1e-15, 0);
    check_against(LR_ACT_LEAKY_RELU, 0.2, ref_leaky, 1e-15, 0);
    check_against(LR_ACT_TANH, 0, ref_tanh, 4e-16, 0);
    check_against(LR_ACT_SIGMOID, 0, ref_sigmoid, 1e-14, 0);
    check_against(LR_ACT_GELU, 0, ref_gelu_cdf, 1e-13, 0);
    check_against(LR_ACT_GELU, 0, ref_gelu_erfc, 1e-13, 0);
    check_against(LR_ACT_GELU, 0, ref_gelu_erf, 1e-15, 1);
    check_against(LR_ACT_GELU_TANH, 0, ref_gelu_tanh, 1e-15, 1);
    /* Known values at x = 1: GELU(1) = Phi(1) = 0.841344746068543 (normal tables) and the
     * tanh form 0.5 (1 + tanh(sqrt(2/pi) 1.044715)) = 0.841191990608276. */
    double g[2] = {1.0, 1.0};
    lr_activation_apply(LR_ACT_GELU, 0, g, 1);
    lr_activation_apply(LR_ACT_GELU_TANH, 0, g + 1, 1);
    CU_ASSERT(fabs(g[0] - 0.841344746068543) < 1e-15);
    CU_ASSERT(fabs(g[1] - 0.841191990608276) < 1e-15);
    /* The tanh form approximates the erf form to 5e-4 on [-5, 5]. */
    double worst = 0;
    for (double x = -5; x <= 5; x += 1.0 / 64) {
        double a = x, b = x;
        lr_activation_apply(LR_ACT_GELU, 0, &a, 1);
        lr_activation_apply(LR_ACT_GELU_TANH, 0, &b, 1);
        worst = fmax(worst, fabs(a - b));
    }
    CU_ASSERT(worst > 1e-5 && worst < 5e-4);
}

static void test_activation_registry(void)
{
    char names[512];
    lr_activation_names(names, sizeof names);
    for (int i = 0; i < LR_ACT_COUNT; i++) {
        const lr_activation *a = lr_activation_get((lr_activation_id)i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_PTR_NOT_NULL(a->fn);
        CU_ASSERT_PTR_NOT_NULL(a->torch);
        CU_ASSERT_EQUAL(lr_activation_find(a->name, strlen(a->name)), i);
        CU_ASSERT_PTR_NOT_NULL(strstr(names, a->name));
        /* Each name parses as a post op (with a parameter when it takes one). */
        char op[64];
        snprintf(op, sizeof op, a->param ? "%s(0.5),flatten" : "%s,flatten", a->name);
        lr_post_op ops[8];
        size_t n = 0;
        CU_ASSERT_EQUAL(lr_net_parse_post(op, ops, &n), LR_OK);
        CU_ASSERT_EQUAL(n, 2);
        CU_ASSERT_EQUAL(ops[0].kind, LR_POST_ACT);
        CU_ASSERT_EQUAL(ops[0].act, i);
        CU_ASSERT_EQUAL(ops[0].param, a->param ? 0.5 : 0.0);
    }
    CU_ASSERT_PTR_NULL(lr_activation_get(LR_ACT_COUNT));
    CU_ASSERT_EQUAL(lr_activation_find("relu6", 5), -1);
    CU_ASSERT_EQUAL(lr_activation_find("rel", 3), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(names, "leaky_relu(negative_slope)"));
    double v = 1;
    CU_ASSERT_EQUAL(lr_activation_apply(LR_ACT_COUNT, 0, &v, 1), LR_EINVAL);
}

void lr_tests_activation(void)
{
    CU_pSuite s = CU_add_suite("nn/activation: the registry", NULL, NULL);
    CU_add_test(s, "each activation = its formula (GSL erf, normal CDF, expm1)", test_activation_formulas);
    CU_add_test(s, "registry: every name found, listed and parsed", test_activation_registry);
}
