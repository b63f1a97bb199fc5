/* The fast route of the `recovery` experiment: activations streamed in row blocks and
 * X~ factored through its Gram matrix (experiments/recovery_gram.c). */
#ifndef LR_EXPERIMENTS_RECOVERY_GRAM_H
#define LR_EXPERIMENTS_RECOVERY_GRAM_H

#include <stdio.h>

#include "gen/gen.h"
#include "run/run.h"

/* What one sweep point of `recovery` draws (a copy of its parameters). */
typedef struct lr_synth_spec {
    size_t m, n0, n1, r, m_test, q_x, block_rows;
    int weight_model;
    lr_x_kind x_kind;
    double x_cond, scale, scond, sigma, df, C, t;
    lr_noise_kind noise;
} lr_synth_spec;

/* Values of the /trials column `route`: which factorisation of X~ produced the row. */
enum {
    LR_ROUTE_SVD = 0,          /* thin SVD of the whole X~ (compress.route = svd or svd_blocks) */
    LR_ROUTE_GRAM = 1,         /* Gram route, X~ streamed in row blocks */
    LR_ROUTE_GRAM_FALLBACK = 2 /* compress.route = gram, but the guard sent the trial to the
                                  SVD route (graded spectrum, m < N0, or X~ not streamable) */
};

/* ---- block-order generation ----
 * The draws of the streamed route, in this order: M* (and E for model "weight"); then,
 * for each block of block_rows rows, the block of X~ (i.i.d. Gaussian, column-major
 * within the block) followed by the block of G (model "preact"); then the blocks of the
 * held-out X_test.  X~ of kind lowrank/spectrum cannot be streamed (its rows are not
 * independent) and is drawn whole in place of its blocks.  The same draws land in the
 * same places whether they are streamed or materialised, so the Gram route and its SVD
 * reference see identical instances. */
size_t lr_synth_scratch(const lr_synth_spec *sp);
/* Materialise one instance in block order: X (m x N0), Ms, G (m x N1), Ew and W
 * (N0 x N1; Ew used for model weight only), Y, Zs = X Ms, Xt (m_test x N0), Zt = Xt Ms.
 * For model "preact" W is left for the caller (it is X~^+ Y). */
int lr_synth_materialise(const lr_synth_spec *sp, gsl_rng *rng, lr_mat X, lr_mat Ms, lr_mat G,
                         lr_mat Ew, lr_mat W, lr_mat Y, lr_mat Zs, lr_mat Xt, lr_mat Zt,
                         double *scratch);

/* ---- the streamed Gram route ---- */
typedef struct lr_gram_ws lr_gram_ws;

typedef struct lr_gram_cfg {
    double rank_rtol; /* numerical-rank tolerance of X~ (0: max(m, N0) eps) */
    double min_ratio; /* guard: s_min / s_1 of X~ below this -> SVD route */
    int col_route;    /* /trials column of the route code */
    double fit_min_ratio; /* > 0: the fits' top-k SVDs through the Gram matrix (guarded) */
    int col_fit_route;    /* /trials column: 1 where that path produced the row */
} lr_gram_cfg;

/* Workspace for every point of a run (sizes are maxima over the points). */
lr_gram_ws *lr_gram_ws_alloc(const lr_run *run, size_t max_n0, size_t max_n1, size_t max_k,
                             size_t max_block, int any_test);
void lr_gram_ws_free(lr_gram_ws *w);

/* Run one unit on the Gram route.  *done = 1 when it filled the rows; *done = 0 when the
 * guard refused the instance (the caller re-seeds the stream and takes the SVD route on
 * the same draws). */
int lr_recovery_gram_unit(const lr_run *run, const lr_synth_spec *sp, const lr_gram_cfg *gc,
                          lr_gram_ws *w, size_t point, size_t trial, gsl_rng *rng, double *rows,
                          double *seconds, int *done);

/* --save-instances: the trial's parameters as attributes of its group. */
int lr_recovery_save_attrs(const lr_run *run, const lr_synth_spec *sp, size_t point,
                           size_t trial, double rank_rtol, int route);

/* Per-phase timers of the Gram route, summed over threads, printed at the end of a run
 * when the environment variable LRLAB_PROFILE is set: where the time goes and the
 * achieved GFLOP/s of the streamed (GEMM-dominated) phase. */
void lr_recovery_gram_profile_report(FILE *f);

#endif
