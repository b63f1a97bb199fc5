/* The NTK kind's activation registry (see act.h): scalar functions, kinks, the table, the
 * lookup and the parser, the in-place kernels. */
#include "act.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* ---- the scalar functions: f_<name>, d1_<name>, d2_<name>, kinks_<name> ----
 * Written with selects rather than branches where the function is piecewise, so that the
 * loops of lr_ntk_act_map vectorise. */

static inline double f_relu(double t, const double *p) { return (void)p, t > 0 ? t : 0.0; }
static inline double d1_relu(double t, const double *p) { return (void)p, t > 0 ? 1.0 : 0.0; }

static inline double f_leaky_relu(double t, const double *p) { return t >= 0 ? p[1] * t : p[0] * t; }
static inline double d1_leaky_relu(double t, const double *p) { return t >= 0 ? p[1] : p[0]; }

static inline double f_tanh(double t, const double *p) { return (void)p, tanh(t); }
static inline double d1_tanh(double t, const double *p)
{
    (void)p;
    double y = tanh(t);
    return 1.0 - y * y;
}
static inline double d2_tanh(double t, const double *p)
{
    (void)p;
    double y = tanh(t);
    return -2.0 * y * (1.0 - y * y);
}

/* erf' = (2 / sqrt pi) e^{-t^2}, erf'' = -2 t erf'. */
static inline double f_erf(double t, const double *p) { return (void)p, erf(t); }
static inline double d1_erf(double t, const double *p) { return (void)p, M_2_SQRTPI * exp(-t * t); }
static inline double d2_erf(double t, const double *p) { return (void)p, -2.0 * t * M_2_SQRTPI * exp(-t * t); }

/* s(t) = 1 / (1 + e^{-t}) (e^{-t} = inf for t < -709 gives 0, as it should);
 * s' = s(t) s(-t), written so, because 1 - s(t) cancels for t >> 0;
 * s'' = s' (1 - 2 s) = -s' tanh(t / 2), for the same reason. */
static inline double f_sigmoid(double t, const double *p) { return (void)p, 1.0 / (1.0 + exp(-t)); }
static inline double d1_sigmoid(double t, const double *p)
{
    (void)p;
    return 1.0 / ((1.0 + exp(-t)) * (1.0 + exp(t)));
}
static inline double d2_sigmoid(double t, const double *p) { return -d1_sigmoid(t, p) * tanh(0.5 * t); }

static inline double f_sin(double t, const double *p) { return (void)p, sin(t); }
static inline double d1_sin(double t, const double *p) { return (void)p, cos(t); }
static inline double d2_sin(double t, const double *p) { return (void)p, -sin(t); }

static inline double f_cos(double t, const double *p) { return (void)p, cos(t); }
static inline double d1_cos(double t, const double *p) { return (void)p, -sin(t); }
static inline double d2_cos(double t, const double *p) { return (void)p, -cos(t); }

static inline double f_abs(double t, const double *p) { return (void)p, fabs(t); }
static inline double d1_abs(double t, const double *p) { return (void)p, t > 0 ? 1.0 : (t < 0 ? -1.0 : 0.0); }

static inline double f_sign(double t, const double *p) { return (void)p, t > 0 ? 1.0 : (t < 0 ? -1.0 : 0.0); }
static inline double f_step(double t, const double *p) { return (void)p, t >= 0 ? 1.0 : 0.0; }

static inline double f_linear(double t, const double *p) { return (void)p, t; }
static inline double d1_linear(double t, const double *p) { return (void)p, (void)t, 1.0; }
static inline double d2_linear(double t, const double *p) { return (void)p, (void)t, 0.0; }

static inline double f_quad(double t, const double *p) { return p[0] + t * (p[1] + t * p[2]); }
static inline double d1_quad(double t, const double *p) { return p[1] + 2.0 * p[2] * t; }
static inline double d2_quad(double t, const double *p) { return (void)t, 2.0 * p[2]; }

static inline double f_sigma_T(double t, const double *p)
{
    return (t < p[1] ? p[0] : 0.0) + (t > p[2] ? p[0] : 0.0);
}
static inline double f_sigma_Q(double t, const double *p)
{
    return (t < p[2] ? p[0] : 0.0) + (t > p[3] ? p[1] : 0.0);
}

static size_t kinks_none(const double *p, double *out) { return (void)p, (void)out, 0; }
static size_t kinks_zero(const double *p, double *out) { return (void)p, out[0] = 0.0, 1; }
static size_t kinks_sigma_T(const double *p, double *out) { return out[0] = p[1], out[1] = p[2], 2; }
static size_t kinks_sigma_Q(const double *p, double *out) { return out[0] = p[2], out[1] = p[3], 2; }
#define kinks_relu kinks_zero
#define kinks_leaky_relu kinks_zero
#define kinks_abs kinks_zero
#define kinks_sign kinks_zero
#define kinks_step kinks_zero
#define kinks_tanh kinks_none
#define kinks_erf kinks_none
#define kinks_sigmoid kinks_none
#define kinks_sin kinks_none
#define kinks_cos kinks_none
#define kinks_linear kinks_none
#define kinks_quad kinks_none

/* LR_NTK_SEL_<0|1>(x): x when the entry has that derivative, nothing (or NULL) otherwise. */
#define LR_NTK_SEL_0(x)
#define LR_NTK_SEL_1(x) x
#define LR_NTK_PTR_0(f) NULL
#define LR_NTK_PTR_1(f) f

static const lr_ntk_act_entry entries[LR_NTK_ACT_COUNT] = {
#define LR_NTK_ACT_ENTRY(ID, nm, np, pn, def, fl, h1, h2)                                      \
    [LR_NTK_ACT_##ID] = {.name = #nm,                                                          \
                         .nparams = np,                                                        \
                         .params = pn,                                                         \
                         .defaults = def,                                                      \
                         .flags = fl,                                                          \
                         .fn = f_##nm,                                                         \
                         .d1 = LR_NTK_PTR_##h1(d1_##nm),                                       \
                         .d2 = LR_NTK_PTR_##h2(d2_##nm),                                       \
                         .kinks = kinks_##nm},
    LR_NTK_ACT_LIST(LR_NTK_ACT_ENTRY)
#undef LR_NTK_ACT_ENTRY
};

const lr_ntk_act_entry *lr_ntk_act_get(lr_ntk_act_id id)
{
    return (unsigned)id < LR_NTK_ACT_COUNT ? &entries[id] : NULL;
}

int lr_ntk_act_find(const char *name, size_t len)
{
    for (int i = 0; i < LR_NTK_ACT_COUNT; i++)
        if (strlen(entries[i].name) == len && !strncmp(entries[i].name, name, len)) return i;
    return -1;
}

const char *lr_ntk_act_names(char *buf, size_t size)
{
    size_t used = 0;
    if (size) buf[0] = '\0';
    for (int i = 0; i < LR_NTK_ACT_COUNT && used < size; i++) {
        const lr_ntk_act_entry *e = &entries[i];
        int w = snprintf(buf + used, size - used, "%s%s%s%s%s", i ? ", " : "", e->name,
                         e->nparams ? "(" : "", e->params, e->nparams ? ")" : "");
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

int lr_ntk_act_init(lr_ntk_act *a, lr_ntk_act_id id, const double *p, size_t np)
{
    const lr_ntk_act_entry *e = lr_ntk_act_get(id);
    if (!e) LR_ERRORF(LR_EINVAL, "lr_ntk_act_init: no activation %d (%d known)", (int)id, LR_NTK_ACT_COUNT);
    if (np > e->nparams)
        LR_ERRORF(LR_EINVAL, "activation %s takes %zu parameter(s) (%s), %zu given", e->name, e->nparams,
                  e->nparams ? e->params : "none", np);
    if (np && !p) LR_ERROR(LR_EINVAL, "lr_ntk_act_init: NULL parameters");
    lr_ntk_act b = {.id = id};
    for (size_t k = 0; k < LR_NTK_ACT_MAX_PARAMS; k++) b.p[k] = k < np ? p[k] : e->defaults[k];
    for (size_t k = 0; k < e->nparams; k++)
        if (!isfinite(b.p[k]))
            LR_ERRORF(LR_EINVAL, "activation %s: parameter %zu (of %s) is not finite", e->name, k + 1, e->params);
    /* The thresholds must be in order: sigma_T and sigma_Q with crossed thresholds would be
     * other functions (with a middle level where none was meant). */
    if (id == LR_NTK_ACT_SIGMA_T && !(b.p[1] <= b.p[2]))
        LR_ERRORF(LR_EINVAL, "sigma_T(a,s1,s2) needs s1 <= s2 (s1 = %g, s2 = %g)", b.p[1], b.p[2]);
    if (id == LR_NTK_ACT_SIGMA_Q && !(b.p[2] <= b.p[3]))
        LR_ERRORF(LR_EINVAL, "sigma_Q(b1,b2,r1,r2) needs r1 <= r2 (r1 = %g, r2 = %g)", b.p[2], b.p[3]);
    *a = b;
    return LR_OK;
}

int lr_ntk_act_parse(const char *spec, lr_ntk_act *a)
{
    char names[512];
    if (!spec) LR_ERROR(LR_EINVAL, "lr_ntk_act_parse: NULL name");
    const char *s = spec;
    while (isspace((unsigned char)*s)) s++;
    const char *name = s;
    while (isalnum((unsigned char)*s) || *s == '_') s++;
    size_t len = (size_t)(s - name);
    int id = lr_ntk_act_find(name, len);
    if (id < 0)
        LR_ERRORF(LR_EINVAL, "unknown activation \"%s\" (known: %s)", spec, lr_ntk_act_names(names, sizeof names));
    double p[LR_NTK_ACT_MAX_PARAMS] = {0};
    size_t np = 0;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '(') {
        s++;
        for (;;) {
            while (isspace((unsigned char)*s)) s++;
            if (*s == ')' && np == 0) break; /* "name()" */
            if (np == LR_NTK_ACT_MAX_PARAMS)
                LR_ERRORF(LR_EINVAL, "activation \"%s\": too many parameters", spec);
            char *end;
            errno = 0;
            p[np] = strtod(s, &end);
            if (end == s || errno == ERANGE)
                LR_ERRORF(LR_EINVAL, "activation \"%s\": parameter %zu is not a number", spec, np + 1);
            np++;
            s = end;
            while (isspace((unsigned char)*s)) s++;
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s == ')') break;
            LR_ERRORF(LR_EINVAL, "activation \"%s\": expected ',' or ')' after parameter %zu", spec, np);
        }
        s++;
        while (isspace((unsigned char)*s)) s++;
    }
    if (*s) LR_ERRORF(LR_EINVAL, "activation \"%s\": unexpected \"%s\"", spec, s);
    return lr_ntk_act_init(a, (lr_ntk_act_id)id, p, np);
}

const char *lr_ntk_act_format(const lr_ntk_act *a, char *buf, size_t size)
{
    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    if (!size) return buf;
    buf[0] = '\0';
    if (!e) return buf;
    size_t used = 0;
    int w = snprintf(buf, size, "%s", e->name);
    if (w < 0) return buf;
    used = (size_t)w;
    for (size_t k = 0; k < e->nparams && used < size; k++) {
        w = snprintf(buf + used, size - used, "%s%.17g%s", k ? "," : "(", a->p[k], k + 1 == e->nparams ? ")" : "");
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

double lr_ntk_act_value(const lr_ntk_act *a, double t)
{
    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    return e ? e->fn(t, a->p) : NAN;
}

double lr_ntk_act_deriv1(const lr_ntk_act *a, double t)
{
    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    return e && e->d1 ? e->d1(t, a->p) : NAN;
}

double lr_ntk_act_deriv2(const lr_ntk_act *a, double t)
{
    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    return e && e->d2 ? e->d2(t, a->p) : NAN;
}

size_t lr_ntk_act_kinks(const lr_ntk_act *a, double *out)
{
    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    return e ? e->kinks(a->p, out) : 0;
}

int lr_ntk_act_has_dirac(const lr_ntk_act *a)
{
    switch (a->id) {
    case LR_NTK_ACT_SIGN:
    case LR_NTK_ACT_STEP: return 1;
    case LR_NTK_ACT_SIGMA_T: return a->p[0] != 0;
    case LR_NTK_ACT_SIGMA_Q: return a->p[0] != 0 || a->p[1] != 0;
    default: return 0;
    }
}

/* The dispatch: per entry and derivative order one loop with the scalar function inlined. */
#define LR_NTK_LOOP(fn)                                                                        \
    do {                                                                                       \
        LR_NTK_SIMD for (size_t i = 0; i < n; i++) v[i] = out_scale * (fn(in_scale * v[i], p) - shift); \
        return LR_OK;                                                                          \
    } while (0)

int lr_ntk_act_map(const lr_ntk_act *a, int deriv, double in_scale, double shift, double out_scale,
                   double *v, size_t n)
{
    const lr_ntk_act_entry *e = lr_ntk_act_get(a->id);
    if (!e) LR_ERRORF(LR_EINVAL, "lr_ntk_act_map: no activation %d (%d known)", (int)a->id, LR_NTK_ACT_COUNT);
    if (deriv < 0 || deriv > 2) LR_ERRORF(LR_EINVAL, "lr_ntk_act_map: derivative order %d (0, 1 or 2)", deriv);
    /* A local copy of the parameters: v cannot alias it, so the loops need not reload them. */
    const double p[LR_NTK_ACT_MAX_PARAMS] = {a->p[0], a->p[1], a->p[2], a->p[3]};
    switch (deriv) {
    case 0:
        switch (a->id) {
#define LR_NTK_CASE0(ID, nm, np, pn, def, fl, h1, h2) \
    case LR_NTK_ACT_##ID: LR_NTK_LOOP(f_##nm);
            LR_NTK_ACT_LIST(LR_NTK_CASE0)
#undef LR_NTK_CASE0
        default: break;
        }
        break;
    case 1:
        switch (a->id) {
#define LR_NTK_CASE1(ID, nm, np, pn, def, fl, h1, h2) \
    LR_NTK_SEL_##h1(case LR_NTK_ACT_##ID : LR_NTK_LOOP(d1_##nm);)
            LR_NTK_ACT_LIST(LR_NTK_CASE1)
#undef LR_NTK_CASE1
        default: break;
        }
        break;
    default:
        switch (a->id) {
#define LR_NTK_CASE2(ID, nm, np, pn, def, fl, h1, h2) \
    LR_NTK_SEL_##h2(case LR_NTK_ACT_##ID : LR_NTK_LOOP(d2_##nm);)
            LR_NTK_ACT_LIST(LR_NTK_CASE2)
#undef LR_NTK_CASE2
        default: break;
        }
        break;
    }
    /* A piecewise-constant activation without jumps is a constant: its derivatives are 0. */
    if ((e->flags & LR_NTK_ACT_DIRAC) && !lr_ntk_act_has_dirac(a)) {
        for (size_t i = 0; i < n; i++) v[i] = -out_scale * shift;
        return LR_OK;
    }
    LR_ERRORF(LR_EINVAL, "activation %s: sigma%s is not a function (it holds a Dirac mass)", e->name,
              deriv == 1 ? "'" : "''");
}

int lr_ntk_act_apply(const lr_ntk_act *a, double *v, size_t n) { return lr_ntk_act_map(a, 0, 1.0, 0.0, 1.0, v, n); }
