/* Retraining between pruning rounds (lq_train.h has the procedure and its sources). */
#include <gsl/gsl_rng.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"
#include "lq_train.h"

static int check_shapes(const lr_tnet *net, const lr_mask_layer *layers, size_t nl)
{
    if (nl != net->nlayers)
        LR_ERRORF(LR_EINVAL, "retraining: %zu pruned layers, the network has %zu", nl, net->nlayers);
    for (size_t l = 0; l < nl; l++) {
        const lr_tlayer *T = &net->layers[l];
        const lr_mat *W = &layers[l].W;
        if (T->rmax || W->rows != T->n0 || W->cols != T->n1 || W->ld != W->rows)
            LR_ERRORF(LR_EINVAL, "retraining: layer %zu is %zux%zu (ld %zu), the network's dense %zux%zu%s", l, W->rows,
                      W->cols, W->ld, T->n0, T->n1, T->rmax ? " is factored" : "");
    }
    return LR_OK;
}

int lr_lq_weights_to_net(lr_tnet *net, const lr_mask_layer *layers, size_t nl)
{
    LR_TRY(check_shapes(net, layers, nl));
    for (size_t l = 0; l < nl; l++) {
        size_t n = layers[l].W.rows * layers[l].W.cols;
        for (size_t i = 0; i < n; i++) net->layers[l].W[i] = layers[l].mask[i] ? layers[l].W.data[i] : 0.0;
    }
    return LR_OK;
}

int lr_lq_weights_from_net(const lr_tnet *net, lr_mask_layer *layers, size_t nl)
{
    LR_TRY(check_shapes(net, layers, nl));
    for (size_t l = 0; l < nl; l++)
        memcpy(layers[l].W.data, net->layers[l].W, layers[l].W.rows * layers[l].W.cols * sizeof(double));
    return LR_OK;
}

int lr_lq_retrain(void *ctx, lr_mask_layer *layers, size_t nl, size_t round)
{
    lr_lq_retrainer *rt = ctx;
    lr_tnet *net = rt->net;
    LR_TRY(lr_lq_weights_to_net(net, layers, nl));
    if (rt->theta_init)
        for (size_t l = 0; l < nl; l++) {
            const lr_tlayer *T = &net->layers[l];
            memcpy(T->b, rt->theta_init + (T->b - net->theta), T->n1 * sizeof(double));
        }
    if (!rt->epochs) return LR_OK;
    const unsigned char **masks = lr_calloc(nl, sizeof *masks);
    lr_optim *opt = lr_optim_alloc(net->nparams, &rt->opt);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int s = masks && opt && r ? LR_OK : LR_ENOMEM;
    if (s != LR_OK) lr_error(s, __FILE__, __LINE__, "retraining: no memory for the optimiser");
    if (s == LR_OK) {
        gsl_rng_set(r, rt->seed + round);
        for (size_t l = 0; l < nl; l++) masks[l] = layers[l].mask;
        s = lr_tnet_set_masks(net, masks);
    }
    for (size_t e = 0; s == LR_OK && e < rt->epochs; e++)
        s = lr_train_epoch(net, opt, rt->data, rt->batch, rt->loss, NULL, r, NULL);
    lr_tnet_set_masks(net, NULL);
    if (s == LR_OK) s = lr_lq_weights_from_net(net, layers, nl);
    gsl_rng_free(r);
    lr_optim_free(opt);
    lr_free((void *)masks);
    return s;
}
