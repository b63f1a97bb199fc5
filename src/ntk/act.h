/* The activations of the NTK kind (docs/theory.md section 5; Gu et al., NeurIPS 2022), one registry.
 *
 * This is not the forward-pass registry of src/nn/activation.h: the NTK kind needs more of
 * each activation than its value.  An entry carries the value sigma(t), its first and second
 * derivatives where they exist as functions, its kinks (the points where sigma or sigma' is
 * not smooth: the breakpoints of every piecewise quadrature in src/ntk/), whether sigma'
 * holds a Dirac mass (then E sigma'^2 and the NTK do not exist), and up to
 * LR_NTK_ACT_MAX_PARAMS real parameters with defaults.
 *
 * LR_NTK_ACT_LIST is the single source: ids, the table, the lookup, the dispatch of the
 * in-place kernels and the list of names follow from it.  To add an activation: one X(...)
 * line here, and its scalar functions and kinks in act.c.
 *
 *   relu                  max(t, 0)
 *   leaky_relu(a_minus,a_plus)  a_plus t for t >= 0, a_minus t for t < 0 (defaults 0.01, 1)
 *   tanh, erf, sigmoid    tanh t, erf t, 1 / (1 + e^-t)
 *   sin, cos              sin t, cos t
 *   abs                   |t|
 *   sign                  sign t (sign 0 = 0)
 *   step                  1_{t >= 0}
 *   linear                t
 *   quad(c0,c1,c2)        c0 + c1 t + c2 t^2 (defaults 0, 0, 1)
 *   sigma_T(a,s1,s2)      a (1_{t < s1} + 1_{t > s2}), s1 <= s2 (defaults 1, -1, 1): the
 *                         two-level activation of the compressed network's hidden layers
 *   sigma_Q(b1,b2,r1,r2)  b1 1_{t < r1} + b2 1_{t > r2}, r1 <= r2 (defaults -1, 1, -1, 1)
 *
 * Why sigma_Q is b1 1_{t<r1} + b2 1_{t>r2}.  A piecewise-constant function with two
 * thresholds has three values; the most general one, m + (b1 - m) 1_{t<r1} + (b2 - m)
 * 1_{t>r2}, differs from this form only by the constant m, and every quantity the NTK kind
 * uses (the centred activation, its derivatives, the kernels of the centred network) is
 * blind to an added constant.  So the middle level is fixed at 0 and the two outer levels
 * and the two thresholds are free: the three-value function with the fewest parameters, the
 * outer levels independent (unlike sigma_T's single level), and sigma_T is its case
 * b1 = b2 = a.  Thresholds with r1 > r2 (or s1 > s2) are rejected rather than
 * reinterpreted, so that a parameter vector means one function.
 *
 * Derivatives "as functions": relu', leaky_relu' and abs' are the step-like functions
 * (discontinuous at 0: their second derivatives are Dirac masses, so d2 is NULL); the
 * piecewise-constant activations (sign, step, sigma_T, sigma_Q) have sigma' = Dirac masses,
 * so d1 and d2 are NULL and lr_ntk_act_has_dirac says so (unless all their jumps are 0). */
#ifndef LR_NTK_ACT_H
#define LR_NTK_ACT_H

#include <stddef.h>

#define LR_NTK_ACT_MAX_PARAMS 4
#define LR_NTK_ACT_MAX_KINKS 2

/* Entry flags. */
#define LR_NTK_ACT_SMOOTH 1u /* infinitely differentiable: no kinks */
#define LR_NTK_ACT_DIRAC 2u  /* sigma' holds a Dirac mass (for parameters with a non-zero jump) */

/* X(ID, name, number of parameters, parameter names, defaults, flags, has d1, has d2).
 * "has d1" / "has d2" (0 or 1): the derivative exists as a function. */
#define LR_NTK_ACT_LIST(X)                                                                 \
    X(RELU, relu, 0, "", LR_NTK_P(0, 0, 0, 0), 0, 1, 0)                                  \
    X(LEAKY_RELU, leaky_relu, 2, "a_minus,a_plus", LR_NTK_P(0.01, 1, 0, 0), 0, 1, 0)     \
    X(TANH, tanh, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_SMOOTH, 1, 1)                  \
    X(ERF, erf, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_SMOOTH, 1, 1)                    \
    X(SIGMOID, sigmoid, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_SMOOTH, 1, 1)            \
    X(SIN, sin, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_SMOOTH, 1, 1)                    \
    X(COS, cos, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_SMOOTH, 1, 1)                    \
    X(ABS, abs, 0, "", LR_NTK_P(0, 0, 0, 0), 0, 1, 0)                                    \
    X(SIGN, sign, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_DIRAC, 0, 0)                   \
    X(STEP, step, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_DIRAC, 0, 0)                   \
    X(LINEAR, linear, 0, "", LR_NTK_P(0, 0, 0, 0), LR_NTK_ACT_SMOOTH, 1, 1)              \
    X(QUAD, quad, 3, "c0,c1,c2", LR_NTK_P(0, 0, 1, 0), LR_NTK_ACT_SMOOTH, 1, 1)          \
    X(SIGMA_T, sigma_T, 3, "a,s1,s2", LR_NTK_P(1, -1, 1, 0), LR_NTK_ACT_DIRAC, 0, 0)     \
    X(SIGMA_Q, sigma_Q, 4, "b1,b2,r1,r2", LR_NTK_P(-1, 1, -1, 1), LR_NTK_ACT_DIRAC, 0, 0)

#define LR_NTK_P(a, b, c, d) {a, b, c, d}

/* Marks an element-wise loop of src/ntk/ as free of loop-carried dependences (OpenMP's simd):
 * gcc's -O2 cost model vectorises such a loop only when told. */
#ifdef _OPENMP
#define LR_NTK_SIMD _Pragma("omp simd")
#else
#define LR_NTK_SIMD
#endif

typedef enum {
#define LR_NTK_ACT_ID(ID, nm, np, pn, def, fl, h1, h2) LR_NTK_ACT_##ID,
    LR_NTK_ACT_LIST(LR_NTK_ACT_ID)
#undef LR_NTK_ACT_ID
    LR_NTK_ACT_COUNT
} lr_ntk_act_id;

/* One registry entry.  Scalar functions take the parameter vector (LR_NTK_ACT_MAX_PARAMS
 * doubles). */
typedef struct lr_ntk_act_entry {
    const char *name;
    size_t nparams;
    const char *params; /* comma-separated parameter names ("" for none) */
    double defaults[LR_NTK_ACT_MAX_PARAMS];
    unsigned flags;
    double (*fn)(double t, const double *p);
    double (*d1)(double t, const double *p); /* NULL: sigma' is not a function */
    double (*d2)(double t, const double *p); /* NULL: sigma'' is not a function */
    /* Writes the kinks (sorted, at most LR_NTK_ACT_MAX_KINKS) to out; returns how many. */
    size_t (*kinks)(const double *p, double *out);
} lr_ntk_act_entry;

/* An activation with its parameters: what every function of src/ntk/ takes. */
typedef struct lr_ntk_act {
    lr_ntk_act_id id;
    double p[LR_NTK_ACT_MAX_PARAMS]; /* unused ones are 0 */
} lr_ntk_act;

/* The entry of id, or NULL for an id outside the registry. */
const lr_ntk_act_entry *lr_ntk_act_get(lr_ntk_act_id id);

/* The id of the activation named by the first len characters of name, or -1. */
int lr_ntk_act_find(const char *name, size_t len);

/* a <- activation id with parameters p[0..np) (np <= the entry's count; the rest take their
 * defaults; p may be NULL when np is 0).  LR_EINVAL for an unknown id, too many or
 * non-finite parameters, or thresholds out of order (sigma_T: s1 <= s2, sigma_Q: r1 <= r2). */
int lr_ntk_act_init(lr_ntk_act *a, lr_ntk_act_id id, const double *p, size_t np);

/* Parse "name" or "name(p1, p2, ...)" (whitespace allowed, omitted trailing parameters take
 * their defaults): "relu", "leaky_relu(0.1,1)", "sigma_T(0.7, -0.5, 1.2)".  LR_EINVAL, with
 * the known names in the message, for anything else. */
int lr_ntk_act_parse(const char *spec, lr_ntk_act *a);

/* a written so that lr_ntk_act_parse reads it back exactly ("leaky_relu(0.1,1)"; every
 * parameter, %.17g).  Returns buf. */
const char *lr_ntk_act_format(const lr_ntk_act *a, char *buf, size_t size);

/* The known names as "relu, leaky_relu(a_minus,a_plus), tanh, ..." (for messages).
 * Returns buf. */
const char *lr_ntk_act_names(char *buf, size_t size);

/* Scalar evaluation: sigma(t), sigma'(t), sigma''(t); NaN where the derivative is not a
 * function (use the entry's d1/d2 pointers to ask). */
double lr_ntk_act_value(const lr_ntk_act *a, double t);
double lr_ntk_act_deriv1(const lr_ntk_act *a, double t);
double lr_ntk_act_deriv2(const lr_ntk_act *a, double t);

/* The kinks of a (sorted); returns how many (<= LR_NTK_ACT_MAX_KINKS). */
size_t lr_ntk_act_kinks(const lr_ntk_act *a, double *out);

/* Whether sigma' holds a Dirac mass with these parameters (a piecewise-constant activation
 * with a non-zero jump): then E sigma'^2 is +INFINITY and the NTK does not exist. */
int lr_ntk_act_has_dirac(const lr_ntk_act *a);

/* The in-place kernels.  v[i] <- out_scale * (sigma^(deriv)(in_scale * v[i]) - shift) for
 * i < n, deriv 0, 1 or 2: one loop per entry with the scalar function inlined (no call
 * through a pointer), so that the compiler can vectorise the branch-free ones.  LR_EINVAL for
 * an unknown id, deriv > 2, or a derivative that is not a function.  A piecewise-constant
 * activation whose jumps are all 0 is constant, and its deriv 1 and 2 are the zero function. */
int lr_ntk_act_map(const lr_ntk_act *a, int deriv, double in_scale, double shift, double out_scale,
                   double *v, size_t n);
/* v[i] <- sigma(v[i]). */
int lr_ntk_act_apply(const lr_ntk_act *a, double *v, size_t n);

#endif
