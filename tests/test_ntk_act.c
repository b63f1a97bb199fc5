/* Tests of the NTK kind's activations and key quantities (src/ntk/act.c, src/ntk/keyq.c):
 *   - the registry: every entry found, listed, parsed and formatted back; parameters,
 *     defaults and the parser's errors;
 *   - each activation against its plain formula; the in-place kernels against the scalar
 *     functions; sigma' and sigma'' against central finite differences away from the kinks;
 *   - the key quantities: closed form = quadrature to 1e-10 for every activation that has
 *     both, at tau = 0.3, 1, 2.5 and several parameters; THEORY's centred-ReLU values and its
 *     sigma_T formulas; integration by parts against direct integration of sigma' and sigma''
 *     (also for tanh and sigmoid, which have no closed form) and against fixed Gauss-Hermite
 *     for the smooth ones; +INFINITY for E sigma'^2 exactly where sigma' holds a Dirac mass.
 * The suite prints the largest deviations it saw. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "ntk/act.h"
#include "ntk/keyq.h"
#include "tests.h"

/* The tolerance the task sets for closed form against quadrature. */
#define CLOSED_VS_QUAD_TOL 1e-10

static lr_ntk_act act(const char *spec)
{
    lr_ntk_act a = {0};
    int st = lr_ntk_act_parse(spec, &a);
    CU_ASSERT_EQUAL(st, LR_OK);
    if (st) fprintf(stderr, "\n  parse \"%s\": %s\n", spec, lr_last_error());
    return a;
}

/* Every activation with parameters worth testing (the closed-form ones and the others). */
static const char *const specs[] = {
    "relu", "leaky_relu", "leaky_relu(0.1,1)", "leaky_relu(-0.3, 2)", "tanh", "erf", "sigmoid", "sin", "cos",
    "abs", "sign", "step", "linear", "quad", "quad(0.5,-1,0.25)", "quad(-2, 0, 3)", "sigma_T",
    "sigma_T(0.7,-0.5,1.2)", "sigma_T(2, 0.3, 0.3)", "sigma_T(1.5,-2.5,-1)", "sigma_Q", "sigma_Q(0.4,-1.3,-0.2,0.9)",
    "sigma_Q(2,1,0.5,2)", "sigma_Q(-1,3,-1.5,-1.5)"};
#define NSPECS (sizeof specs / sizeof specs[0])
static const double taus[] = {0.3, 1.0, 2.5};

/* ---- the registry ---- */

static void test_registry(void)
{
    char names[1024], buf[256];
    lr_ntk_act_names(names, sizeof names);
    for (int i = 0; i < LR_NTK_ACT_COUNT; i++) {
        const lr_ntk_act_entry *e = lr_ntk_act_get((lr_ntk_act_id)i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_PTR_NOT_NULL(e->fn);
        CU_ASSERT_PTR_NOT_NULL(e->kinks);
        CU_ASSERT(e->nparams <= LR_NTK_ACT_MAX_PARAMS);
        CU_ASSERT_EQUAL(lr_ntk_act_find(e->name, strlen(e->name)), i);
        CU_ASSERT_PTR_NOT_NULL(strstr(names, e->name));
        /* a smooth entry has both derivatives and no kinks; a Dirac entry has neither */
        double k[LR_NTK_ACT_MAX_KINKS];
        lr_ntk_act a;
        CU_ASSERT_EQUAL(lr_ntk_act_init(&a, (lr_ntk_act_id)i, NULL, 0), LR_OK);
        size_t nk = lr_ntk_act_kinks(&a, k);
        if (e->flags & LR_NTK_ACT_SMOOTH) {
            CU_ASSERT(nk == 0 && e->d1 && e->d2);
        } else {
            CU_ASSERT(nk > 0);
        }
        if (e->flags & LR_NTK_ACT_DIRAC) {
            CU_ASSERT(nk > 0 && !e->d1 && !e->d2 && lr_ntk_act_has_dirac(&a));
        }
        for (size_t j = 1; j < nk; j++) CU_ASSERT(k[j - 1] <= k[j]);
        /* defaults format and parse back to the same activation */
        lr_ntk_act b;
        CU_ASSERT_EQUAL(lr_ntk_act_parse(lr_ntk_act_format(&a, buf, sizeof buf), &b), LR_OK);
        CU_ASSERT(b.id == a.id && !memcmp(b.p, a.p, sizeof a.p));
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(names, "leaky_relu(a_minus,a_plus)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(names, "sigma_Q(b1,b2,r1,r2)"));
    CU_ASSERT_PTR_NULL(lr_ntk_act_get(LR_NTK_ACT_COUNT));
    CU_ASSERT_EQUAL(lr_ntk_act_find("rel", 3), -1);

    /* "leaky_relu(0.1,1)": a_minus = 0.1, a_plus = 1; omitted trailing parameters: defaults */
    lr_ntk_act a = act("leaky_relu(0.1,1)");
    CU_ASSERT(a.id == LR_NTK_ACT_LEAKY_RELU && a.p[0] == 0.1 && a.p[1] == 1);
    a = act(" leaky_relu ( 0.2 ) ");
    CU_ASSERT(a.p[0] == 0.2 && a.p[1] == 1);
    a = act("sigma_T(0.7, -0.5, 1.2)");
    CU_ASSERT(a.id == LR_NTK_ACT_SIGMA_T && a.p[0] == 0.7 && a.p[1] == -0.5 && a.p[2] == 1.2);
    a = act("relu()");
    CU_ASSERT(a.id == LR_NTK_ACT_RELU);
    /* parameters given separately */
    double p[] = {0.3, -1, 2};
    CU_ASSERT_EQUAL(lr_ntk_act_init(&a, LR_NTK_ACT_QUAD, p, 3), LR_OK);
    CU_ASSERT(a.p[0] == 0.3 && a.p[1] == -1 && a.p[2] == 2 && a.p[3] == 0);
    /* round trip with awkward values */
    a = act("sigma_Q(0.1,-3.3333333333333335,-0.7071067811865476,1e-300)");
    lr_ntk_act b = act(lr_ntk_act_format(&a, buf, sizeof buf));
    CU_ASSERT(!memcmp(a.p, b.p, sizeof a.p));

    const char *bad[] = {"relu6", "", "relu(1)", "leaky_relu(1,2,3)", "leaky_relu(0.1", "leaky_relu(x)",
                         "leaky_relu(0.1;1)", "tanh x", "sigma_T(1, 2, 1)", "sigma_Q(1,1,1,0)", "quad(nan)",
                         "quad(inf,0,0)", "leaky_relu(1e999)", "sigma_Q(1,2,3,4,5)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lr_ntk_act c;
        int st = lr_ntk_act_parse(bad[i], &c);
        if (st != LR_EINVAL) fprintf(stderr, "\n  \"%s\" parsed (status %d)\n", bad[i], st);
        CU_ASSERT_EQUAL(st, LR_EINVAL);
    }
    /* the unknown-name message lists the known names */
    lr_ntk_act c;
    lr_ntk_act_parse("swish", &c);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "sigma_T(a,s1,s2)"));
    CU_ASSERT_EQUAL(lr_ntk_act_init(&c, LR_NTK_ACT_COUNT, NULL, 0), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_act_init(&c, LR_NTK_ACT_RELU, p, 1), LR_EINVAL);
}

/* ---- values and derivatives ---- */

static double ref_value(const lr_ntk_act *a, double t)
{
    const double *p = a->p;
    switch (a->id) {
    case LR_NTK_ACT_RELU: return (t + fabs(t)) / 2;
    case LR_NTK_ACT_LEAKY_RELU: return p[0] * (t - fabs(t)) / 2 + p[1] * (t + fabs(t)) / 2;
    case LR_NTK_ACT_TANH: return 2 * gsl_cdf_logistic_P(2 * t, 1) - 1;
    case LR_NTK_ACT_ERF: return 2 * gsl_cdf_ugaussian_P(t * M_SQRT2) - 1;
    case LR_NTK_ACT_SIGMOID: return gsl_cdf_logistic_P(t, 1);
    case LR_NTK_ACT_SIN: return sin(t);
    case LR_NTK_ACT_COS: return cos(t);
    case LR_NTK_ACT_ABS: return t < 0 ? -t : t;
    case LR_NTK_ACT_SIGN: return (t > 0) - (t < 0);
    case LR_NTK_ACT_STEP: return t >= 0;
    case LR_NTK_ACT_LINEAR: return t;
    case LR_NTK_ACT_QUAD: return p[0] + p[1] * t + p[2] * t * t;
    case LR_NTK_ACT_SIGMA_T: return p[0] * ((t < p[1]) + (t > p[2]));
    case LR_NTK_ACT_SIGMA_Q: return p[0] * (t < p[2]) + p[1] * (t > p[3]);
    default: return NAN;
    }
}

static void test_values(void)
{
    const double ts[] = {-30, -4, -2.5, -1.2, -1, -0.5, -0.2, -1e-3, 0, 1e-3, 0.2, 0.3, 0.5, 0.9, 1, 1.2, 2, 3.7, 30};
    enum { NT = sizeof ts / sizeof ts[0] };
    double worst_fd1 = 0, worst_fd2 = 0;
    for (size_t s = 0; s < NSPECS; s++) {
        lr_ntk_act a = act(specs[s]);
        const lr_ntk_act_entry *e = lr_ntk_act_get(a.id);
        double k[LR_NTK_ACT_MAX_KINKS];
        size_t nk = lr_ntk_act_kinks(&a, k);
        int bad = 0;
        for (int i = 0; i < NT; i++) {
            double t = ts[i], r = ref_value(&a, t), f = lr_ntk_act_value(&a, t);
            if (!(fabs(f - r) <= 1e-15 * fmax(1, fabs(r)))) {
                fprintf(stderr, "\n  %s(%g) = %.17g, reference %.17g\n", specs[s], t, f, r);
                bad++;
            }
            /* derivatives against central differences, at points at least 0.05 from a kink */
            int near = 0;
            for (size_t j = 0; j < nk; j++) near |= fabs(t - k[j]) < 0.05;
            if (near || fabs(t) > 10) continue;
            const double h = 1e-5;
            if (e->d1) {
                double fd = (lr_ntk_act_value(&a, t + h) - lr_ntk_act_value(&a, t - h)) / (2 * h);
                double d = fabs(fd - lr_ntk_act_deriv1(&a, t)) / fmax(1, fabs(fd));
                worst_fd1 = fmax(worst_fd1, d);
                bad += !(d < 1e-8);
            }
            if (e->d2) {
                double fd = (lr_ntk_act_deriv1(&a, t + h) - lr_ntk_act_deriv1(&a, t - h)) / (2 * h);
                double d = fabs(fd - lr_ntk_act_deriv2(&a, t)) / fmax(1, fabs(fd));
                worst_fd2 = fmax(worst_fd2, d);
                bad += !(d < 1e-8);
            }
        }
        CU_ASSERT_EQUAL(bad, 0);
        /* the in-place kernels = the scalar functions, with scales and shift */
        for (int deriv = 0; deriv <= 2; deriv++) {
            double v[NT];
            memcpy(v, ts, sizeof v);
            int st = lr_ntk_act_map(&a, deriv, 0.7, 0.25, 1.5, v, NT);
            double (*sc)(const lr_ntk_act *, double) =
                deriv == 0 ? lr_ntk_act_value : deriv == 1 ? lr_ntk_act_deriv1 : lr_ntk_act_deriv2;
            int has = deriv == 0 || (deriv == 1 ? e->d1 != NULL : e->d2 != NULL);
            CU_ASSERT_EQUAL(st, has ? LR_OK : LR_EINVAL);
            if (has) {
                for (int i = 0; i < NT; i++) CU_ASSERT_EQUAL(v[i], 1.5 * (sc(&a, 0.7 * ts[i]) - 0.25));
            } else {
                CU_ASSERT(isnan(sc(&a, 1.0)));
            }
        }
        double v[NT];
        memcpy(v, ts, sizeof v);
        CU_ASSERT_EQUAL(lr_ntk_act_apply(&a, v, NT), LR_OK);
        for (int i = 0; i < NT; i++) CU_ASSERT_EQUAL(v[i], lr_ntk_act_value(&a, ts[i]));
    }
    /* A piecewise-constant activation without jumps is a constant: derivatives 0, no Dirac. */
    lr_ntk_act z = act("sigma_T(0, -1, 1)");
    CU_ASSERT(!lr_ntk_act_has_dirac(&z));
    double v[3] = {-2, 0, 2};
    CU_ASSERT_EQUAL(lr_ntk_act_map(&z, 1, 1, 0, 1, v, 3), LR_OK);
    CU_ASSERT(v[0] == 0 && v[1] == 0 && v[2] == 0);
    CU_ASSERT_EQUAL(lr_ntk_act_map(&z, 3, 1, 0, 1, v, 3), LR_EINVAL);
    printf("\n    sigma' vs central differences: %.1e, sigma'': %.1e (h = 1e-5) ", worst_fd1, worst_fd2);
}

/* ---- key quantities ---- */

static int close_to(double a, double b, double tol) { return (isinf(a) && a == b) || fabs(a - b) <= tol * fmax(1.0, fabs(b)); }

static double keyq_dev(const lr_ntk_keyq *a, const lr_ntk_keyq *b)
{
    double d = 0;
    const double x[] = {a->mean, a->d1, a->d2, a->sq2, a->var, a->d1sq};
    const double y[] = {b->mean, b->d1, b->d2, b->sq2, b->var, b->d1sq};
    for (int i = 0; i < 6; i++) {
        if (isinf(x[i]) || isinf(y[i])) {
            if (x[i] != y[i]) return INFINITY;
            continue;
        }
        d = fmax(d, fabs(x[i] - y[i]) / fmax(1.0, fabs(y[i])));
    }
    return d;
}

static void test_closed_vs_quad(void)
{
    lr_ntk_keyq_ws *ws = lr_ntk_keyq_ws_alloc(LR_NTK_QUAD_LIMIT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ws);
    double worst = 0, worst_err = 0;
    const char *worst_at = "";
    size_t checked = 0;
    for (size_t s = 0; s < NSPECS; s++) {
        lr_ntk_act a = act(specs[s]);
        if (!lr_ntk_keyq_has_closed(a.id)) continue;
        for (size_t t = 0; t < sizeof taus / sizeof taus[0]; t++) {
            lr_ntk_keyq c, q, e;
            CU_ASSERT_EQUAL_FATAL(lr_ntk_keyq_closed(&a, taus[t], &c), LR_OK);
            int st = lr_ntk_keyq_quad(&a, taus[t], NULL, ws, &q, &e);
            CU_ASSERT_EQUAL(st, LR_OK);
            if (st) {
                fprintf(stderr, "\n  %s: %s\n", specs[s], lr_last_error());
                continue;
            }
            double d = keyq_dev(&q, &c);
            if (!(d <= CLOSED_VS_QUAD_TOL))
                fprintf(stderr,
                        "\n  %s tau %g: closed (%.15g %.15g %.15g %.15g %.15g %.15g)\n"
                        "      quad (%.15g %.15g %.15g %.15g %.15g %.15g)\n",
                        specs[s], taus[t], c.mean, c.d1, c.d2, c.sq2, c.var, c.d1sq, q.mean, q.d1, q.d2, q.sq2,
                        q.var, q.d1sq);
            CU_ASSERT(d <= CLOSED_VS_QUAD_TOL);
            CU_ASSERT(c.tau == taus[t] && q.tau == taus[t]);
            if (d > worst) worst = d, worst_at = specs[s];
            worst_err = fmax(worst_err, fmax(fmax(e.mean, e.d1), fmax(fmax(e.d2, e.sq2), e.var)));
            /* lr_ntk_keyq_eval picks the closed form */
            lr_ntk_keyq k;
            CU_ASSERT_EQUAL(lr_ntk_keyq_eval(&a, taus[t], NULL, ws, &k), LR_OK);
            CU_ASSERT(!memcmp(&k, &c, sizeof k));
            checked++;
        }
    }
    printf("\n    closed form vs quadrature: %zu cases, largest deviation %.1e (%s), largest GSL error "
           "estimate %.1e ",
           checked, worst, worst_at, worst_err);
    CU_ASSERT(checked >= 3 * 20);
    lr_ntk_keyq_ws_free(ws);
}

/* THEORY's centred ReLU, and its sigma_T formulas. */
static void test_relu_and_sigma_T(void)
{
    lr_ntk_act relu = act("relu");
    const double phi0 = 1 / sqrt(2 * M_PI);
    for (size_t t = 0; t < sizeof taus / sizeof taus[0]; t++) {
        double tau = taus[t];
        lr_ntk_keyq c, q;
        CU_ASSERT_EQUAL(lr_ntk_keyq_closed(&relu, tau, &c), LR_OK);
        CU_ASSERT_EQUAL(lr_ntk_keyq_quad(&relu, tau, NULL, NULL, &q, NULL), LR_OK);
        CU_ASSERT_EQUAL(c.d1, 0.5); /* exactly: the test of the other half's alpha_{3,1} = 1/64 */
        LR_TEST_REL(q.d1, 0.5, 1e-12, "relu E sigma' by quadrature");
        LR_TEST_REL(c.d2, 1 / (sqrt(2 * M_PI) * tau), 1e-15, "relu E sigma''");
        LR_TEST_REL(q.d2, 1 / (sqrt(2 * M_PI) * tau), 1e-11, "relu E sigma'' by quadrature");
        LR_TEST_REL(c.sq2, 1 - 1 / M_PI, 1e-15, "centred relu E (sigma_c^2)''");
        LR_TEST_REL(q.sq2, 1 - 1 / M_PI, 1e-11, "centred relu E (sigma_c^2)'' by quadrature");
        LR_TEST_REL(c.var, tau * tau * (0.5 - 0.5 / M_PI), 1e-15, "relu Var");
        LR_TEST_REL(q.var, tau * tau * (0.5 - 0.5 / M_PI), 1e-11, "relu Var by quadrature");
        LR_TEST_REL(c.mean, tau * phi0, 1e-15, "relu mean");
        LR_TEST_REL(c.d1sq, 0.5, 1e-15, "relu E sigma'^2");
        LR_TEST_REL(q.d1sq, 0.5, 1e-12, "relu E sigma'^2 by quadrature");
        /* the uncentred E (relu^2)'' is 1: the centring is what gives 1 - 1/pi */
        LR_TEST_REL(c.sq2 + 2 * c.mean * c.d2, 1.0, 1e-15, "uncentred relu E (sigma^2)''");
    }
    /* sigma_T: (a / tau)(phi(u2) - phi(u1)) and (a / tau^2)(u2 phi(u2) - u1 phi(u1)) */
    const double par[][3] = {{1, -1, 1}, {0.7, -0.5, 1.2}, {2, 0.3, 0.3}, {1.5, -2.5, -1}, {0.4, 0.1, 3}};
    for (size_t i = 0; i < sizeof par / sizeof par[0]; i++)
        for (size_t t = 0; t < sizeof taus / sizeof taus[0]; t++) {
            lr_ntk_act a;
            CU_ASSERT_EQUAL(lr_ntk_act_init(&a, LR_NTK_ACT_SIGMA_T, par[i], 3), LR_OK);
            double tau = taus[t], A = par[i][0], u1 = par[i][1] / tau, u2 = par[i][2] / tau;
            double f1 = gsl_ran_ugaussian_pdf(u1), f2 = gsl_ran_ugaussian_pdf(u2);
            lr_ntk_keyq c;
            CU_ASSERT_EQUAL(lr_ntk_keyq_closed(&a, tau, &c), LR_OK);
            LR_ASSERT_CLOSE(c.d1, A / tau * (f2 - f1), 1e-15);
            LR_ASSERT_CLOSE(c.d2, A / (tau * tau) * (u2 * f2 - u1 * f1), 1e-15);
            double P = gsl_cdf_ugaussian_P(u1) + gsl_cdf_ugaussian_Q(u2);
            LR_ASSERT_CLOSE(c.mean, A * P, 1e-15);
            LR_ASSERT_CLOSE(c.var, A * A * P * (1 - P), 1e-15);
            CU_ASSERT(isinf(c.d1sq) && c.d1sq > 0);
        }
}

/* Integration by parts against direct integration of sigma' and sigma'' (piecewise, GSL qag
 * per piece: the test's own plain integrator), and against a fixed 200-node Gauss-Hermite
 * rule (gsl_integration_fixed) for the smooth activations, tanh and sigmoid included. */
typedef struct direct_arg {
    const lr_ntk_act *a;
    double tau;
    int deriv;
} direct_arg;

static double direct_fn(double x, void *p)
{
    const direct_arg *d = p;
    double t = d->tau * x, phi = gsl_ran_ugaussian_pdf(x);
    if (phi == 0) return 0;
    return (d->deriv == 1 ? lr_ntk_act_deriv1(d->a, t) : lr_ntk_act_deriv2(d->a, t)) * phi;
}

static double direct(const lr_ntk_act *a, double tau, int deriv, gsl_integration_workspace *w)
{
    double k[LR_NTK_ACT_MAX_KINKS], b[LR_NTK_ACT_MAX_KINKS + 2];
    size_t nk = lr_ntk_act_kinks(a, k), nb = 0;
    /* [-40, 40] cut at the kinks, or at 0 for a smooth sigma: an odd integrand over the whole
     * line integrates to 0, where GSL's relative tolerance cannot be met */
    b[nb++] = -40;
    for (size_t i = 0; i < nk; i++) b[nb++] = k[i] / tau;
    if (!nk) b[nb++] = 0;
    b[nb++] = 40;
    direct_arg d = {a, tau, deriv};
    gsl_function F = {direct_fn, &d};
    double sum = 0;
    for (size_t i = 0; i + 1 < nb; i++) {
        double r, e;
        int st = gsl_integration_qag(&F, b[i], b[i + 1], 1e-14, 1e-13, 1000, GSL_INTEG_GAUSS61, w, &r, &e);
        if (st) fprintf(stderr, "\n  direct %s tau %g deriv %d: %s (%g +- %g)\n", lr_ntk_act_get(a->id)->name, tau, deriv, gsl_strerror(st), r, e);
        CU_ASSERT_EQUAL(st, 0);
        sum += r;
    }
    return sum;
}

static void test_ibp_vs_direct(void)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
    /* GSL's Hermite rule has weight exp(-a (x - b)^2): a = 1/2 is the standard normal's. */
    gsl_integration_fixed_workspace *gh = gsl_integration_fixed_alloc(gsl_integration_fixed_hermite, 200, 0, 0.5, 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gh);
    const double *x = gsl_integration_fixed_nodes(gh), *wt = gsl_integration_fixed_weights(gh);
    const double norm = 1 / sqrt(2 * M_PI);
    double worst_d1 = 0, worst_d2 = 0, worst_gh = 0;
    size_t cases = 0;
    for (size_t s = 0; s < NSPECS; s++) {
        lr_ntk_act a = act(specs[s]);
        const lr_ntk_act_entry *e = lr_ntk_act_get(a.id);
        if (!e->d1) continue;
        for (size_t t = 0; t < sizeof taus / sizeof taus[0]; t++) {
            double tau = taus[t];
            lr_ntk_keyq q;
            CU_ASSERT_EQUAL_FATAL(lr_ntk_keyq_quad(&a, tau, NULL, NULL, &q, NULL), LR_OK);
            double d1 = direct(&a, tau, 1, w);
            worst_d1 = fmax(worst_d1, fabs(q.d1 - d1) / fmax(1, fabs(d1)));
            CU_ASSERT(close_to(q.d1, d1, 1e-10));
            if (e->d2) {
                double d2 = direct(&a, tau, 2, w);
                worst_d2 = fmax(worst_d2, fabs(q.d2 - d2) / fmax(1, fabs(d2)));
                CU_ASSERT(close_to(q.d2, d2, 1e-10));
            }
            /* Gauss-Hermite converges slowly for a steep sigma (tanh(2.5 t) has poles at
             * t = i pi / 5: 6e-5 with 200 nodes), which is why the library integrates
             * adaptively; so the fixed rule checks tau <= 1 only. */
            if ((e->flags & LR_NTK_ACT_SMOOTH) && tau <= 1) {
                /* every field by the fixed rule: E f(xi) = sum w_i f(x_i) / sqrt(2 pi) */
                double m = 0, g1 = 0, g2 = 0, v = 0, s2 = 0, dd = 0;
                for (size_t i = 0; i < 200; i++) m += wt[i] * lr_ntk_act_value(&a, tau * x[i]);
                m *= norm;
                for (size_t i = 0; i < 200; i++) {
                    double f = lr_ntk_act_value(&a, tau * x[i]), c = f - m, d = lr_ntk_act_deriv1(&a, tau * x[i]);
                    g1 += wt[i] * d, g2 += wt[i] * lr_ntk_act_deriv2(&a, tau * x[i]);
                    v += wt[i] * c * c, dd += wt[i] * d * d;
                    /* (sigma_c^2)'' = 2 sigma'^2 + 2 sigma_c sigma'' */
                    s2 += wt[i] * (2 * d * d + 2 * c * lr_ntk_act_deriv2(&a, tau * x[i]));
                }
                lr_ntk_keyq g = {tau, m, g1 * norm, g2 * norm, s2 * norm, v * norm, dd * norm};
                double dev = keyq_dev(&q, &g);
                worst_gh = fmax(worst_gh, dev);
                if (!(dev < 1e-10)) fprintf(stderr, "\n  GH %s tau %g: %.2e\n", specs[s], tau, dev);
                CU_ASSERT(dev < 1e-10);
            }
            cases++;
        }
    }
    printf("\n    by parts vs direct: E sigma' %.1e, E sigma'' %.1e; vs Gauss-Hermite (200) %.1e, %zu cases ",
           worst_d1, worst_d2, worst_gh, cases);
    gsl_integration_fixed_free(gh);
    gsl_integration_workspace_free(w);
}

static void test_dirac_and_errors(void)
{
    const char *dirac[] = {"sign", "step", "sigma_T", "sigma_T(0.5,0,0)", "sigma_Q", "sigma_Q(0,1,0,1)"};
    for (size_t i = 0; i < sizeof dirac / sizeof dirac[0]; i++) {
        lr_ntk_act a = act(dirac[i]);
        lr_ntk_keyq c, q;
        CU_ASSERT(lr_ntk_act_has_dirac(&a));
        CU_ASSERT_EQUAL(lr_ntk_keyq_closed(&a, 1.0, &c), LR_OK);
        CU_ASSERT_EQUAL(lr_ntk_keyq_quad(&a, 1.0, NULL, NULL, &q, NULL), LR_OK);
        CU_ASSERT(isinf(c.d1sq) && c.d1sq > 0 && isinf(q.d1sq) && q.d1sq > 0);
    }
    /* no jumps: a constant, whose derivative is 0 */
    lr_ntk_act z = act("sigma_Q(0,0,-1,1)");
    lr_ntk_keyq c, q;
    CU_ASSERT_EQUAL(lr_ntk_keyq_closed(&z, 1.0, &c), LR_OK);
    CU_ASSERT_EQUAL(lr_ntk_keyq_quad(&z, 1.0, NULL, NULL, &q, NULL), LR_OK);
    CU_ASSERT(c.d1sq == 0 && q.d1sq == 0 && c.var == 0 && q.var == 0);
    /* no ReLU-like activation has a Dirac sigma' */
    const char *fine[] = {"relu", "leaky_relu", "abs", "tanh", "quad"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        lr_ntk_act a = act(fine[i]);
        CU_ASSERT(!lr_ntk_act_has_dirac(&a));
    }
    /* argument checks */
    lr_ntk_act relu = act("relu"), th = act("tanh");
    const double badtau[] = {0, -1, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(lr_ntk_keyq_closed(&relu, badtau[i], &c), LR_EINVAL);
        CU_ASSERT_EQUAL(lr_ntk_keyq_quad(&relu, badtau[i], NULL, NULL, &c, NULL), LR_EINVAL);
        CU_ASSERT_EQUAL(lr_ntk_keyq_eval(&relu, badtau[i], NULL, NULL, &c), LR_EINVAL);
    }
    CU_ASSERT(!lr_ntk_keyq_has_closed(LR_NTK_ACT_TANH) && !lr_ntk_keyq_has_closed(LR_NTK_ACT_SIGMOID));
    CU_ASSERT_EQUAL(lr_ntk_keyq_closed(&th, 1.0, &c), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_ntk_keyq_eval(&th, 1.0, NULL, NULL, &c), LR_OK); /* falls back to quadrature */
    lr_ntk_quad_opts o = lr_ntk_quad_defaults();
    o.epsabs = o.epsrel = 0;
    CU_ASSERT_EQUAL(lr_ntk_keyq_quad(&th, 1.0, &o, NULL, &c, NULL), LR_EINVAL);
    /* an unreachable tolerance is a numerical failure, reported, not a silent answer */
    o = lr_ntk_quad_defaults();
    o.epsabs = 0, o.epsrel = 1e-300, o.limit = 3;
    CU_ASSERT_EQUAL(lr_ntk_keyq_quad(&th, 1.0, &o, NULL, &c, NULL), LR_ENUMERIC);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "tanh"));
    lr_ntk_act none = {.id = LR_NTK_ACT_COUNT};
    CU_ASSERT_EQUAL(lr_ntk_keyq_quad(&none, 1.0, NULL, NULL, &c, NULL), LR_EINVAL);
}

void lr_tests_ntk_act(void)
{
    CU_pSuite s = CU_add_suite("ntk/act: activations and key quantities", NULL, NULL);
    CU_add_test(s, "registry: names, parameters, parser, round trip", test_registry);
    CU_add_test(s, "values = formulas; kernels = scalars; derivatives = finite differences", test_values);
    CU_add_test(s, "key quantities: closed form = quadrature (1e-10)", test_closed_vs_quad);
    CU_add_test(s, "centred ReLU (THEORY) and sigma_T's closed forms", test_relu_and_sigma_T);
    CU_add_test(s, "integration by parts = direct integration; Gauss-Hermite", test_ibp_vs_direct);
    CU_add_test(s, "Dirac masses: E sigma'^2 = inf; argument checks", test_dirac_and_errors);
}
