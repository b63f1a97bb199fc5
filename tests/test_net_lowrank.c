/* Tests of post-training truncation of a trained network (src/compress/net_lowrank.c), each
 * against a plain reference:
 *   - the calibration problems: X~ of every layer equals a plain loop's forward pass (ReLU
 *     hidden layers), W the network's weight, Y = X~ W;
 *   - svd_w at rank k: ||W - M||_F^2 equals the sum of W's squared singular values past k
 *     (Eckart-Young, LAPACK's dgesvd as the reference), and at full rank M = W;
 *   - dd_rank at rank k: ||X~ W - X~ M||_F^2 equals the sum of X~ W's squared singular values
 *     past k (X~ of full column rank: the data-driven optimum);
 *   - the biases and the layers not truncated are untouched; a factored layer and a rank
 *     outside 1..min(n0, n1) are refused;
 *   - lr_tnet_correct_at with the factored layer at rank b equals the dense network with
 *     W = V_b U_b^T (the LoD evaluation of lod_network.c). */
#include <CUnit/CUnit.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compress/compress.h"
#include "compress/net_lowrank.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/activation.h"
#include "nn/train.h"
#include "tests.h"

enum { IN = 6, H1 = 9, H2 = 7, OUT = 4, M = 40 };

static lr_tnet *small_net(gsl_rng *g, size_t rank1)
{
    lr_tlayer_spec sp[3] = {{.n_out = H1, .act = LR_ACT_RELU, .rank = rank1}, {.n_out = H2, .act = LR_ACT_RELU},
                            {.n_out = OUT, .act = LR_TRAIN_ACT_NONE}};
    lr_tnet *net = lr_tnet_alloc(IN, sp, 3, 16);
    if (net) lr_tnet_init_random(net, g);
    return net;
}

static void gaussian(gsl_rng *g, double *a, size_t n)
{
    for (size_t i = 0; i < n; i++) a[i] = 2.0 * gsl_rng_uniform(g) - 1.0;
}

/* Squared singular values past k of the rows x cols column-major matrix a (copied). */
static double tail_energy(const double *a, size_t rows, size_t cols, size_t k)
{
    size_t mn = rows < cols ? rows : cols;
    double *c = malloc(rows * cols * sizeof(double)), *s = malloc(mn * sizeof(double)), *w = malloc(mn * sizeof(double));
    memcpy(c, a, rows * cols * sizeof(double));
    double e = NAN;
    if (LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', (int)rows, (int)cols, c, (int)rows, s, NULL, 1, NULL, 1, w) == 0) {
        e = 0;
        for (size_t t = k; t < mn; t++) e += s[t] * s[t];
    }
    free(c), free(s), free(w);
    return e;
}

/* A seeded dense network, M calibration samples x and their problems c (NULL on failure). */
static lr_tnet *calibrated(gsl_rng *g, unsigned long seed, double *x, lr_net_calib *c)
{
    gsl_rng_set(g, seed);
    lr_tnet *net = small_net(g, 0);
    gaussian(g, x, M * IN);
    if (net && lr_net_calib_build(net, x, M, c) != LR_OK) lr_tnet_free(net), net = NULL;
    return net;
}

static void test_calib_reference(void)
{
    gsl_rng *g = lr_rng_alloc();
    double x[M * IN];
    lr_net_calib c;
    lr_tnet *net = calibrated(g, 11, x, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    CU_ASSERT_EQUAL(c.nl, 3);
    CU_ASSERT_EQUAL(c.m, M);
    /* plain forward pass, sample by sample */
    double worst_x = 0, worst_y = 0, worst_w = 0;
    for (size_t s = 0; s < M; s++) {
        double in[H1 > IN ? H1 : IN], out[H1];
        memcpy(in, x + s * IN, IN * sizeof(double));
        for (size_t l = 0; l < 3; l++) {
            const lr_tlayer *L = &net->layers[l];
            const lr_layer *C = &c.layers[l];
            for (size_t j = 0; j < L->n0; j++) worst_x = fmax(worst_x, fabs(LR_AT(C->X, s, j) - in[j]));
            for (size_t i = 0; i < L->n1; i++) {
                double z = L->b[i], y = 0;
                for (size_t j = 0; j < L->n0; j++) z += L->W[i * L->n0 + j] * in[j], y += L->W[i * L->n0 + j] * in[j];
                worst_y = fmax(worst_y, fabs(LR_AT(C->Y, s, i) - y));
                out[i] = l < 2 && z < 0 ? 0 : z;
            }
            for (size_t i = 0; i < L->n1; i++)
                for (size_t j = 0; s == 0 && j < L->n0; j++)
                    worst_w = fmax(worst_w, fabs(LR_AT(C->W, j, i) - L->W[i * L->n0 + j]));
            memcpy(in, out, L->n1 * sizeof(double));
        }
    }
    CU_ASSERT(worst_x < 1e-14);
    CU_ASSERT(worst_y < 1e-13);
    CU_ASSERT(worst_w == 0);
    lr_net_calib_free(&c);
    lr_tnet_free(net);
    gsl_rng_free(g);
}

static void test_truncate_reference(void)
{
    gsl_rng *g = lr_rng_alloc();
    double x[M * IN];
    lr_net_calib c;
    lr_tnet *net = calibrated(g, 12, x, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    lr_layer_shape sh = lr_net_calib_shape(&c);
    CU_ASSERT_EQUAL(sh.n0, H1);
    CU_ASSERT_EQUAL(sh.n1, H1);
    lr_compressor_plan *svd = lr_compressor_plan_alloc(lr_compressor_find("svd_w"), &sh, NULL);
    lr_compressor_plan *dd = lr_compressor_plan_alloc(lr_compressor_find("dd_rank"), &sh, NULL);
    lr_net_truncator t = {0};
    CU_ASSERT_FATAL(svd && dd && lr_net_truncator_init(&t, &sh) == LR_OK);
    double *theta0 = malloc(net->nparams * sizeof(double));
    memcpy(theta0, net->theta, net->nparams * sizeof(double));
    const size_t l = 1; /* the 9 -> 7 hidden layer: X~ is 40 x 9, of full column rank */
    const lr_layer *C = &c.layers[l];
    size_t n0 = H1, n1 = H2;
    double D[H1 * H2];
    for (size_t k = 1; k <= 7; k++) {
        /* svd_w */
        CU_ASSERT_EQUAL_FATAL(lr_net_truncate_layer(net, l, svd, &c, k, 1, 0, k, &t), LR_OK);
        double e = 0;
        for (size_t i = 0; i < n0 * n1; i++) D[i] = C->W.data[i] - net->layers[l].W[i], e += D[i] * D[i];
        double want = tail_energy(C->W.data, n0, n1, k);
        CU_ASSERT(fabs(e - want) <= 1e-12 * (1 + want));
        if (k == 7) CU_ASSERT(e < 1e-24);
        /* dd_rank: the residual on the calibration inputs */
        CU_ASSERT_EQUAL_FATAL(lr_net_truncate_layer(net, l, dd, &c, k, 1, 0, k, &t), LR_OK);
        for (size_t i = 0; i < n0 * n1; i++) D[i] = C->W.data[i] - net->layers[l].W[i];
        e = 0;
        for (size_t s = 0; s < M; s++)
            for (size_t i = 0; i < n1; i++) {
                double v = 0;
                for (size_t j = 0; j < n0; j++) v += LR_AT(C->X, s, j) * D[i * n0 + j];
                e += v * v;
            }
        want = tail_energy(C->Y.data, M, n1, k);
        CU_ASSERT(fabs(e - want) <= 1e-10 * (1 + want));
    }
    /* the biases and the other layers are untouched */
    for (size_t i = 0; i < net->nparams; i++) {
        const double *Wl = net->layers[l].W;
        int in_w = net->theta + i >= Wl && net->theta + i < Wl + n0 * n1;
        if (!in_w) CU_ASSERT_EQUAL(net->theta[i], theta0[i]);
    }
    CU_ASSERT_EQUAL(lr_net_truncate_layer(net, l, svd, &c, 0, 1, 0, 0, &t), LR_EINVAL);
    CU_ASSERT_EQUAL(lr_net_truncate_layer(net, l, svd, &c, 8, 1, 0, 0, &t), LR_EINVAL);
    lr_net_truncator_free(&t);
    lr_compressor_plan_free(svd), lr_compressor_plan_free(dd);
    free(theta0);
    lr_net_calib_free(&c);
    lr_tnet_free(net);
    /* a factored layer: not a network to calibrate */
    lr_tnet *f = small_net(g, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(lr_net_calib_build(f, x, M, &c), LR_EINVAL);
    lr_tnet_free(f);
    gsl_rng_free(g);
}

/* LoD's evaluation at rank b: the factored network on its first b components classifies as
 * the dense network with W = V_b U_b^T does. */
static void test_correct_at_rank(void)
{
    gsl_rng *g = lr_rng_alloc();
    gsl_rng_set(g, 13);
    lr_tnet *f = small_net(g, 5), *d = small_net(g, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    enum { N = 200 };
    double *x = malloc(N * IN * sizeof(double));
    long *y = malloc(N * sizeof(long));
    gaussian(g, x, N * IN);
    for (size_t s = 0; s < N; s++) y[s] = (long)gsl_rng_uniform_int(g, OUT);
    for (size_t b = 1; b <= 5; b++) {
        /* d: the same biases and later layers, the first layer's W = V_b U_b^T */
        memcpy(d->theta + (d->layers[0].b - d->theta), f->layers[0].b, H1 * sizeof(double));
        for (size_t l = 1; l < 3; l++) {
            memcpy(d->layers[l].W, f->layers[l].W, f->layers[l].n0 * f->layers[l].n1 * sizeof(double));
            memcpy(d->layers[l].b, f->layers[l].b, f->layers[l].n1 * sizeof(double));
        }
        for (size_t i = 0; i < H1; i++)
            for (size_t j = 0; j < IN; j++) {
                double v = 0;
                for (size_t t = 0; t < b; t++) v += f->layers[0].V[i * 5 + t] * f->layers[0].U[j * 5 + t];
                d->layers[0].W[i * IN + j] = v;
            }
        size_t ranks[3] = {b, 0, 0}, cf = 0, cd = 0;
        CU_ASSERT_EQUAL(lr_tnet_correct_at(f, x, y, N, ranks, &cf), LR_OK);
        CU_ASSERT_EQUAL(lr_tnet_correct(d, x, y, N, &cd), LR_OK);
        CU_ASSERT_EQUAL(cf, cd);
        /* the outputs themselves, to rounding */
        CU_ASSERT_EQUAL(lr_tnet_forward(f, x, 16, ranks), LR_OK);
        CU_ASSERT_EQUAL(f->ranks[0], b);
        CU_ASSERT_EQUAL(lr_tnet_forward(d, x, 16, NULL), LR_OK);
        double worst = 0;
        for (size_t i = 0; i < 16 * OUT; i++) worst = fmax(worst, fabs(lr_tnet_output(f)[i] - lr_tnet_output(d)[i]));
        CU_ASSERT(worst < 1e-13);
    }
    free(x), free(y);
    lr_tnet_free(f), lr_tnet_free(d);
    gsl_rng_free(g);
}

void lr_tests_net_lowrank(void)
{
    CU_pSuite s = CU_add_suite("net_lowrank", NULL, NULL);
    CU_add_test(s, "calibration problems against a plain forward pass", test_calib_reference);
    CU_add_test(s, "svd_w and dd_rank truncations against Eckart-Young (dgesvd)", test_truncate_reference);
    CU_add_test(s, "LoD evaluation at rank b equals the dense network V_b U_b^T", test_correct_at_rank);
}
