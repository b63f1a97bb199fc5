/* Bounds: a registry of the inequalities lrlab checks trial by trial.
 *
 * Each entry names the theorem it comes from, the compressor whose error it bounds, the
 * observed quantity it bounds, and its kind: it holds always (deterministic; checked
 * within a relative tolerance), with probability at least a nominal level, or it is a
 * prediction of a mean (compared with the RMS over trials, not checked per trial).
 * Every constant is a parameter (THEORY.md: a user holding a paper's exact constants
 * can plug them in). */
#ifndef LR_BOUNDS_BOUNDS_H
#define LR_BOUNDS_BOUNDS_H

#include <stddef.h>

typedef enum {
    LR_BOUND_ALWAYS,     /* deterministic: must hold in every trial */
    LR_BOUND_PROBABLE,   /* holds with probability >= nominal */
    LR_BOUND_PREDICTION  /* predicts the RMS of the observed quantity */
} lr_bound_kind;

typedef enum {
    LR_OBS_ERR_FRO,    /* ||X~ M^ - Z*||_F */
    LR_OBS_ERR_WEIGHT  /* ||M^ - M*||_F */
} lr_observed;

/* What one trial knows when it evaluates the bounds at one target rank. */
typedef struct lr_bound_input {
    size_t m, n0, n1, q, r, k;
    double sigma;  /* noise standard deviation of G (0 if G is not i.i.d.) */
    double pg_op;  /* ||P G||_op */
    double smin_x; /* sigma_min(X~), 0 if X~ lacks full column rank */
    double err_fro;
    int iid_noise; /* G i.i.d. (pre-activation noise model) */
    /* Theorems 2 and 3 (issue 3); fields a caller leaves zero / NULL make them NAN. */
    double tau_k;        /* tau_k(Z0) = ||Z0 - [Z0]_k||_F at this row's rank k */
    const double *tau2;  /* tau_j(Z0)^2 for j = 0 .. ntau - 1 (tau2[0] = ||Z0||_F^2) */
    size_t ntau;
    double lambda;       /* the regularisation weight the row's compressor used (NAN: none) */
    double xg_op;        /* ||X~^T G||_op */
    double m0_nuc;       /* ||M0||_* of the signal weights */
    double z_norm;       /* ||Z0||_F */
    int relu;            /* observations are Y+ = rho(Z* + G) (Theorem 3) */
} lr_bound_input;

/* Constants and confidence parameter; names match the config's `bounds` group. */
typedef struct lr_bound_params {
    double C;   /* constant of Theorem 1(a)/(b): 2 in THEORY.md */
    double t;   /* deviation parameter: probability 1 - exp(-t^2/2) */
    double tol; /* relative tolerance when checking deterministic bounds */
    /* Theorems 2 and 3 (issue 3): config keys bounds.Ctau, C2b, C2c, lambda_c, C3. */
    double Ctau;     /* coefficient of tau_k(Z0) in 2(a): 1 in THEORY.md */
    double C2b;      /* 9/2 in 2(b) */
    double C2c;      /* 3 in 2(c) */
    double lambda_c; /* 2(b), 2(c) assume lambda >= lambda_c ||P G||_op (resp. ||X~^T G||_op): 2 */
    double C3;       /* constant of Theorem 3's shape (fitted from the data; 1 draws the shape) */
} lr_bound_params;

typedef struct lr_bound {
    const char *name;
    const char *theorem;
    const char *statement;
    lr_bound_kind kind;
    const char *compressor; /* the estimator the theorem is about */
    lr_observed observed;
    /* The bound's value; NAN where its assumptions fail (then it is not checked). */
    double (*value)(const lr_bound_input *in, const lr_bound_params *p);
} lr_bound;

extern const lr_bound *const lr_bounds[]; /* NULL-terminated */
const lr_bound *lr_bound_find(const char *name);

/* Nominal coverage of a probabilistic bound, 1 - exp(-t^2/2). */
double lr_bound_nominal(const lr_bound *b, const lr_bound_params *p);
/* 1 held, 0 violated, -1 not applicable (NAN value). */
int lr_bound_check(const lr_bound *b, double value, double observed, const lr_bound_params *p);
const char *lr_bound_kind_name(lr_bound_kind kind);
const char *lr_observed_name(lr_observed o);

#endif
