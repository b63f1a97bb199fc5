/* Retraining between pruning rounds through lrlab's training engine (src/nn/train.h): the
 * retrain callback of lr_prune_loop (src/compress/lq.h; docs/theory.md section 7).
 *
 * Wang, Ding, Yang, Yang (2022) prune adaptively, rewind the survivors to their initial
 * weights and retrain between rounds, as Frankle and Carbin's lottery-ticket procedure
 * ("The Lottery Ticket Hypothesis", ICLR 2019) does with iterative magnitude pruning.  The
 * loop rewinds W; this callback rewinds the biases to theirs too (theta_init), then trains
 * the masked network for `epochs` epochs with a fresh optimiser: the engine zeroes the
 * pruned entries of every gradient and of W after every step (lr_tlayer.mask), so pruned
 * weights stay exactly 0 and the mask only shrinks across rounds.
 *
 * Layout: lrlab's N0 x N1 column-major W (lr_mask_layer, ld = N0) and the engine's n1 x n0
 * row-major W (PyTorch's) are the same bytes, so masks and weights are copied unchanged. */
#ifndef LR_COMPRESS_LQ_TRAIN_H
#define LR_COMPRESS_LQ_TRAIN_H

#include <stddef.h>

#include "compress/lq.h"
#include "nn/train.h"

typedef struct lr_lq_retrainer {
    lr_tnet *net;               /* dense layers, one per lr_mask_layer (the trained network) */
    const lr_train_data *data;  /* the training set */
    const double *theta_init;   /* net->nparams initial parameters (biases rewound to them), or NULL */
    lr_optim_opts opt;          /* a fresh optimiser per round */
    lr_loss_kind loss;
    size_t epochs, batch;       /* per round */
    unsigned long seed;         /* the round's shuffles: seed + round */
} lr_lq_retrainer;

/* lr_prune_retrain_fn: ctx is an lr_lq_retrainer.  On return net holds the retrained
 * network (W = layers' W, pruned entries 0) and layers' W the retrained weights. */
int lr_lq_retrain(void *ctx, lr_mask_layer *layers, size_t nl, size_t round);

/* Copy the layers' weights into net's W (W .* mask: the pruned network), or back. */
int lr_lq_weights_to_net(lr_tnet *net, const lr_mask_layer *layers, size_t nl);
int lr_lq_weights_from_net(const lr_tnet *net, lr_mask_layer *layers, size_t nl);

#endif
