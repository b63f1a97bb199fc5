/* Compressors: a registry of named rules that turn a layer problem into low-rank factors.
 *
 * The layer problem (THEORY.md section 1): calibration inputs X~ (m x N0), weights W
 * (N0 x N1), observed pre-activations Y (m x N1).  A compressor returns, for each
 * requested rank k, factors A (N0 x k) and B (k x N1) with M = A B.  It never measures
 * its own error: the experiment measures every compressor the same way.  One call
 * serves every rank of the sweep, so each compressor factorises once per trial. */
#ifndef LR_COMPRESS_COMPRESS_H
#define LR_COMPRESS_COMPRESS_H

#include <stddef.h>

#include "core/linalg.h"
#include "core/mat.h"

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
} lr_layer;

/* Scratch a trial needs; sized once for the largest problem of a run. */
typedef struct lr_compress_ws {
    lr_svd_plan *svd; /* for matrices up to max(m, N0) x max(N0, N1) */
    lr_arena arena;   /* reset by each fit */
    /* Fast path of the fits' top-k SVDs (lr_fit_svd_top): through the Gram matrix when eig
     * is set and gram_min_ratio > 0 (compress.gram_fit_min_ratio); NULL / 0: LAPACK's SVD. */
    lr_eig_plan *eig;
    double gram_min_ratio;
} lr_compress_ws;

typedef struct lr_factors {
    lr_mat A, B; /* N0 x k and k x N1 */
    size_t k;    /* rank actually produced (<= requested when the data has less) */
} lr_factors;

typedef struct lr_fit_info {
    int svd_fallback; /* a dgesdd failure was recovered by dgesvd */
    int iterations;   /* iterative compressors: iterations taken (0 otherwise) */
    double gap;       /* iterative compressors: final duality or objective gap (NAN otherwise) */
    int route;        /* which numerical route produced the factors (compressor-specific; 0 plain) */
    double lambda;    /* regularisation weight actually used (NAN for compressors without one) */
    int converged;    /* iterative compressors: 1 if the tolerance was met, 0 if max_iter hit */
} lr_fit_info;

/* Parameters a compressor may read; each compressor documents which.  Filled by the
 * experiment from its config; NAN means "not given". */
typedef struct lr_compress_opts {
    double sigma;  /* noise level, when the experiment knows it (for lambda = auto) */
    double lambda; /* regularisation weight; NAN = the compressor's automatic choice */
    double t;      /* deviation parameter of the automatic lambda */
    double tol;    /* stopping tolerance of iterative compressors */
    int max_iter;  /* iteration cap of iterative compressors */
    double alpha;  /* exponent of activation-aware scaling */
    double lambda_factor; /* lambda used = lambda_factor * (lambda, or the automatic choice) */
    int monotone;         /* FISTA compressors: 1 for the monotone variant (MFISTA) */
    double jitter; /* whiten: relative diagonal jitter added to X~^T X~ before Cholesky (0: none) */
} lr_compress_opts;

/* What a compressor is for, beyond what it computes: code that must pick "the baseline"
 * or "the compressors a theorem covers" asks the registry (lr_compressor_has_role,
 * lr_compressor_with_role) instead of testing names.  A compressor may have several. */
typedef enum lr_compressor_role {
    LR_ROLE_NONE = 0,
    /* The data-agnostic baseline the data-driven compressors are compared with (dd <= da). */
    LR_ROLE_BASELINE = 1u << 0,
    /* The baseline of the ReLU experiments: a pre-activation rule applied to Y+. */
    LR_ROLE_RELU_BASELINE = 1u << 1,
    /* A theorem of THEORY.md predicts its error's rates (recovery's slope fits). */
    LR_ROLE_THEORY = 1u << 2,
    /* The rank-constrained least-squares estimator, the subject of Theorem 2(a). */
    LR_ROLE_RANK_LS = 1u << 3,
} lr_compressor_role;

typedef struct lr_compressor {
    const char *name;
    const char *description;
    int data_driven;
    /* Doubles of arena scratch a fit needs for these sizes. */
    size_t (*scratch)(size_t m, size_t n0, size_t n1);
    /* out[i].A / out[i].B arrive with storage for ranks[i] columns / rows. */
    int (*fit)(const lr_layer *L, const lr_compress_opts *opts, const size_t *ranks,
               size_t nranks, lr_factors *out, lr_compress_ws *ws, lr_fit_info *info);
    /* 1: the rank follows from the data (convex estimators).  Such a compressor ignores
     * `ranks` and writes its one result into every out[i] (k = the rank it produced); the
     * caller supplies storage for min(N0, N1) columns in each. */
    int rank_adaptive;
    /* 1 if the factors at rank k are the first k columns of A and rows of B at any larger
     * rank (truncations of one decomposition): one fit at the largest rank then serves
     * every smaller one. */
    int nested;
    /* 1 if fit needs only W, sx, Vx, q and UtY (never X, Y or Ux), so it can run on the
     * Gram route, where X~ is streamed and never held (0 for compressors that need X~). */
    int gram_ok;
    /* Bitwise or of lr_compressor_role values. */
    unsigned roles;
} lr_compressor;

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

/* Factor X~ into L->Ux, sx, Vx (storage supplied in L, sized m x min, min, N0 x min) and
 * set q, smin_x.  Uses ws->svd and the arena for a copy of X~. */
int lr_layer_factor_x(lr_layer *L, double rank_rtol, lr_compress_ws *ws);
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
 * (lr_svd_top_gram) when ws enables it and its guard accepts, which sets info->route = 1;
 * otherwise LAPACK's lr_svd_top (info->route untouched, info->svd_fallback as it says).
 * S: scratch of at least min(m, n) square for the Gram path, free until the call returns. */
int lr_fit_svd_top(lr_compress_ws *ws, lr_mat A, size_t k, double *s, lr_mat U, lr_mat VT,
                   lr_mat S, lr_fit_info *info);

/* Truncated factors from a thin SVD: A = U_k diag(s_k) (rows x k), B = VT_k (k x cols). */
void lr_factors_from_svd(lr_mat U, const double *s, lr_mat VT, lr_factors *f);

/* The automatic lambda of the pre-activation convex estimators (THEORY.md section 2):
 * 2 sigma (sqrt q + sqrt N1 + t), twice the high-probability bound on ||P G||_op. */
double lr_lambda_auto(double sigma, size_t q, size_t n1, double t);
/* Copy rank-adaptive result out[0] into out[1..nranks). */
void lr_factors_replicate(lr_factors *out, size_t nranks);
/* The factors of a rank-k estimate given in the range coordinates of X~: out[0].A = Vx T_k
 * (N0 x k), out[0].B = the first k rows of VT (k x N1); then replicated into every rank. */
int lr_factors_from_range(const lr_layer *L, lr_mat T, lr_mat VT, size_t k, lr_factors *out,
                          size_t nranks);

#endif
