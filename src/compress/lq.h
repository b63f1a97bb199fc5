/* l_q soft sparsity and pruning masks (src/compress/lq.c; docs/theory.md section 7).
 * Wang, Ding, Yang, Yang, "A Theoretical Understanding of Neural Network Compression from
 * Sparse Linear Approximation" (2022).
 *
 * A neuron's weights are w in R^d (d = N0: a column of lrlab's N0 x N1 W, the neuron's
 * incoming weights).  For 0 < q < 1,
 *     ||w||_q = (sum_i |w_i|^q)^{1/q},
 *     SI_q(w) = d^{1/q - 1} ||w||_1 / ||w||_q  in [1, d^{1/q - 1}]
 * (1 on equal magnitudes, d^{1/q - 1} on 1-sparse vectors; scale and permutation
 * invariant).  A zero vector has equal magnitudes, so SI_q(0) = 1 by convention here.
 * Keeping the k largest magnitudes, w_[k],
 *     ||w - w_[k]||_1 <= ||w||_q k^{1 - 1/q},     ||w - w_[k]||_2 <= ||w||_q k^{1/2 - 1/q},
 * both because the i-th largest magnitude is at most ||w||_q i^{-1/q}.
 *
 * Pruning works on masks beside the weights (lr_mask_layer): W keeps its values, mask says
 * which survive (the pruned network's weights are W .* mask).  A pruning step splits the
 * survivors into groups by scope (each neuron, each layer, or the whole network) and
 * prunes, in each group of s survivors, the floor(p s) of smallest magnitude, where
 *     adaptive:   p = min{c (1 - m/s), cap},
 *                 m = ceil(s (1 + eta)^{-1/(1-q)} SI_q(survivors)^{-q/(1-q)})
 *                 (the paper's per-neuron rule; layer and global scope apply it to the
 *                 layer's or the network's survivors as one vector: lrlab's extension);
 *     magnitude:  p = min{fraction, cap} (fraction 0.2 per round: iterative magnitude
 *                 pruning; one-shot magnitude pruning is one step at 1 - keep).
 * Ties: of equal magnitudes the later position (flat column-major index, layer order) is
 * pruned first, and top-k keeps the earlier one, so every result is deterministic.
 * At most min{floor(p s), s - 1} go: a group is never emptied, and no step prunes more than
 * cap (0.9 by default) of a group's survivors.
 *
 * The iterative loop (lr_prune_loop) repeats: a step, rewinding every survivor to its
 * initial weight (pruned weights set to 0), then retrain(ctx, layers, nl, round), a
 * callback that may be NULL ("no retraining": the loop is a pure pruning schedule);
 * lr_lq_retrain (compress/lq_train.h) retrains through lrlab's training engine with the
 * masks held.  docs/architecture.md describes the seam. */
#ifndef LR_COMPRESS_LQ_H
#define LR_COMPRESS_LQ_H

#include <stddef.h>

#include "core/mat.h"
#include "nn/activation.h"

/* ---- vector kernels (w: n values at stride inc) ---- */

/* log ||w||_q, computed as log M + (1/q) log sum (|w_i| / M)^q with M = max |w_i|, so that
 * neither the powers nor the sum overflow or underflow; -INFINITY for a zero vector.
 * q > 0 (q = 1 is the l1 norm).  NAN if a value is not finite. */
double lr_lq_log_norm(const double *w, size_t n, size_t inc, double q);
/* ||w||_q = exp(lr_lq_log_norm): may be +inf for q tiny and n huge, where the log is not. */
double lr_lq_norm(const double *w, size_t n, size_t inc, double q);
/* SI_q(w) for 0 < q < 1, computed in logs (1 for a zero vector, NAN for n = 0 or a
 * non-finite value). */
double lr_lq_si(const double *w, size_t n, size_t inc, double q);
/* The adaptive rule's m for a vector of s entries with index si (docs/theory.md section 7);
 * clamped to [1, s]. */
size_t lr_lq_adaptive_m(size_t s, double si, double q, double eta);
/* The adaptive rule's prune fraction min{c (1 - m/s), cap}, at least 0. */
double lr_lq_adaptive_fraction(size_t s, double si, double q, double c, double eta, double cap);

/* Positions of w by decreasing magnitude, ties by increasing position (order: n values;
 * work: lr_lq_order_work(n) bytes, caller-owned). */
size_t lr_lq_order_work(size_t n);
void lr_lq_order(const double *w, size_t n, size_t inc, size_t *order, void *work);
/* |w| sorted by decreasing size into out (n values): lr_lq_order's magnitudes without the
 * positions, for the truncation errors alone. */
void lr_lq_sorted_magnitudes(const double *w, size_t n, size_t inc, double *out);
/* The truncation errors of every k = 0 .. n at once: err1[k] = ||w - w_[k]||_1,
 * err2[k] = ||w - w_[k]||_2 (n + 1 values each; either may be NULL), from the magnitudes
 * sorted by decreasing size (sorted: n values, e.g. |w[order[i]]|).  Tails are summed from
 * the smallest up, the l2 tail scaled by the largest magnitude. */
void lr_lq_tail_errors(const double *sorted, size_t n, double *err1, double *err2);
/* The two truncation bounds ||w||_q k^{1-1/q} and ||w||_q k^{1/2-1/q} from log ||w||_q
 * (NAN for k = 0, where they say nothing). */
double lr_lq_bound_l1(double log_norm_q, double q, size_t k);
double lr_lq_bound_l2(double log_norm_q, double q, size_t k);

/* ---- masks ---- */

/* One layer's weights W (n0 x n1, neuron j = column j) and its mask (n0 n1 bytes,
 * column-major like W, 1 = kept).  Both are caller-owned views. */
typedef struct lr_mask_layer {
    lr_mat W;
    unsigned char *mask;
} lr_mask_layer;

size_t lr_mask_kept(const lr_mask_layer *L);
size_t lr_mask_kept_neuron(const lr_mask_layer *L, size_t j);
/* out = W .* mask (n0 x n1). */
void lr_mask_apply(const lr_mask_layer *L, lr_mat out);
/* Every weight kept. */
void lr_mask_fill(lr_mask_layer *L);
/* Keep only the k_j largest magnitudes of each neuron j (ties as above; order: n0 values
 * and work: lr_lq_order_work(n0) bytes of workspace). */
void lr_mask_topk_neurons(lr_mask_layer *L, const size_t *k, size_t *order, void *work);

/* ---- pruning rules ---- */

typedef enum { LR_PRUNE_ADAPTIVE = 0, LR_PRUNE_MAGNITUDE = 1 } lr_prune_rule;
typedef enum { LR_PRUNE_NEURON = 0, LR_PRUNE_LAYER = 1, LR_PRUNE_GLOBAL = 2 } lr_prune_scope;

typedef struct lr_prune_opts {
    lr_prune_rule rule;
    lr_prune_scope scope;
    double q, c, eta; /* adaptive: docs/theory.md's defaults 0.5, 5, 0 */
    double fraction;  /* magnitude: fraction of each group's survivors pruned per step (0.2) */
    double cap;       /* largest fraction of a group's survivors one step prunes (0.9) */
    size_t rounds;    /* lr_prune_loop: steps T (30) */
} lr_prune_opts;

lr_prune_opts lr_prune_opts_default(void);
/* "adaptive" / "magnitude", "neuron" / "layer" / "global"; -1 for any other name. */
int lr_prune_rule_of(const char *name);
int lr_prune_scope_of(const char *name);
const char *lr_prune_scope_name(lr_prune_scope s);

/* Workspace of a step on these layers: the largest group's (magnitude, position) pairs. */
typedef struct lr_prune_ws lr_prune_ws;
lr_prune_ws *lr_prune_ws_alloc(const lr_mask_layer *layers, size_t nl);
void lr_prune_ws_free(lr_prune_ws *ws);

/* One pruning step on the masks by the magnitudes of W (never more than cap of a group's
 * survivors).  pruned: how many weights it removed (may be NULL).  LR_EINVAL for options
 * out of range (q not in (0, 1), c < 0, eta <= -1, fraction or cap not in [0, 1]). */
int lr_prune_step(lr_mask_layer *layers, size_t nl, const lr_prune_opts *o, lr_prune_ws *ws, size_t *pruned);

/* The retraining seam: called after each round's rewind; may change W (not the masks:
 * the loop re-applies them).  Returns a status. */
typedef int (*lr_prune_retrain_fn)(void *ctx, lr_mask_layer *layers, size_t nl, size_t round);
/* Called after each round (1 .. rounds) with the pruned, rewound, retrained layers: the
 * place to measure (kept counts, SI_q per layer, accuracy). */
typedef int (*lr_prune_round_fn)(void *ctx, const lr_mask_layer *layers, size_t nl, size_t round);

/* o->rounds times: lr_prune_step, then W = W_init .* mask (W_init[l]: layer l's initial
 * weights, same shape), then retrain (NULL: none), then on_round (NULL: none). */
int lr_prune_loop(lr_mask_layer *layers, size_t nl, const lr_mat *W_init, const lr_prune_opts *o,
                  lr_prune_retrain_fn retrain, void *retrain_ctx, lr_prune_round_fn on_round, void *round_ctx);

/* f(x) = sum_j a_j sigma(w_j . x) for every row x of X (m x d): out (m values); W d x n
 * (neuron j = column j), Z m x n workspace (Z = sigma(X W) on return). */
int lr_lq_onehidden(lr_mat X, lr_mat W, const double *a, lr_activation_id act, lr_mat Z, double *out);

#endif
