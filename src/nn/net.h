/* A forward pass for the sequential networks of layer dumps (dense and conv layers, grouped
 * convs as their block-diagonal W, the activations of nn/activation.h, max/average pooling,
 * flatten, layer normalisation), with optional low-rank replacements of each layer.
 *
 * Activations of a batch of n samples are an n x D matrix (row = sample), D the
 * flattened per-sample size in PyTorch's NCHW order (channel, then row, then column), so
 * flatten costs nothing.  A conv layer is a dense layer on im2col rows: for sample s and
 * output position p = oh * OW + ow, row s * L + p of X holds the receptive field in
 * torch.nn.functional.unfold's order (c * kh * kw + i * kw + j), exactly the rows of the
 * dumps' X, so Y = X W + 1 b^T is the same matrix product for both kinds. */
#ifndef LR_NN_NET_H
#define LR_NN_NET_H

#include <stddef.h>

#include "core/mat.h"
#include "compress/compressed.h"
#include "io/dump.h"
#include "nn/activation.h"

/* An op after a layer: an activation of the registry (nn/activation.h), a pooling, a
 * flatten or a layer normalisation.
 *
 * layernorm(eps) is torch.nn.LayerNorm over the whole per-sample activation at that point
 * (normalized_shape = the sample's shape, D values in NCHW order): per sample
 *     y_i = (x_i - mu) / sqrt(v + eps) * w_i + b_i,   mu = sum_i x_i / D,
 *     v = sum_i (x_i - mu)^2 / D   (the biased variance, as PyTorch's),
 * with the elementwise affine w, b the layer's datasets postP_weight and postP_bias (P the
 * op's position in `post`); w = 1 without postP_weight, b = 0 without postP_bias. */
typedef enum { LR_POST_ACT, LR_POST_MAXPOOL, LR_POST_AVGPOOL, LR_POST_FLATTEN, LR_POST_LAYERNORM } lr_post_kind;

typedef struct lr_post_op {
    lr_post_kind kind;
    lr_activation_id act; /* LR_POST_ACT: which one */
    double param;         /* LR_POST_ACT: its parameter (leaky_relu's negative slope);
                             LR_POST_LAYERNORM: eps; else 0 */
    long k, s;            /* pooling window and stride */
    size_t dim;           /* LR_POST_LAYERNORM: values normalised per sample */
    double *w, *b;        /* LR_POST_LAYERNORM: the affine weight and bias (dim each, owned by
                             the network), or NULL: 1 and 0 */
} lr_post_op;

#define LR_NET_MAX_POST LR_DUMP_MAX_POST

typedef struct lr_net_layer {
    lr_layer_kind kind;
    char module[256];
    size_t n0, n1;
    lr_mat W;  /* n0 x n1 (owned) */
    double *b; /* n1 (zeros if the layer has none) */
    int has_bias;
    long kernel[2], stride[2], padding[2], dilation[2];
    long in_shape[3];  /* C, H, W of the layer's input (conv) */
    size_t in_dim;     /* per-sample input size */
    size_t L;          /* output positions per sample: OH * OW (conv), 1 (linear) */
    long out_shape[3]; /* C, H, W of the pre-activations per sample */
    lr_post_op post[LR_NET_MAX_POST];
    size_t npost;
    long post_shape[3]; /* after the post ops */
    size_t post_dim;
} lr_net_layer;

typedef struct lr_net {
    size_t nlayers;
    lr_net_layer *layers;
    size_t in_dim, out_dim;
} lr_net;

/* A replacement of a layer: Y = [X, 1] A B (bias folded: A has n0 + has_bias rows); or,
 * when `c` is set, Y = X M + 1 b^T with M any compressed representation of W (n0 x n1,
 * compress/compressed.h: an ALDS layer is k encoders and a decoder, applied as such, never
 * re-assembled) and the layer's own bias; or neither (NULL A.data, NULL c): the dense layer. */
typedef struct lr_net_lowrank {
    lr_mat A, B;
    const lr_compressed *c;
} lr_net_lowrank;

/* Build the network of a dump whose network attribute is "sequential"; reads the weights
 * and checks that shapes chain from /inputs through every layer. */
int lr_net_from_dump(const lr_dump *d, lr_net **out);
void lr_net_free(lr_net *net);

/* Rows of X a batch of n samples produces at this layer (n * L). */
size_t lr_net_rows(const lr_net_layer *L, size_t n);
/* X (n*L x n0) from the layer's input activations act (n x in_dim). */
int lr_net_im2col(const lr_net_layer *L, lr_mat act, lr_mat X);
/* Y (rows x n1) = X W + 1 b^T, or [X, 1] A B with a replacement. */
int lr_net_apply(const lr_net_layer *L, const lr_net_lowrank *lr, lr_mat X, lr_mat Y);
/* act_out (n x post_dim) from Y (n*L x n1) through the post ops. */
int lr_net_post(const lr_net_layer *L, lr_mat Y, size_t n, lr_mat act_out);
/* The whole network on n samples x (n x in_dim): logits (n x out_dim).  lr may be NULL
 * (dense) or hold one replacement per layer. */
int lr_net_forward(const lr_net *net, const lr_net_lowrank *lr, lr_mat x, lr_mat logits);
/* Correct argmax predictions of the network (with replacements lr, or NULL) on the n
 * samples x (n x in_dim) with their labels, run in batches of `batch` samples. */
int lr_net_correct(const lr_net *net, const lr_net_lowrank *lr, lr_mat x, const long *labels, size_t batch,
                   size_t *correct);
/* Number of correct argmax predictions. */
size_t lr_net_count_correct(lr_mat logits, const long *labels);

/* Parse a layer's post attribute, e.g. "relu,maxpool2d(2,2),flatten",
 * "leaky_relu(0.01)" or "layernorm(1e-05),gelu"; an unknown op's message lists the known
 * ones.  A layernorm's affine is not read here (lr_net_from_dump reads it). */
int lr_net_parse_post(const char *text, lr_post_op *ops, size_t *nops);

/* The layer normalisation of the op (LR_POST_LAYERNORM) on each of the n rows of A (n x
 * op->dim), in place; LR_EDATA if a row has v + eps = 0 (a constant sample with eps = 0). */
int lr_net_layernorm(const lr_post_op *op, lr_mat A);

#endif
