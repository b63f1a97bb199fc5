/* Bounds: each bound's arithmetic against a hand computation, how a bound is checked,
 * and Theorem 1(a) holding for dd_rank on seeded random instances. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#include "bounds/bounds.h"
#include "core/stats.h"
#include "tests.h"

static const lr_bound_params P = {.C = 2.0, .t = 2.0, .tol = 1e-10};

static void test_thm1_arithmetic(void)
{
    lr_bound_input in = {.m = 100, .n0 = 30, .n1 = 20, .q = 30, .r = 4, .k = 6, .sigma = 0.1,
                         .pg_op = 1.5, .smin_x = 2.0, .err_fro = 0.8, .preact = 1, .gaussian = 1};
    LR_ASSERT_CLOSE(lr_bound_find("thm1a")->value(&in, &P), 2 * sqrt(10.0) * 1.5, 1e-15);
    LR_ASSERT_CLOSE(lr_bound_find("thm1b")->value(&in, &P),
                    2 * sqrt(10.0) * 0.1 * (sqrt(30.0) + sqrt(20.0) + 2), 1e-15);
    CU_ASSERT(isnan(lr_bound_find("thm1c")->value(&in, &P))); /* k != r */
    in.k = 4;
    LR_ASSERT_CLOSE(lr_bound_find("thm1c")->value(&in, &P), 0.1 * sqrt(4.0 * (30 + 20 - 4)), 1e-15);
    LR_ASSERT_CLOSE(lr_bound_find("thm1d")->value(&in, &P), 0.4, 1e-15);
    in.q = 29; /* X~ without full column rank: 1(d) does not apply */
    CU_ASSERT(isnan(lr_bound_find("thm1d")->value(&in, &P)));
    in.k = 3; /* k < r: Theorem 1 does not apply */
    CU_ASSERT(isnan(lr_bound_find("thm1a")->value(&in, &P)));
    in.k = 4;
    in.preact = in.gaussian = 0; /* weight noise: the statements in sigma do not apply */
    CU_ASSERT(isnan(lr_bound_evaluate(lr_bound_find("thm1b"), &in, &P)));
    CU_ASSERT(!isnan(lr_bound_evaluate(lr_bound_find("thm1a"), &in, &P)));
    /* Pre-activation noise that is not Gaussian: thm1b's assumption is unmet, so it is not
     * evaluated unless bounds.outside_assumptions asks for it. */
    in.preact = 1;
    lr_bound_params outside = P;
    outside.outside_assumptions = 1;
    CU_ASSERT_EQUAL(lr_bound_unmet(lr_bound_find("thm1b"), &in), LR_ASSUME_GAUSSIAN_NOISE);
    CU_ASSERT_EQUAL(lr_bound_unmet(lr_bound_find("thm1a"), &in), 0);
    CU_ASSERT(isnan(lr_bound_evaluate(lr_bound_find("thm1b"), &in, &P)));
    LR_ASSERT_CLOSE(lr_bound_evaluate(lr_bound_find("thm1b"), &in, &outside),
                    2 * sqrt(8.0) * 0.1 * (sqrt(29.0) + sqrt(20.0) + 2), 1e-15); /* q = 29 above */
    CU_ASSERT(strlen(lr_bound_assumptions_text(LR_ASSUME_GAUSSIAN_NOISE)) > 0);
}

static void test_nominal_and_check(void)
{
    const lr_bound *a = lr_bound_find("thm1a"), *b = lr_bound_find("thm1b"), *c = lr_bound_find("thm1c");
    LR_ASSERT_CLOSE(lr_bound_nominal(b, &P), 1 - exp(-2.0), 1e-15);
    CU_ASSERT_EQUAL(lr_bound_nominal(a, &P), 1.0);
    CU_ASSERT_EQUAL(lr_bound_check(a, 1.0, 1.0 + 1e-12, 0.0, &P), 1);  /* within tol */
    CU_ASSERT_EQUAL(lr_bound_check(a, 1.0, 1.0 + 1e-8, 0.0, &P), 0);
    /* Rounding is no violation of a probabilistic bound either. */
    CU_ASSERT_EQUAL(lr_bound_check(b, 1.0, 1.0 + 1e-12, 0.0, &P), 1);
    CU_ASSERT_EQUAL(lr_bound_check(b, 1.0, 1.0 + 1e-8, 0.0, &P), 0);
    CU_ASSERT_EQUAL(lr_bound_check(a, NAN, 1.0, 0.0, &P), -1);
    CU_ASSERT_EQUAL(lr_bound_check(c, 1.0, 0.5, 0.0, &P), -1);
    /* At sigma = 0 a deterministic bound is 0 and the error is rounding: the rule holds at
     * zero through the scale of the quantities compared (here ||Z*||_F = 3). */
    CU_ASSERT_EQUAL(lr_bound_check(a, 0.0, 1e-13, 3.0, &P), 1);
    CU_ASSERT_EQUAL(lr_bound_check(a, 0.0, 1e-6, 3.0, &P), 0);
    CU_ASSERT_EQUAL(lr_le_tol(1e-13, 0.0, 1e-10, 1.0), 1);
    CU_ASSERT_EQUAL(lr_le_tol(1e-13, 0.0, 1e-10, 0.0), 0);
    CU_ASSERT_PTR_NULL(lr_bound_find("nope"));
    CU_ASSERT_PTR_NULL(lr_bound_find(NULL));
}

/* A lower bound (value <= observed) is checked the other way round, by the same rule. */
static double const_one(const lr_bound_input *in, const lr_bound_params *p)
{
    (void)in, (void)p;
    return 1.0;
}

static void test_lower_bound_check(void)
{
    const lr_bound lower = {.name = "test_lower", .theorem = "test", .statement = "1 <= observed",
                            .kind = LR_BOUND_ALWAYS, .compressor = "svd_w", .observed = LR_OBS_ERR_OP_REL,
                            .direction = LR_BOUND_LOWER, .value = const_one};
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1.0, 1.5, 0.0, &P), 1);         /* value <= observed */
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1.0, 1.0, 0.0, &P), 1);
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1.0, 0.5, 0.0, &P), 0);         /* observed below the bound */
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1.0, 1.0 - 1e-12, 0.0, &P), 1); /* within tol */
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1.0, 1.0 - 1e-8, 0.0, &P), 0);
    CU_ASSERT_EQUAL(lr_bound_check(&lower, NAN, 1.0, 0.0, &P), -1);
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1.0, NAN, 0.0, &P), -1);
    /* The scale term: a lower bound of rounding size against an observed 0 holds. */
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1e-13, 0.0, 3.0, &P), 1);
    CU_ASSERT_EQUAL(lr_bound_check(&lower, 1e-6, 0.0, 3.0, &P), 0);
    /* The same numbers against an upper bound give the opposite verdicts. */
    const lr_bound upper = {.name = "test_upper", .kind = LR_BOUND_ALWAYS, .value = const_one};
    CU_ASSERT_EQUAL(upper.direction, LR_BOUND_UPPER); /* the default */
    CU_ASSERT_EQUAL(lr_bound_check(&upper, 1.0, 1.5, 0.0, &P), 0);
    CU_ASSERT_EQUAL(lr_bound_check(&upper, 1.0, 0.5, 0.0, &P), 1);
    /* A prediction is never checked, whatever its direction. */
    const lr_bound pred = {.name = "test_pred", .kind = LR_BOUND_PREDICTION, .direction = LR_BOUND_LOWER,
                           .value = const_one};
    CU_ASSERT_EQUAL(lr_bound_check(&pred, 1.0, 1.5, 0.0, &P), -1);
    CU_ASSERT_STRING_EQUAL(lr_bound_direction_name(LR_BOUND_LOWER), "lower");
    CU_ASSERT_STRING_EQUAL(lr_bound_direction_name(LR_BOUND_UPPER), "upper");
    CU_ASSERT_STRING_EQUAL(lr_observed_name(LR_OBS_ERR_FRO), "err_fro");
    CU_ASSERT_STRING_EQUAL(lr_observed_name(LR_OBS_ERR_WEIGHT), "err_weight");
    CU_ASSERT_STRING_EQUAL(lr_observed_name(LR_OBS_ERR_OP_REL), "err_op_rel");
}

/* The ALDS bounds from lr_bound_input's fields, by hand; NAN when the fields are left
 * zero / NULL, as every experiment but ALDS's leaves them. */
static void test_alds_arithmetic(void)
{
    const lr_bound *lo = lr_bound_find("alds_lower"), *l2 = lr_bound_find("alds_l2"), *sk = lr_bound_find("alds_sqrtk");
    CU_ASSERT_PTR_NOT_NULL_FATAL(lo);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sk);
    double a[2] = {3.0, 4.0};
    lr_bound_input in = {.ngroups = 2, .alpha_next = a, .alpha1 = 10.0};
    LR_ASSERT_CLOSE(lr_bound_evaluate(lo, &in, &P), 0.4, 1e-15);
    LR_ASSERT_CLOSE(lr_bound_evaluate(l2, &in, &P), 0.5, 1e-15);
    LR_ASSERT_CLOSE(lr_bound_evaluate(sk, &in, &P), sqrt(2.0) * 0.4, 1e-15);
    CU_ASSERT_EQUAL(lo->direction, LR_BOUND_LOWER);
    CU_ASSERT_EQUAL(l2->direction, LR_BOUND_UPPER);
    CU_ASSERT_EQUAL(sk->direction, LR_BOUND_UPPER);
    CU_ASSERT_EQUAL(lo->observed, LR_OBS_ERR_OP_REL);
    CU_ASSERT_EQUAL(lo->kind, LR_BOUND_ALWAYS);
    CU_ASSERT_STRING_EQUAL(lo->compressor, "alds");
    /* The lower bound holds when the true error is at least 0.4, the upper ones when it is
     * at most 0.5 (resp. 0.566). */
    CU_ASSERT_EQUAL(lr_bound_check(lo, 0.4, 0.45, 1.0, &P), 1);
    CU_ASSERT_EQUAL(lr_bound_check(lo, 0.4, 0.35, 1.0, &P), 0);
    CU_ASSERT_EQUAL(lr_bound_check(l2, 0.5, 0.45, 1.0, &P), 1);
    CU_ASSERT_EQUAL(lr_bound_check(l2, 0.5, 0.55, 1.0, &P), 0);
    /* Full rank: every alpha_{i,j+1} = 0, so are the bounds (and the true error). */
    double z[2] = {0.0, 0.0};
    in.alpha_next = z;
    CU_ASSERT_EQUAL(lr_bound_evaluate(lo, &in, &P), 0.0);
    CU_ASSERT_EQUAL(lr_bound_evaluate(sk, &in, &P), 0.0);
    /* Fields left zero / NULL: not applicable. */
    lr_bound_input none = {.m = 100, .n0 = 30, .n1 = 20, .q = 30, .r = 4, .k = 6, .sigma = 0.1, .pg_op = 1.5};
    const lr_bound *all[] = {lo, l2, sk};
    for (int b = 0; b < 3; b++) {
        CU_ASSERT(isnan(lr_bound_evaluate(all[b], &none, &P)));
        lr_bound_input part = {.ngroups = 2, .alpha_next = NULL, .alpha1 = 10.0};
        CU_ASSERT(isnan(lr_bound_evaluate(all[b], &part, &P)));
        part = (lr_bound_input){.ngroups = 2, .alpha_next = a, .alpha1 = 0.0};
        CU_ASSERT(isnan(lr_bound_evaluate(all[b], &part, &P)));
        part = (lr_bound_input){.ngroups = 0, .alpha_next = a, .alpha1 = 10.0};
        CU_ASSERT(isnan(lr_bound_evaluate(all[b], &part, &P)));
        CU_ASSERT_EQUAL(lr_bound_check(all[b], lr_bound_evaluate(all[b], &none, &P), 0.3, 1.0, &P), -1);
    }
}

/* The registry follows bounds/list.h: every listed id names the object of that name, in
 * order, and lr_bound_name_at enumerates exactly the registered names. */
static void test_registry_follows_list(void)
{
    static const char *const ids[] = {
#define LR_BOUND(id) #id,
#include "bounds/list.h"
#undef LR_BOUND
    };
    size_t n = sizeof ids / sizeof ids[0];
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(lr_bounds[i]);
        CU_ASSERT_STRING_EQUAL(lr_bounds[i]->name, ids[i]);
        CU_ASSERT_STRING_EQUAL(lr_bound_name_at(i), ids[i]);
        CU_ASSERT_PTR_EQUAL(lr_bound_find(ids[i]), lr_bounds[i]);
        CU_ASSERT_PTR_NOT_NULL(lr_bounds[i]->value);
    }
    CU_ASSERT_PTR_NULL(lr_bounds[n]);
    CU_ASSERT_PTR_NULL(lr_bound_name_at(n));
}

static void test_wilson(void)
{
    double lo, hi;
    lr_wilson_interval(50, 100, 0.95, &lo, &hi);
    LR_ASSERT_CLOSE(lo, 0.40383, 1e-4);
    LR_ASSERT_CLOSE(hi, 0.59617, 1e-4);
    lr_wilson_interval(100, 100, 0.95, &lo, &hi);
    CU_ASSERT_EQUAL(hi, 1.0);
    LR_ASSERT_CLOSE(lo, 0.96301, 1e-4);
}

static void test_loglog_fit(void)
{
    double x[20], y[20];
    for (int i = 0; i < 20; i++) {
        x[i] = pow(10, -4 + 0.2 * i);
        y[i] = 3.0 * pow(x[i], 0.5) * (1 + 0.01 * ((i % 3) - 1));
    }
    lr_fit f;
    CU_ASSERT_EQUAL(lr_fit_loglog(x, y, 20, 0.95, &f), 0);
    CU_ASSERT(fabs(f.slope - 0.5) < 0.01);
    CU_ASSERT(f.slope_lo < 0.5 && f.slope_hi > 0.5);
    CU_ASSERT(f.r2 > 0.99);
    double one[3] = {1, 1, 1};
    CU_ASSERT_NOT_EQUAL(lr_fit_loglog(one, y, 3, 0.95, &f), 0);
}

/* The slope interval keeps its level when the scatter changes along the axis: log y has
 * standard deviation 0.02 / sqrt(x) at x = 1, 2, 4, 8 (as log err at high SNR in q + N1).
 * Over 4000 seeded replications of 60 points per x the 95% interval holds the true slope
 * in 95% +- 1% of them (the OLS interval: about 93%). */
static void test_loglog_fit_heteroscedastic(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 12345);
    enum { PER = 60, NX = 4, REPS = 4000 };
    double x[PER * NX], y[PER * NX];
    size_t inside = 0;
    for (int rep = 0; rep < REPS; rep++) {
        for (int j = 0; j < NX; j++)
            for (int i = 0; i < PER; i++) {
                double xv = (double)(1 << j);
                x[j * PER + i] = xv;
                y[j * PER + i] = pow(xv, 0.5) * exp(gsl_ran_gaussian_ziggurat(rng, 0.02 / sqrt(xv)));
            }
        lr_fit f;
        CU_ASSERT_EQUAL_FATAL(lr_fit_loglog(x, y, PER * NX, 0.95, &f), 0);
        inside += f.slope_lo <= 0.5 && 0.5 <= f.slope_hi;
    }
    double cover = (double)inside / REPS;
    CU_ASSERT(cover > 0.94 && cover < 0.96);
    gsl_rng_free(rng);
}

static void test_bonferroni(void)
{
    LR_ASSERT_CLOSE(lr_bonferroni_widen(0.95, 1, 50), 1.0, 1e-12);
    /* Normal limit: z(1 - 0.05/16) / z(0.975) = 2.73437 / 1.95996 for 8 groups. */
    LR_ASSERT_CLOSE(lr_bonferroni_widen(0.95, 8, 1e7), 2.734369 / 1.959964, 1e-5);
    /* t with 10 dof, 4 groups: t(0.99375) / t(0.975) = 3.03824 / 2.22814 (scipy). */
    LR_ASSERT_CLOSE(lr_bonferroni_widen(0.95, 4, 10), 3.038243 / 2.228139, 1e-5);
}

static void test_quantile(void)
{
    double v[] = {5, 1, 3, 2, 4};
    lr_sort(v, 5);
    CU_ASSERT_EQUAL(lr_quantile_sorted(v, 5, 0.5), 3.0);
    LR_ASSERT_CLOSE(lr_quantile_sorted(v, 5, 0.1), 1.4, 1e-15);
}

void lr_tests_bounds(void)
{
    CU_pSuite s = CU_add_suite("bounds", NULL, NULL);
    CU_add_test(s, "Theorem 1 (a)-(d) arithmetic and applicability", test_thm1_arithmetic);
    CU_add_test(s, "nominal levels and the held check", test_nominal_and_check);
    CU_add_test(s, "a lower bound is checked as value <= observed", test_lower_bound_check);
    CU_add_test(s, "ALDS bounds: arithmetic, direction, not applicable without their fields", test_alds_arithmetic);
    CU_add_test(s, "the registry follows bounds/list.h", test_registry_follows_list);
    CU_add_test(s, "Wilson interval against known values", test_wilson);
    CU_add_test(s, "log-log slope fit and its interval", test_loglog_fit);
    CU_add_test(s, "quantiles", test_quantile);
    CU_add_test(s, "Bonferroni widening of a t interval", test_bonferroni);
    CU_add_test(s, "log-log slope interval keeps its level under heteroscedastic scatter",
                test_loglog_fit_heteroscedastic);
}
