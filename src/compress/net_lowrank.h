/* Post-training low-rank truncation of a network trained by lrlab's engine (src/nn/train.h)
 * through the compressor registry (src/compress/compress.h), as the lq and lod experiments
 * compare it with compression during training.
 *
 * Each dense layer l of a trained network is one layer problem of docs/theory.md section 1:
 * X~ (m x N0) = the layer's inputs on m calibration samples propagated through the trained
 * network (every layer dense, at its trained weights), W (N0 x N1) the trained weight in
 * lrlab's layout, Y = X~ W, and X~'s thin SVD.  A data-agnostic compressor (svd_w) ignores
 * X~; a data-driven one (dd_rank, the Eckart-Young solution of min ||X~ W - X~ M||_F over rank
 * k, Zhang and Saab) fits Y on it.  Every layer is calibrated on the dense network's inputs
 * (not sequentially on the compressed prefix), so the layers' fits are independent.
 *
 * Layout: lrlab's N0 x N1 column-major W and the engine's n1 x n0 row-major W are the same
 * bytes, so a compressor's dense M is written into the engine's W unchanged. */
#ifndef LR_COMPRESS_NET_LOWRANK_H
#define LR_COMPRESS_NET_LOWRANK_H

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

#include "compress/compress.h"
#include "nn/train.h"

typedef struct lr_net_calib {
    size_t nl, m;
    lr_layer *layers; /* per layer of the network: X~, a copy of W, Y, X~'s SVD */
    double **store;   /* per layer: the memory behind its matrices */
} lr_net_calib;

/* The layer problems of every layer of net (all dense) on the first m samples of x (m x
 * in_dim, row-major), through net's forward pass at its current weights.  LR_EINVAL when a
 * layer is factored. */
int lr_net_calib_build(lr_tnet *net, const double *x, size_t m, lr_net_calib *out);
void lr_net_calib_free(lr_net_calib *c);
/* The largest layer problem of c, for lr_compressor_plan_alloc. */
lr_layer_shape lr_net_calib_shape(const lr_net_calib *c);

/* A worker's scratch for lr_net_truncate_layer: factor buffers for the largest layer and
 * the compressors' random stream. */
typedef struct lr_net_truncator {
    double *fa, *fb;
    gsl_rng *crng;
} lr_net_truncator;

int lr_net_truncator_init(lr_net_truncator *t, const lr_layer_shape *max);
void lr_net_truncator_free(lr_net_truncator *t);

/* Replace the weight of dense layer l of net by the compressor's rank-k fit on c's layer l
 * (the biases stay), the compressor's stream seeded by (seed, point, stream, l). */
int lr_net_truncate_layer(lr_tnet *net, size_t l, lr_compressor_plan *plan, const lr_net_calib *c, size_t k, uint64_t seed,
                          size_t point, uint64_t stream, lr_net_truncator *t);

#endif
