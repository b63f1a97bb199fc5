/* Bounds: a registry of the inequalities lrlab checks trial by trial.
 *
 * Each entry names the theorem it comes from, the compressor whose error it bounds, the
 * observed quantity it bounds, its direction (an upper bound, observed <= value, unless it
 * says it is a lower bound, value <= observed), and its kind: it holds always
 * (deterministic; checked within a relative tolerance), with probability at least a
 * nominal level, or it is a prediction of a mean (compared with the RMS over trials, not
 * checked per trial).
 * Every constant is a parameter (docs/theory.md: a user holding a paper's exact constants
 * can plug them in). */
#ifndef LR_BOUNDS_BOUNDS_H
#define LR_BOUNDS_BOUNDS_H

#include <stddef.h>

#include "io/config.h"

typedef enum {
    LR_BOUND_ALWAYS,     /* deterministic: must hold in every trial */
    LR_BOUND_PROBABLE,   /* holds with probability >= nominal */
    LR_BOUND_PREDICTION  /* predicts the RMS of the observed quantity */
} lr_bound_kind;

/* Which side of the observed quantity the value lies on.  Upper is the default (0), so an
 * entry that does not say is an upper bound. */
typedef enum {
    LR_BOUND_UPPER = 0, /* observed <= value */
    LR_BOUND_LOWER = 1  /* value <= observed */
} lr_bound_direction;

typedef enum {
    LR_OBS_ERR_FRO,    /* ||X~ M^ - Z*||_F */
    LR_OBS_ERR_WEIGHT, /* ||M^ - M*||_F */
    LR_OBS_ERR_OP_REL, /* ||W^ - W||_2 / ||W||_2: the weights' relative operator-norm error (ALDS) */
    LR_OBS_ERR_L1,     /* ||w - w_[k]||_1: a vector's l1 truncation error (l_q, docs/theory.md section 7) */
    LR_OBS_ERR_L2,     /* ||w - w_[k]||_2 */
    LR_OBS_OUT_SUP     /* sup_x |f(x) - f^(x)|: a pruned one-hidden-layer network's output change */
} lr_observed;

/* What one trial knows when it evaluates the bounds at one target rank. */
typedef struct lr_bound_input {
    size_t m, n0, n1, q, r, k;
    double sigma;  /* noise standard deviation of G (0 if G is not i.i.d.) */
    double pg_op;  /* ||P G||_op */
    double smin_x; /* sigma_min(X~), 0 if X~ lacks full column rank */
    double err_fro;
    /* The noise model: preact = 1 when Y = X~ M* + G with G's entries of standard deviation
     * sigma (0 under the weight model, where sigma describes W - M*, not G: bounds in sigma
     * do not apply there at all); gaussian = 1 when those entries are moreover i.i.d.
     * N(0, sigma^2), the assumption LR_ASSUME_GAUSSIAN_NOISE. */
    int preact, gaussian;
    /* Theorems 2 and 3 (issue 3); fields a caller leaves zero / NULL make them NAN. */
    double tau_k;        /* tau_k(Z0) = ||Z0 - [Z0]_k||_F at this row's rank k */
    const double *tau2;  /* tau_j(Z0)^2 for j = 0 .. ntau - 1 (tau2[0] = ||Z0||_F^2); NULL when
                            the caller knows tau_k only (then 2(b) does not apply) */
    size_t ntau;         /* tail values known (0: no tail information: Theorem 2 does not apply) */
    double lambda;       /* the regularisation weight the row's compressor used (NAN: none) */
    double xg_op;        /* ||X~^T G||_op */
    double m0_nuc;       /* ||M0||_* of the signal weights */
    double z_norm;       /* ||Z0||_F */
    int relu;            /* observations are Y+ = rho(Z* + G) (Theorem 3) */
    /* ALDS (issue 12; src/bounds/alds.c): W split into ngroups input-channel groups, each
     * truncated at the row's rank j.  Fields a caller leaves zero / NULL make them NAN. */
    size_t ngroups;            /* k */
    const double *alpha_next;  /* alpha_{i,j+1}, ngroups values (0 at full rank) */
    double alpha1;             /* ||W||_2 */
    /* l_q soft sparsity (issue 16; src/bounds/lq.c).  lq_q = 0 (a caller that leaves them)
     * makes them NAN.  lq_l1 / lq_l2: one vector w truncated to its k largest magnitudes,
     * k the field above, lq_log_norm = log ||w||_q.  lq_degrade: a one-hidden-layer network
     * f(x) = sum_j a_j sigma(w_j . x) with each w_j cut to its kept[j] largest, inputs
     * ||x||_inf <= lq_B: a[j], log_norms[j] = log ||w_j||_q, j < lq_neurons. */
    double lq_q, lq_log_norm, lq_B;
    size_t lq_neurons;
    const double *lq_a, *lq_log_norms;
    const size_t *lq_kept;
} lr_bound_input;

/* Constants and confidence parameter; names match the config's `bounds` group. */
typedef struct lr_bound_params {
    double C;   /* constant of Theorem 1(a)/(b): 2 in docs/theory.md */
    double t;   /* deviation parameter: probability 1 - exp(-t^2/2) */
    double tol; /* rounding slack of every check (lr_le_tol): relative to the bound and the scale */
    int outside_assumptions; /* bounds.outside_assumptions: evaluate bounds whose declared
                                assumptions the run does not meet (a robustness study) */
    /* Theorems 2 and 3 (issue 3): config keys bounds.Ctau, C2b, C2c, lambda_c, C3. */
    double Ctau;     /* coefficient of tau_k(Z0) in 2(a): 1 in docs/theory.md */
    double C2b;      /* 9/2 in 2(b) */
    double C2c;      /* 3 in 2(c) */
    double lambda_c; /* 2(b), 2(c) assume lambda >= lambda_c ||P G||_op (resp. ||X~^T G||_op): 2 */
    double C3;       /* constant of Theorem 3's shape (fitted from the data; 1 draws the shape) */
} lr_bound_params;

/* Assumptions a bound declares about the noise, beyond what its value function checks
 * itself (k >= r, lambda large enough, ...).  Where the run does not meet them the bound
 * is "not applicable" (NaN) in every row, and the run, the report and `lrlab list` say
 * why; bounds.outside_assumptions = true evaluates it anyway, and the results record that
 * it was (the /bounds table). */
enum {
    LR_ASSUME_GAUSSIAN_NOISE = 1u << 0 /* G's entries i.i.d. N(0, sigma^2) */
};

typedef struct lr_bound {
    const char *name;
    const char *theorem;
    const char *statement;
    lr_bound_kind kind;
    const char *compressor; /* the estimator the theorem is about */
    lr_observed observed;
    lr_bound_direction direction; /* LR_BOUND_UPPER unless given */
    unsigned assumes;       /* LR_ASSUME_* flags */
    /* The bound's formula; NAN where its own conditions fail (then it is not checked).
     * Callers go through lr_bound_evaluate, which applies the declared assumptions. */
    double (*value)(const lr_bound_input *in, const lr_bound_params *p);
    /* Predictions of a shape: the constant the value is drawn with (Theorem 3's C3), which
     * the /shape summary divides out; NULL: 1. */
    double (*constant)(const lr_bound_params *p);
} lr_bound;

extern const lr_bound *const lr_bounds[]; /* NULL-terminated, from bounds/list.h */
const lr_bound *lr_bound_find(const char *name);
/* The i-th registered bound's name, NULL past the end (for registry-validated keys). */
const char *lr_bound_name_at(size_t i);

/* The assumptions of `b` that `in` does not meet (LR_ASSUME_* flags; 0: all met). */
unsigned lr_bound_unmet(const lr_bound *b, const lr_bound_input *in);
/* One line naming the assumptions in `flags` ("i.i.d. Gaussian noise"), "" for none. */
const char *lr_bound_assumptions_text(unsigned flags);
/* The bound's value at `in`: NAN where a declared assumption is unmet, unless
 * p->outside_assumptions (then the formula is evaluated all the same). */
double lr_bound_evaluate(const lr_bound *b, const lr_bound_input *in, const lr_bound_params *p);

/* The one rule for "a <= b up to rounding" in lrlab: a <= b + tol (|b| + scale), where
 * scale is the size of the quantities whose difference a and b measure (e.g. ||Z*||_F for
 * an error against Z*).  The scale term keeps the rule meaningful at b = 0: an error of
 * 1e-13 against a bound of 0 at sigma = 0 is rounding, not a violation. */
static inline int lr_le_tol(double a, double b, double tol, double scale)
{
    return a <= b + tol * ((b < 0 ? -b : b) + scale);
}

/* The bounds' constants as config keys (bounds.C, t, tol, outside_assumptions, Ctau, C2b,
 * C2c, lambda_c, C3), for experiments to include (lr_experiment.includes), and their
 * values at a sweep point. */
extern const lr_key lr_bounds_schema[];
void lr_bound_params_read(const lr_config *cfg, size_t point, lr_bound_params *p);
/* Refuse constants the schema's ranges let through but no bound can use (C or C3 <= 0). */
int lr_bound_params_check(const lr_config *cfg);

/* Nominal coverage of a probabilistic bound, 1 - exp(-t^2/2). */
double lr_bound_nominal(const lr_bound *b, const lr_bound_params *p);
/* 1 held, 0 violated, -1 not applicable (NAN value, or a prediction, which is not checked
 * trial by trial): lr_le_tol(observed, value, p->tol, scale) for an upper bound and
 * lr_le_tol(value, observed, p->tol, scale) for a lower one, for every checked kind, since
 * rounding is no violation of a probabilistic bound either. */
int lr_bound_check(const lr_bound *b, double value, double observed, double scale,
                   const lr_bound_params *p);
const char *lr_bound_kind_name(lr_bound_kind kind);
/* "upper" or "lower". */
const char *lr_bound_direction_name(lr_bound_direction d);
const char *lr_observed_name(lr_observed o);

#endif
