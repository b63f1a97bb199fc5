/* Post-training low-rank truncation of a trained network: see net_lowrank.h. */
#include "compress/net_lowrank.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "core/rng.h"

void lr_net_calib_free(lr_net_calib *c)
{
    for (size_t l = 0; c->store && l < c->nl; l++) lr_free(c->store[l]);
    free(c->store), free(c->layers);
    memset(c, 0, sizeof *c);
}

lr_layer_shape lr_net_calib_shape(const lr_net_calib *c)
{
    lr_layer_shape s = {c->m, 1, 1};
    for (size_t l = 0; l < c->nl; l++) {
        if (c->layers[l].W.rows > s.n0) s.n0 = c->layers[l].W.rows;
        if (c->layers[l].W.cols > s.n1) s.n1 = c->layers[l].W.cols;
    }
    return s;
}

int lr_net_calib_build(lr_tnet *net, const double *x, size_t m, lr_net_calib *out)
{
    memset(out, 0, sizeof *out);
    if (!m) LR_ERROR(LR_EINVAL, "calibration needs at least one sample");
    for (size_t l = 0; l < net->nlayers; l++)
        if (net->layers[l].rmax)
            LR_ERRORF(LR_EINVAL, "layer %zu is factored: calibration truncates a dense network", l + 1);
    out->nl = net->nlayers, out->m = m;
    out->layers = calloc(out->nl, sizeof *out->layers);
    out->store = calloc(out->nl, sizeof *out->store);
    if (!out->layers || !out->store) {
        lr_net_calib_free(out);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    size_t maxn0 = 1, maxn1 = 1;
    for (size_t l = 0; l < out->nl; l++) {
        const lr_tlayer *T = &net->layers[l];
        size_t n0 = T->n0, n1 = T->n1, mn = m < n0 ? m : n0;
        if (n0 > maxn0) maxn0 = n0;
        if (n1 > maxn1) maxn1 = n1;
        double *b = out->store[l] = lr_malloc((n0 * n1 + m * n0 + m * n1 + m * mn + mn + n0 * mn) * sizeof(double));
        if (!b) {
            lr_net_calib_free(out);
            LR_ERROR(LR_ENOMEM, "out of memory for the calibration activations");
        }
        lr_layer *L = &out->layers[l];
        L->W = lr_mat_wrap(b, n0, n1), b += n0 * n1;
        memcpy(L->W.data, T->W, n0 * n1 * sizeof(double));
        L->X = lr_mat_wrap(b, m, n0), b += m * n0;
        L->Y = lr_mat_wrap(b, m, n1), b += m * n1;
        L->Ux = lr_mat_wrap(b, m, mn), b += m * mn;
        L->sx = b, b += mn;
        L->Vx = lr_mat_wrap(b, n0, mn);
        L->sigma = NAN;
    }
    int s = LR_OK;
    for (size_t s0 = 0; s == LR_OK && s0 < m; s0 += net->cap) {
        size_t n = m - s0 < net->cap ? m - s0 : net->cap;
        s = lr_tnet_forward(net, x + s0 * net->in_dim, n, NULL);
        for (size_t l = 0; s == LR_OK && l < out->nl; l++) {
            const double *in = l ? net->A[l - 1] : x + s0 * net->in_dim;
            size_t n0 = net->layers[l].n0;
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n0; j++) LR_AT(out->layers[l].X, s0 + i, j) = in[i * n0 + j];
        }
    }
    size_t mx = m > maxn0 ? m : maxn0;
    lr_layer_ws ws = {.svd = s == LR_OK ? lr_svd_plan_alloc(mx, maxn0 > maxn1 ? maxn0 : maxn1) : NULL};
    if (s == LR_OK)
        s = ws.svd && lr_arena_init(&ws.arena, lr_layer_factor_x_scratch(m, maxn0) + lr_arena_need(m < maxn0 ? m : maxn0, maxn0)) == LR_OK
                ? LR_OK
                : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory for the calibration SVDs");
    for (size_t l = 0; s == LR_OK && l < out->nl; l++) {
        lr_layer *L = &out->layers[l];
        s = lr_gemm('N', 'N', 1.0, L->X, L->W, 0.0, L->Y);
        if (s == LR_OK) s = lr_layer_factor_x(L, lr_rank_rtol_default(m, L->X.cols), &ws);
    }
    lr_arena_release(&ws.arena);
    lr_svd_plan_free(ws.svd);
    if (s != LR_OK) lr_net_calib_free(out);
    return s;
}

int lr_net_truncator_init(lr_net_truncator *t, const lr_layer_shape *max)
{
    size_t mn = max->n0 < max->n1 ? max->n0 : max->n1;
    t->fa = malloc(max->n0 * mn * sizeof(double)), t->fb = malloc(mn * max->n1 * sizeof(double));
    t->crng = lr_rng_alloc();
    if (!t->fa || !t->fb || !t->crng) {
        lr_net_truncator_free(t);
        LR_ERROR(LR_ENOMEM, "out of memory for the truncation factors");
    }
    return LR_OK;
}

void lr_net_truncator_free(lr_net_truncator *t)
{
    free(t->fa), free(t->fb);
    if (t->crng) gsl_rng_free(t->crng);
    memset(t, 0, sizeof *t);
}

int lr_net_truncate_layer(lr_tnet *net, size_t l, lr_compressor_plan *plan, const lr_net_calib *c, size_t k, uint64_t seed,
                          size_t point, uint64_t stream, lr_net_truncator *t)
{
    if (l >= net->nlayers || l >= c->nl || net->layers[l].rmax)
        LR_ERRORF(LR_EINVAL, "layer %zu: truncation needs a dense layer of the calibrated network", l + 1);
    const lr_layer *L = &c->layers[l];
    size_t n0 = L->W.rows, n1 = L->W.cols, mn = n0 < n1 ? n0 : n1;
    if (k < 1 || k > mn) LR_ERRORF(LR_EINVAL, "layer %zu: rank %zu outside 1..%zu", l + 1, k, mn);
    lr_compressed out = {.A = lr_mat_wrap(t->fa, n0, mn), .B = lr_mat_wrap(t->fb, mn, n1)};
    lr_fit_info info;
    lr_compressor_seed_stream(t->crng, seed, point, stream, l);
    LR_TRY(lr_compressor_execute(plan, point, L, &k, 1, &out, &info, t->crng));
    return lr_compressed_to_dense(&out, lr_mat_wrap(net->layers[l].W, n0, n1));
}
