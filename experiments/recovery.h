/* The parts of experiment `recovery` (recovery.c: the trial; recovery_prepare.c: its config
 * keys, the sweep points, the /trials columns, the theory's exponents) share these types.
 * Private to those files: the experiment's public symbol is lr_experiment_recovery. */
#ifndef LR_EXPERIMENTS_RECOVERY_H
#define LR_EXPERIMENTS_RECOVERY_H

#include "gen/gen.h"
#include "recovery_gram.h"
#include "run/run.h"

/* Per-point parameters, read once in prepare. */
typedef struct recovery_point {
    size_t m, n0, n1, r, m_test, q_x;
    int weight_model;
    lr_x_kind x_kind;
    double x_cond, scale, scond, sigma, df, C, t;
    lr_noise_kind noise;
    lr_tail_kind tail;
    double alpha, beta, level, rho, annih, lambda, lambda_factor;
    int relu;
    int row_space; /* M* in the row space of X~ */
} recovery_point;

typedef struct recovery_state {
    recovery_point *pts;
    size_t max_m, max_n0, max_n1, max_k, max_mt;
    double rank_rtol;
    size_t kstore;     /* factor columns: max_k, or min(N0, N1) with a rank-adaptive compressor */
    double *spectrum;  /* measured spectrum of tail.kind = "file" */
    size_t nspectrum;
    double tol;
    int max_iter, monotone;
    /* experiment-owned /trials columns */
    int c_tau, c_lambda, c_iter, c_gap, c_conv, c_xg, c_m0nuc, c_pre;
    int route;          /* compress.route: LR_ROUTE_SVD, or the gram / svd_blocks routes below */
    int blocks;         /* draws in block order (gram and svd_blocks) */
    size_t block_rows;
    lr_gram_cfg gram;
} recovery_state;

extern const lr_key lr_rec_schema[];
int lr_rec_prepare(lr_run *run, void **state);
double lr_rec_theory_slope(const lr_run *run, const char *path, size_t comp, size_t rank_index);
const char *lr_rec_derived_axis(const lr_run *run, const char *path, int cols[2]);

#endif
