/* One epoch of minibatch training (see train.h).  Apart from train.c because it shuffles
 * with GSL's gsl_ran_shuffle, and GSL's headers (gsl_randist.h -> gsl_matrix.h -> gsl_cblas.h)
 * cannot be included beside OpenBLAS's cblas.h, which train.c's products need. */
#include <gsl/gsl_randist.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"
#include "nn/train.h"

int lr_train_epoch(lr_tnet *net, lr_optim *opt, const lr_train_data *data, size_t batch, lr_loss_kind loss,
                   const lr_lod_opts *lod, gsl_rng *r, lr_epoch_stats *st)
{
    if (!batch || batch > net->cap) LR_ERRORF(LR_EINVAL, "lr_train_epoch: batch %zu, capacity %zu", batch, net->cap);
    size_t N = data->N, D = net->in_dim, d = net->out_dim;
    size_t *perm = lr_malloc(N * sizeof(size_t)), *ranks = lr_calloc(net->nlayers, sizeof(size_t));
    double *xb = lr_malloc(batch * D * sizeof(double));
    double *tb = data->targets ? lr_malloc(batch * d * sizeof(double)) : NULL;
    long *yb = data->labels ? lr_malloc(batch * sizeof(long)) : NULL;
    int status = perm && ranks && xb && (!data->targets || tb) && (!data->labels || yb) ? LR_OK : LR_ENOMEM;
    if (status != LR_OK) lr_error(status, __FILE__, __LINE__, "lr_train_epoch: no memory for a batch of %zu", batch);
    double total = 0.0;
    size_t steps = 0;
    if (status == LR_OK) {
        for (size_t i = 0; i < N; i++) perm[i] = i;
        gsl_ran_shuffle(r, perm, N, sizeof(size_t));
    }
    for (size_t s0 = 0; status == LR_OK && s0 < N; s0 += batch) {
        size_t n = N - s0 < batch ? N - s0 : batch;
        for (size_t s = 0; s < n; s++) {
            size_t i = perm[s0 + s];
            memcpy(xb + s * D, data->x + i * D, D * sizeof(double));
            if (yb) yb[s] = data->labels[i];
            if (tb) memcpy(tb + s * d, data->targets + i * d, d * sizeof(double));
        }
        if (lod) status = lr_lod_sample_ranks(net, lod, r, ranks);
        double lb = 0.0;
        if (status == LR_OK) status = lr_tnet_loss_grad(net, xb, n, yb, tb, loss, lod ? ranks : NULL, &lb);
        /* Masked (pruned) weights: no gradient, so Adam's moments stay 0 for them, and W
         * re-zeroed after the step, which weight decay or momentum could otherwise move. */
        if (status == LR_OK) lr_tnet_apply_masks(net, 0);
        if (status == LR_OK) status = lr_optim_step(opt, net->theta, net->grad);
        if (status == LR_OK) lr_tnet_apply_masks(net, 1);
        if (status == LR_OK && lod) {
            lr_lod_prox(net, opt->o.lr * lod->lambda);
            lr_lod_mask(net);
        }
        total += lb;
        steps++;
    }
    if (status == LR_OK && lod) lr_lod_prune(net, lod->prune_tol);
    if (status == LR_OK && st) {
        st->loss = steps ? total / (double)steps : 0.0;
        st->steps = steps;
    }
    lr_free(perm);
    lr_free(ranks);
    lr_free(xb);
    lr_free(tb);
    lr_free(yb);
    return status;
}
