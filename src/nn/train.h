/* Training sequential networks of dense layers on BLAS, and LoD (docs/theory.md section 6).
 *
 * A network is a chain of linear layers, each followed by an activation of the registry
 * (src/nn/activation.h) or none.  A layer is either dense, Z = A W^T + 1 b^T with W the
 * n1 x n0 weight in PyTorch's layout, or factored, W^T = U V^T in lrlab's notation (docs/theory.md
 * section 1: the N0 x N1 map), U n0 x r_max, V n1 x r_max, of which only the first k
 * columns are used: Z = (A U_k) V_k^T + 1 b^T.  A batch of n samples is an n x D row-major
 * matrix (row = sample), as PyTorch's, so every product is one CBLAS row-major DGEMM.
 *
 * Every parameter lives in one vector theta (grad beside it), layer by layer in the order
 * W (or U, V), b: the optimisers are one loop over theta, the finite-difference tests
 * perturb theta[i], and the dump writer reads the views.
 *
 * Losses (mean over the batch, as PyTorch's default reduction):
 *   softmax cross-entropy   L = -(1/n) sum_s log softmax(z_s)_{y_s}     nn.CrossEntropyLoss
 *   squared                 L = (1/(n d)) sum_s ||z_s - t_s||^2          nn.MSELoss
 * (for squared loss with labels, t_s is the one-hot vector of y_s).
 *
 * Optimisers (PyTorch's update rules, torch.optim 1.13):
 *   SGD   g += wd theta; buf = mu buf + g (buf = g at the first step); g = g + mu buf
 *         (Nesterov) or buf; theta -= lr g
 *   Adam  g += wd theta (L2); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 *         theta -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   AdamW theta *= 1 - lr wd (decoupled, Loshchilov and Hutter 2019), then Adam without L2.
 *
 * LoD (ordered low-rank training; docs/theory.md section 6): per step a rank b is drawn for the
 * factored layers (from lr_lod_pmf's distribution) and only their first b components take
 * part in the forward and backward pass; after each optimiser step the proximal operator of
 * the hierarchical group lasso lambda sum_t (||U_{:,t:}||_F + ||V_{:,t:}||_F) is applied
 * with step lr lambda.  Its groups (the column suffixes t..r) are nested, so the prox is
 * exact: the group soft-thresholds composed from the smallest group (t = r) to the largest
 * (t = 1) (Jenatton, Mairal, Obozinski, Bach, "Proximal methods for hierarchical sparse
 * coding", JMLR 2011, Prop. 1).  The prox, not the subgradient, because it sets tail
 * components exactly to zero, so the end-of-epoch pruning of the suffix whose importance
 * ||U_{:,t:}||_F ||V_{:,t:}||_F falls below a threshold cuts what the penalty removed
 * instead of what a subgradient step left oscillating around zero.
 *
 * Thread count: the engine's only reductions are its own loops (bias gradients, losses,
 * optimiser updates), in a fixed order, and OpenBLAS's DGEMM splits its output among
 * threads without splitting the inner dimension, so a run gives the same bits for any
 * OPENBLAS_NUM_THREADS (tests/test_train.c checks 1 against 2 threads). */
#ifndef LR_NN_TRAIN_H
#define LR_NN_TRAIN_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

/* No activation after the layer (the identity). */
#define LR_TRAIN_ACT_NONE (-1)

typedef enum { LR_LOSS_SOFTMAX_CE = 0, LR_LOSS_SQUARED = 1 } lr_loss_kind;
typedef enum { LR_OPT_SGD = 0, LR_OPT_ADAM = 1, LR_OPT_ADAMW = 2 } lr_opt_kind;

typedef struct lr_tlayer_spec {
    size_t n_out;
    int act;          /* an lr_activation_id, or LR_TRAIN_ACT_NONE */
    double act_param; /* leaky_relu's negative slope, else 0 */
    size_t rank;      /* 0: dense; > 0: factored with r_max = rank (at most min(n0, n1)) */
} lr_tlayer_spec;

typedef struct lr_tlayer {
    size_t n0, n1;
    int act;
    double act_param;
    size_t rmax; /* 0 for a dense layer */
    size_t rank; /* factored: the components kept (pruning lowers it); columns past it are 0 */
    /* Views into theta and grad: W n1 x n0, U n0 x rmax, V n1 x rmax (row-major), b n1. */
    double *W, *U, *V, *b;
    double *gW, *gU, *gV, *gb;
    /* Dense layers: a caller-owned pruning mask beside W (n1 x n0 bytes, row-major like W,
     * 1 = trainable, 0 = pruned), or NULL.  lr_train_epoch zeroes the pruned entries of the
     * gradient before each optimiser step and of W after it, so pruned weights stay exactly
     * 0 during retraining (src/compress/lq.h's pruning loop). */
    const unsigned char *mask;
} lr_tlayer;

typedef struct lr_tnet {
    size_t nlayers, in_dim, out_dim;
    lr_tlayer *layers;
    size_t nparams;
    double *theta, *grad;
    /* Workspace for batches of at most cap samples. */
    size_t cap, width;  /* width: the widest layer input or output */
    double **Z, **A;    /* per layer: pre-activations and outputs, cap x n1 */
    double **H;         /* per factored layer: A_in U_k, cap x rmax */
    double *d0, *d1, *dH; /* backward buffers */
    double *S;            /* the transposed products' scratch (train.c, mm) */
    size_t *ranks;      /* the ranks of the last forward pass */
} lr_tnet;

/* A network on in_dim inputs with nlayers layers; batches of at most cap samples.
 * Parameters are zero until an init.  NULL with a message on a bad spec or no memory. */
lr_tnet *lr_tnet_alloc(size_t in_dim, const lr_tlayer_spec *specs, size_t nlayers, size_t cap);
void lr_tnet_free(lr_tnet *net);

/* PyTorch's nn.Linear initialisation: W and b uniform on +-1/sqrt(n0) (kaiming_uniform with
 * a = sqrt 5).  A factored layer: U and V uniform with the bound that gives U V^T the
 * variance of that W, 1/(3 n0) per entry (each factor variance sqrt(1/(3 n0 r))). */
int lr_tnet_init_random(lr_tnet *net, gsl_rng *r);
/* A factored layer from a dense weight W (n1 x n0, PyTorch's layout) through its SVD
 * W^T = P S Q^T, balanced: U = P_r S_r^{1/2}, V = Q_r S_r^{1/2} (docs/theory.md section 6); b unchanged. */
int lr_tnet_init_svd(lr_tnet *net, size_t layer, const double *W);

/* Forward pass of n <= cap samples x (n x in_dim, row-major); ranks: the active rank of
 * each layer (ignored for dense ones), or NULL: every factored layer at its kept rank.
 * The outputs (n x out_dim) are lr_tnet_output(net). */
int lr_tnet_forward(lr_tnet *net, const double *x, size_t n, const size_t *ranks);
const double *lr_tnet_output(const lr_tnet *net);

/* Forward and backward: grad = dL/dtheta of the mean loss on the batch, *loss its value.
 * labels (n class indices) or targets (n x out_dim, squared loss only) give the truth. */
int lr_tnet_loss_grad(lr_tnet *net, const double *x, size_t n, const long *labels, const double *targets,
                      lr_loss_kind loss, const size_t *ranks, double *loss_out);
/* The loss alone (forward only). */
int lr_tnet_loss(lr_tnet *net, const double *x, size_t n, const long *labels, const double *targets,
                 lr_loss_kind loss, const size_t *ranks, double *loss_out);

/* Correct argmax predictions on N samples (batches of cap), every layer at its kept rank. */
int lr_tnet_correct(lr_tnet *net, const double *x, const long *labels, size_t N, size_t *correct);
/* The same with the factored layers at the active ranks `ranks` (as lr_tnet_forward's). */
int lr_tnet_correct_at(lr_tnet *net, const double *x, const long *labels, size_t N, const size_t *ranks, size_t *correct);

/* The dense weight of a layer (n1 x n0, PyTorch's layout): W, or V_k U_k^T at the kept rank. */
int lr_tnet_dense_weight(const lr_tnet *net, size_t layer, double *W);

/* Pruning masks (lr_tlayer.mask): masks[l] for every layer (NULL entries: no mask; a mask
 * on a factored layer is LR_EINVAL).  masks NULL clears every mask. */
int lr_tnet_set_masks(lr_tnet *net, const unsigned char *const *masks);
/* Zero the masked entries of W (weights = 1) or of its gradient (weights = 0). */
void lr_tnet_apply_masks(lr_tnet *net, int weights);

/* ---- optimisers ---- */
typedef struct lr_optim_opts {
    lr_opt_kind kind;
    double lr, weight_decay;
    double momentum; /* SGD */
    int nesterov;    /* SGD */
    double beta1, beta2, eps; /* Adam, AdamW */
} lr_optim_opts;

typedef struct lr_optim {
    lr_optim_opts o;
    size_t n;
    long t;
    double *m, *v;
} lr_optim;

lr_optim *lr_optim_alloc(size_t nparams, const lr_optim_opts *o);
void lr_optim_free(lr_optim *opt);
/* One step theta <- update(theta, grad) (grad is left as it was). */
int lr_optim_step(lr_optim *opt, double *theta, const double *grad);

/* ---- LoD ---- */
typedef enum { LR_LOD_FULL = 0, LR_LOD_UNIFORM = 1, LR_LOD_GEOMETRIC = 2 } lr_lod_dist;

typedef struct lr_lod_opts {
    lr_lod_dist dist; /* full: every step at the kept rank (no sampling) */
    double geom_p;    /* geometric: p_b proportional to p (1 - p)^(b-1) on 1..k */
    int one_layer;    /* 1: per step one factored layer (uniformly) gets the drawn rank, the
                         others their kept rank; 0: each factored layer draws its own */
    double lambda;    /* hierarchical group lasso weight (0: off) */
    double prune_tol; /* cut the suffix t.. where importance(t) < prune_tol importance(1);
                         0: no pruning */
} lr_lod_opts;

/* p[b - 1] = P(rank b), b = 1..k (sums to 1). */
int lr_lod_pmf(const lr_lod_opts *o, size_t k, double *p);
/* Draw the ranks of one step (ranks[l] for every layer; dense layers get 0). */
int lr_lod_sample_ranks(const lr_tnet *net, const lr_lod_opts *o, gsl_rng *r, size_t *ranks);
/* The prox of tau sum_t (||U_{:,t:}||_F + ||V_{:,t:}||_F) on every factored layer. */
void lr_lod_prox(lr_tnet *net, double tau);
/* importance[t] = ||U_{:,t:}||_F ||V_{:,t:}||_F, t = 0..rank-1 (0-based), of a factored layer. */
int lr_lod_importance(const lr_tnet *net, size_t layer, double *importance);
/* Cut the suffix of every factored layer whose relative importance is below tol (at least
 * one component stays); the cut columns become 0. */
void lr_lod_prune(lr_tnet *net, double tol);
/* Zero the columns past the kept rank (after an optimiser step, whose momentum would move them). */
void lr_lod_mask(lr_tnet *net);
/* The expected gradient over LoD's rank distribution for one factored layer (the others at
 * their kept rank): grad = sum_b p_b dL_b/dtheta, *loss = sum_b p_b L_b.  Full-batch and
 * deterministic, for the recovery checks of docs/theory.md section 6. */
int lr_lod_expected_grad(lr_tnet *net, size_t layer, const lr_lod_opts *o, const double *x, size_t n,
                         const long *labels, const double *targets, lr_loss_kind loss, double *loss_out);

/* ---- an epoch ---- */
typedef struct lr_train_data {
    const double *x;      /* N x in_dim */
    const long *labels;   /* N, or NULL */
    const double *targets;/* N x out_dim (squared loss), or NULL */
    size_t N;
} lr_train_data;

typedef struct lr_epoch_stats {
    double loss;   /* mean over the epoch's batches */
    size_t steps;
} lr_epoch_stats;

/* One epoch: a seeded shuffle of the N samples (gsl_ran_shuffle from r), batches of `batch`
 * (the last one shorter, as PyTorch's DataLoader with drop_last = False), per batch LoD's
 * ranks (lod may be NULL: dense training), the gradient (its pruned entries zeroed: lr_tlayer.
 * mask), an optimiser step, the pruned weights zeroed again, LoD's prox and mask; at the end
 * LoD's pruning. */
int lr_train_epoch(lr_tnet *net, lr_optim *opt, const lr_train_data *data, size_t batch, lr_loss_kind loss,
                   const lr_lod_opts *lod, gsl_rng *r, lr_epoch_stats *st);

/* Set OpenBLAS's thread count (n > 0; n <= 0 leaves it) and return the previous one. */
int lr_train_blas_threads(int n);

#endif
