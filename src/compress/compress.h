/* Compressors: a registry of named rules that turn a layer problem into a compressed layer.
 *
 * The layer problem (docs/theory.md section 1): calibration inputs X~ (m x N0), weights W
 * (N0 x N1), observed pre-activations Y (m x N1).  A compressor returns, for each
 * requested rank k, a compressed replacement M of W (compress/compressed.h; today's
 * compressors all return low-rank factors A (N0 x k), B (k x N1), M = A B).  It never
 * measures its own error: the experiment measures every compressor the same way.  One
 * call serves every rank of the sweep, so each compressor factorises once per trial.
 *
 * A compressor is used as a plan (FFTW's plan/execute):
 *   p = lr_compressor_plan_alloc(c, &max_shape, cfg);   once per thread
 *   lr_compressor_execute(p, point, L, ranks, nranks, out, &info, rng);   per trial
 *   lr_compressor_plan_free(p);
 * plan_alloc sizes the compressor's own arena and LAPACK plans for the largest shape and
 * reads the compressor's own config keys (c->keys, merged into every experiment's schema
 * by the runner) at every sweep point, so execute neither allocates nor reads the config.
 * Randomised compressors draw only from `rng`, a stream of their own that the experiment
 * seeds per (unit, compressor) with lr_compressor_seed_stream; it never perturbs the
 * unit's other draws. */
#ifndef LR_COMPRESS_COMPRESS_H
#define LR_COMPRESS_COMPRESS_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "compress/compressed.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "io/config.h"

typedef struct lr_layer {
    lr_mat X, W, Y;
    /* Thin SVD of X~ truncated at its numerical rank q: X~ = Ux diag(sx) Vx^T. */
    lr_mat Ux; /* m x q */
    double *sx;
    lr_mat Vx; /* N0 x q */
    size_t q;
    double rank_rtol; /* relative tolerance that defined q */
    double smin_x;    /* sigma_min(X~) over all min(m, N0) values (0 if rank deficient) */
    int x_fallback;   /* 1 if the SVD of X~ needed the dgesvd fallback */
    /* Optional: mean_k |X~_ki| over the original rows (N0 values), for compressors that
     * scale by activation statistics, when X above is a reduced stand-in for X~ (see
     * src/nn/reduce.h).  NULL: computed from X. */
    const double *x_absmean;
    /* U_q^T Y (q x N1), when a route supplies it without forming Ux (the Gram route:
     * U_q^T Y = diag(1/sx) Vx^T X~^T Y); data NULL otherwise, and then data-driven
     * compressors compute it from Ux and Y. */
    lr_mat UtY;
    /* Noise level of Y when the experiment knows it (NAN otherwise): the automatic lambda
     * of the convex estimators needs it. */
    double sigma;
    /* 1 when the layer comes from the streamed Gram route (X, Y and Ux hold no data): the
     * fits may then take their top-k SVDs through the Gram matrix (compress.gram_fit_min_ratio). */
    int gram_route;
} lr_layer;

/* Workspace of lr_layer_factor_x: an SVD plan for matrices up to max(m, N0) x N0 and an
 * arena of lr_layer_factor_x_scratch doubles (the experiment's, not a compressor's). */
typedef struct lr_layer_ws {
    lr_svd_plan *svd;
    lr_arena arena;
} lr_layer_ws;

/* The largest problem a plan serves: X~ m x N0, W N0 x N1. */
typedef struct lr_layer_shape {
    size_t m, n0, n1;
} lr_layer_shape;

typedef struct lr_fit_info {
    int svd_fallback; /* a dgesdd failure was recovered by dgesvd */
    int iterations;   /* iterative compressors: iterations taken (0 otherwise) */
    double gap;       /* iterative compressors: final duality or objective gap (NAN otherwise) */
    int route;        /* which numerical route produced the factors (compressor-specific; 0 plain) */
    double lambda;    /* regularisation weight actually used (NAN for compressors without one) */
    int converged;    /* iterative compressors: 1 if the tolerance was met, 0 if max_iter hit */
} lr_fit_info;

typedef struct lr_compressor lr_compressor;

/* A compressor's plan: what plan_alloc sized and read.  Compressors allocate it with
 * lr_compressor_plan_new and read their parameters at a point with lr_compressor_params. */
enum { LR_PLAN_SHARES_ARENA = 1u << 0, LR_PLAN_SHARES_EIG = 1u << 1 };

typedef struct lr_compressor_plan {
    const lr_compressor *comp;
    lr_layer_shape max;
    lr_svd_plan *svd; /* NULL if the compressor needs none */
    lr_eig_plan *eig; /* the fits' Gram path; NULL when compress.gram_fit_min_ratio = 0 */
    double gram_min_ratio;
    lr_arena arena; /* reset by each execute */
    /* LR_PLAN_SHARES_*: the arena or the eigen plan belongs to another plan of the same
     * set (lr_compressor_plans_alloc), which frees it. */
    unsigned shares;
    size_t npoints, param_bytes;
    unsigned char *params; /* npoints blocks of param_bytes: the compressor's keys per point */
} lr_compressor_plan;

/* What a compressor is for, beyond what it computes: code that must pick "the baseline"
 * or "the compressors a theorem covers" asks the registry (lr_compressor_has_role,
 * lr_compressor_with_role) instead of testing names.  A compressor may have several. */
typedef enum lr_compressor_role {
    LR_ROLE_NONE = 0,
    /* The data-agnostic baseline the data-driven compressors are compared with (dd <= da). */
    LR_ROLE_BASELINE = 1u << 0,
    /* The baseline of the ReLU experiments: a pre-activation rule applied to Y+. */
    LR_ROLE_RELU_BASELINE = 1u << 1,
    /* A theorem of docs/theory.md predicts its error's rates (recovery's slope fits). */
    LR_ROLE_THEORY = 1u << 2,
    /* The rank-constrained least-squares estimator, the subject of Theorem 2(a). */
    LR_ROLE_RANK_LS = 1u << 3,
} lr_compressor_role;

/* Which Eckart-Young-type optimum a compressor attains exactly over rank <= k (what the
 * contract test checks against a plain SVD). */
typedef enum lr_optimality {
    LR_OPTIMAL_NONE = 0,
    LR_OPTIMAL_WEIGHTS,  /* min ||W - M||_F: the tail of W's singular values */
    LR_OPTIMAL_RESPONSE, /* min ||Y - X~ M||_F^2 = ||(I - P) Y||_F^2 + tau_k(P Y)^2 */
    LR_OPTIMAL_LAYER,    /* min ||X~ (W - M)||_F = tau_k(X~ W), when X~ has full column rank */
} lr_optimality;

struct lr_compressor {
    const char *name;
    const char *description;
    int data_driven;
    /* The config keys the compressor reads (NULL-terminated; NULL for none), with their
     * defaults.  The runner appends every registered compressor's keys to the schema after
     * the experiment's own, and a key declared by both keeps the experiment's declaration
     * (the first wins), so an experiment may fix its own default or doc for a key. */
    const lr_key *keys;
    /* Allocate a plan for problems up to *max, reading the keys from cfg at every sweep
     * point (cfg NULL: the keys' defaults, one point).  NULL on failure, reason recorded. */
    lr_compressor_plan *(*plan_alloc)(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg);
    /* Fit at sweep point `point`.  out[i].A / out[i].B arrive with storage for ranks[i]
     * columns / rows (N0 and N1 rows / columns); execute makes out[i] a LOWRANK lr_compressed
     * of rank out[i].k <= ranks[i] over that storage.  No allocation. */
    int (*execute)(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks, size_t nranks,
                   lr_compressed *out, lr_fit_info *info, gsl_rng *rng);
    void (*plan_free)(lr_compressor_plan *p);
    /* 1: the rank follows from the data (convex estimators).  Such a compressor ignores
     * `ranks` and writes its one result into every out[i] (k = the rank it produced); the
     * caller supplies storage for min(N0, N1) columns in each. */
    int rank_adaptive;
    /* 1 if the factors at rank k are the first k columns of A and rows of B at any larger
     * rank (truncations of one decomposition): one fit at the largest rank then serves
     * every smaller one. */
    int nested;
    /* 1 if execute needs only W, sx, Vx, q and UtY (never X, Y or Ux), so it can run on the
     * Gram route, where X~ is streamed and never held (0 for compressors that need X~). */
    int gram_ok;
    /* 1 if execute draws from rng (then the result depends on the stream, nothing else). */
    int randomised;
    /* 1 if execute needs the noise level of Y (lr_layer.sigma): always, or for its automatic
     * lambda when compress.lambda is not given.  Real layers have no known noise level, so
     * real_layers does not offer these. */
    int needs_noise_level;
    /* Bitwise or of lr_compressor_role values. */
    unsigned roles;
    lr_optimality optimal;
};

#define LR_COMPRESSOR(name) extern const lr_compressor lr_compressor_##name;
#include "compress/list.h"
#undef LR_COMPRESSOR

/* NULL-terminated registry, in the order of compress/list.h. */
extern const lr_compressor *const lr_compressors[];
/* The compressor of that name, or NULL (callers must check: a config may name anything). */
const lr_compressor *lr_compressor_find(const char *name);
/* Name of the i-th registered compressor, NULL past the end: the accepted names of a
 * registry-validated config key (lr_key.names). */
const char *lr_compressor_name_at(size_t i);
/* 1 if c has every role in `roles`. */
int lr_compressor_has_role(const lr_compressor *c, unsigned roles);
/* Index in comps[0..n) of the first compressor with every role in `roles`; n if none. */
size_t lr_compressor_with_role(const lr_compressor *const *comps, size_t n, unsigned roles);

/* Number of registered compressors. */
enum {
#define LR_COMPRESSOR(name) LR_COMPRESSOR_INDEX_##name,
#include "compress/list.h"
#undef LR_COMPRESSOR
    LR_NCOMPRESSORS
};
/* The key arrays of every registered compressor that has keys, for lr_config_validate:
 * writes up to `max` into out and returns how many there are. */
size_t lr_compressor_schemas(const lr_key **out, size_t max);

/* The plan interface (see the top of this file).  lr_compressor_execute checks the
 * shapes against the plan's and the ranks against the factor storage. */
lr_compressor_plan *lr_compressor_plan_alloc(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg);
int lr_compressor_execute(lr_compressor_plan *p, size_t point, const lr_layer *L, const size_t *ranks,
                          size_t nranks, lr_compressed *out, lr_fit_info *info, gsl_rng *rng);
void lr_compressor_plan_free(lr_compressor_plan *p);
/* One plan per compressor of a run (comps[0..n)), each for problems up to *max: NULL on
 * failure (the reason recorded, nothing left allocated). */
lr_compressor_plan **lr_compressor_plans_alloc(const lr_compressor *const *comps, size_t n,
                                               const lr_layer_shape *max, const lr_config *cfg);
void lr_compressor_plans_free(lr_compressor_plan **plans, size_t n);
/* Seed a compressor's own stream for unit (point, trial) of a run: a function of (seed,
 * point, trial, compressor index) alone, distinct from the unit's own stream, so drawing
 * from it changes no other draw of the unit and results do not depend on -j. */
void lr_compressor_seed_stream(gsl_rng *r, uint64_t seed, uint64_t point, uint64_t trial, size_t comp);

/* For compressor files: a plan with an arena of `arena_doubles`, an SVD plan for matrices
 * up to svd_m x svd_n (0: none), and npoints blocks of param_bytes (cfg's sweep points, 1
 * without cfg).  The Gram fit path (lr_fit_svd_top) is set up from
 * compress.gram_fit_min_ratio when gram_fit is 1.  NULL on failure, reason recorded. */
lr_compressor_plan *lr_compressor_plan_new(const lr_compressor *c, const lr_layer_shape *max, const lr_config *cfg,
                                           size_t arena_doubles, size_t svd_m, size_t svd_n, size_t param_bytes,
                                           int gram_fit);
void lr_compressor_plan_release(lr_compressor_plan *p);
/* The parameter block of `point` (NULL if point is out of range). */
void *lr_compressor_params(const lr_compressor_plan *p, size_t point);
/* Value of key `path` (one of c->keys) at a point: from cfg, or its default without cfg. */
double lr_compressor_key_num(const lr_compressor *c, const lr_config *cfg, size_t point, const char *path);

/* The key of the fits' Gram path (lr_fit_svd_top), shared by the compressors that take it. */
#define LR_COMPRESS_GRAM_FIT_KEY                                                                          \
    {.path = "compress.gram_fit_min_ratio", .type = LR_KEY_REAL, .def = 0, .min = 0, .max = 1,             \
     .doc = "gram route: the fits' top-k SVDs (svd_w, dd_rank) through the Gram matrix when s_k/s_1 of "   \
            "the fitted matrix is at least this, else LAPACK's SVD (0: always LAPACK)"}

/* One carve-up of the arena serves both the sizing in plan_alloc and the use in execute
 * (LAPACK's lwork = -1 query): with a == NULL the calls only add what they would take to
 * *need and return no storage; with an arena they take it (data NULL if the arena is too
 * small: a sizing bug the caller reports). */
lr_mat lr_carve_mat(lr_arena *a, size_t *need, size_t rows, size_t cols);
double *lr_carve_vec(lr_arena *a, size_t *need, size_t n);

/* The workspace of a fit through the SVD of B = U_q^T Y (q x N1), shared by dd_rank and
 * dd_svt: B, its thin SVD Ub (q x mn), sb (mn), VbT (mn x N1), mn = min(q, N1), and T
 * (q x mn) for the factors.  Carved from a (NULL: only counted); returns the doubles. */
typedef struct lr_range_svd_mats {
    lr_mat B, Ub, VbT, T;
    double *sb;
} lr_range_svd_mats;
size_t lr_range_svd_carve(lr_arena *a, size_t q, size_t n1, lr_range_svd_mats *w);

/* Factor X~ into L->Ux, sx, Vx (storage supplied in L, sized m x min, min, N0 x min) and
 * set q, smin_x.  Uses ws->svd and the arena for a copy of X~. */
int lr_layer_factor_x(lr_layer *L, double rank_rtol, lr_layer_ws *ws);
size_t lr_layer_factor_x_scratch(size_t m, size_t n0);

/* Gram route for the range of X~ (src/compress/gram.c): factor K = X~^T X~ (N0 x N0, lower
 * triangle read, destroyed) as Vx diag(sx^2) Vx^T, so that X~ = U diag(sx) Vx^T with
 * U = X~ Vx diag(1/sx) never formed.  Guard: squaring doubles the condition number, so
 * the small singular values lose relative accuracy ~ eps (s_1 / s_i)^2; when
 * s_min / s_1 < min_ratio (or m < N0, or K is not positive) the factorisation is refused
 * (*accepted = 0) and the caller takes the SVD route.  *ratio receives s_min / s_1.
 * L->Vx needs N0 x N0 storage; L->sx N0 values. */
int lr_layer_factor_gram(lr_layer *L, size_t m, lr_mat K, double rank_rtol, double min_ratio,
                         lr_eig_plan *ep, double *ratio, int *accepted);

/* The k largest singular triplets of A (destroyed) for a fit: through the Gram matrix
 * (lr_svd_top_gram) when the layer comes from the Gram route, the plan has the Gram path
 * (compress.gram_fit_min_ratio > 0) and its guard accepts, which sets info->route = 1;
 * otherwise LAPACK's lr_svd_top (info->route untouched, info->svd_fallback as it says).
 * S: scratch of at least min(m, n) square for the Gram path, free until the call returns. */
int lr_fit_svd_top(lr_compressor_plan *p, const lr_layer *L, lr_mat A, size_t k, double *s, lr_mat U, lr_mat VT,
                   lr_mat S, lr_fit_info *info);

/* Make f a LOWRANK lr_compressed of rank k over its A / B storage (A.cols = B.rows = k). */
void lr_factors_set_rank(lr_compressed *f, size_t k);
/* Truncated factors from a thin SVD (k = f->k): A = U_k diag(s_k) (rows x k), B = VT_k (k x cols). */
void lr_factors_from_svd(lr_mat U, const double *s, lr_mat VT, lr_compressed *f);

/* The automatic lambda of the pre-activation convex estimators (docs/theory.md section 2):
 * 2 sigma (sqrt q + sqrt N1 + t), twice the high-probability bound on ||P G||_op. */
double lr_lambda_auto(double sigma, size_t q, size_t n1, double t);
/* Copy rank-adaptive result out[0] into out[1..nranks). */
void lr_factors_replicate(lr_compressed *out, size_t nranks);
/* The factors of a rank-k estimate given in the range coordinates of X~: out[0].A = Vx T_k
 * (N0 x k), out[0].B = the first k rows of VT (k x N1); then replicated into every rank. */
int lr_factors_from_range(const lr_layer *L, lr_mat T, lr_mat VT, size_t k, lr_compressed *out,
                          size_t nranks);

#endif
