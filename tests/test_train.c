/* Tests of the training engine and LoD (src/nn/train.c): gradients against central finite
 * differences for every layer kind x activation x loss; the optimisers' update rules; a
 * network that learns; the same bits for one and two BLAS threads; LoD's recovery of the
 * nested truncated SVDs (docs/theory.md section 6) and of a planted rank through pruning. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/mat.h"
#include "nn/activation.h"
#include "io/dump.h"
#include "nn/net.h"
#include "nn/train.h"
#include "nn/train_io.h"
#include "tests.h"

/* The tolerance the issue asks of the gradient checks (double precision). */
#define GRAD_RTOL 1e-6

static gsl_rng *seeded(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

/* ||analytic - central difference|| / ||analytic|| over every parameter of a 5-4-3 network
 * whose first layer has this kind (rank 0: dense; else factored, used at `use` components)
 * and activation, with this loss. */
static double grad_check(size_t rank, size_t use, int act, double act_param, lr_loss_kind loss, int use_targets)
{
    enum { N = 7, D = 5, H = 4, K = 3 };
    lr_tlayer_spec sp[2] = {{.n_out = H, .act = act, .act_param = act_param, .rank = rank},
                            {.n_out = K, .act = LR_TRAIN_ACT_NONE}};
    lr_tnet *net = lr_tnet_alloc(D, sp, 2, N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(net);
    gsl_rng *r = seeded(11 + rank + 3 * use + 17 * (unsigned long)(act + 1) + 101 * loss);
    lr_tnet_init_random(net, r);
    double x[N * D], t[N * K];
    long y[N];
    for (size_t i = 0; i < N * D; i++) x[i] = gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < N * K; i++) t[i] = gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < N; i++) y[i] = (long)gsl_rng_uniform_int(r, K);
    size_t ranks[2] = {use, 0};
    const double *tg = use_targets ? t : NULL;
    double L;
    CU_ASSERT_EQUAL_FATAL(lr_tnet_loss_grad(net, x, N, y, tg, loss, ranks, &L), LR_OK);
    double g[net->nparams];
    memcpy(g, net->grad, sizeof g);
    double num = 0.0, den = 0.0, h = 1e-5;
    for (size_t i = 0; i < net->nparams; i++) {
        double keep = net->theta[i], lp, lm;
        net->theta[i] = keep + h;
        lr_tnet_loss(net, x, N, y, tg, loss, ranks, &lp);
        net->theta[i] = keep - h;
        lr_tnet_loss(net, x, N, y, tg, loss, ranks, &lm);
        net->theta[i] = keep;
        double fd = (lp - lm) / (2 * h);
        num += (g[i] - fd) * (g[i] - fd);
        den += g[i] * g[i];
    }
    gsl_rng_free(r);
    lr_tnet_free(net);
    return sqrt(num / den);
}

static void test_train_gradients(void)
{
    const char *kinds[] = {"dense", "factored r=3", "factored r=3 used at 2"};
    size_t ranks[][2] = {{0, 0}, {3, 0}, {3, 2}};
    double worst = 0.0;
    int cases = 0;
    for (int k = 0; k < 3; k++)
        for (int a = LR_TRAIN_ACT_NONE; a < LR_ACT_COUNT; a++)
            for (int loss = 0; loss < 3; loss++) {
                lr_loss_kind lk = loss == 0 ? LR_LOSS_SOFTMAX_CE : LR_LOSS_SQUARED;
                double p = a == LR_ACT_LEAKY_RELU ? 0.1 : 0.0;
                double e = grad_check(ranks[k][0], ranks[k][1], a, p, lk, loss == 2);
                if (!(e < GRAD_RTOL))
                    fprintf(stderr, "\n  gradient of %s, %s, %s: relative error %.3g\n", kinds[k],
                            a < 0 ? "identity" : lr_activation_get((lr_activation_id)a)->name,
                            loss == 0 ? "cross-entropy" : loss == 1 ? "squared (labels)" : "squared (targets)", e);
                CU_ASSERT(e < GRAD_RTOL);
                worst = fmax(worst, e);
                cases++;
            }
    /* The worst case, for the README ("Training" section). */
    fprintf(stderr, "[gradient checks: %d cases, worst relative error %.2e] ", cases, worst);
}

/* Every activation's derivative against a central difference of its function. */
static void test_train_activation_derivatives(void)
{
    const double xs[] = {-6, -2.5, -1, -0.3, 0.2, 0.7, 1.5, 4};
    for (int a = 0; a < LR_ACT_COUNT; a++) {
        const lr_activation *e = lr_activation_get((lr_activation_id)a);
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
            double h = 1e-6, p = 0.1;
            double fd = (e->fn(xs[i] + h, p) - e->fn(xs[i] - h, p)) / (2 * h);
            LR_ASSERT_CLOSE(e->dfn(xs[i], p), fd, 1e-8);
        }
    }
}

static void test_train_optimisers(void)
{
    double th[3] = {1.0, -2.0, 0.5}, g[3] = {0.5, -1.0, 0.0};
    /* Plain SGD: theta - lr g. */
    lr_optim_opts o = {.kind = LR_OPT_SGD, .lr = 0.1};
    lr_optim *opt = lr_optim_alloc(3, &o);
    lr_optim_step(opt, th, g);
    CU_ASSERT_DOUBLE_EQUAL(th[0], 0.95, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(th[1], -1.9, 1e-15);
    /* Momentum: the second step moves by lr (mu g + g). */
    lr_optim_free(opt);
    o.momentum = 0.9;
    opt = lr_optim_alloc(3, &o);
    th[0] = 0.0;
    lr_optim_step(opt, th, g);
    lr_optim_step(opt, th, g);
    CU_ASSERT_DOUBLE_EQUAL(th[0], -0.1 * 0.5 - 0.1 * 1.9 * 0.5, 1e-15);
    lr_optim_free(opt);
    /* Adam's first step is lr sign(g) (up to eps); a zero gradient does not move. */
    lr_optim_opts a = {.kind = LR_OPT_ADAM, .lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
    opt = lr_optim_alloc(3, &a);
    double t2[3] = {1.0, -2.0, 0.5};
    lr_optim_step(opt, t2, g);
    CU_ASSERT_DOUBLE_EQUAL(t2[0], 0.99, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(t2[1], -1.99, 1e-9);
    CU_ASSERT_EQUAL(t2[2], 0.5);
    lr_optim_free(opt);
    /* AdamW with a zero gradient only decays: theta (1 - lr wd). */
    a.kind = LR_OPT_ADAMW;
    a.weight_decay = 0.5;
    opt = lr_optim_alloc(3, &a);
    double t3[1] = {2.0}, z[1] = {0.0};
    opt->n = 1;
    lr_optim_step(opt, t3, z);
    CU_ASSERT_DOUBLE_EQUAL(t3[0], 2.0 * (1 - 0.005), 1e-15);
    lr_optim_free(opt);
}

/* Two Gaussian blobs per class in 8 dimensions, 4 classes: separable. */
static void blobs(gsl_rng *r, size_t N, double *x, long *y)
{
    for (size_t s = 0; s < N; s++) {
        y[s] = (long)(s % 4);
        for (size_t j = 0; j < 8; j++) x[s * 8 + j] = gsl_ran_gaussian(r, 0.5) + (j % 4 == (size_t)y[s] ? 2.0 : 0.0);
    }
}

/* Train a 8-32-4 network (its first layer factored when rank > 0) for `epochs`; theta out. */
static lr_tnet *train_blobs(lr_opt_kind kind, size_t rank, int epochs, const lr_lod_opts *lod, double *acc)
{
    enum { N = 400 };
    static double x[N * 8];
    static long y[N];
    gsl_rng *r = seeded(5);
    blobs(r, N, x, y);
    lr_tlayer_spec sp[2] = {{.n_out = 32, .act = LR_ACT_RELU, .rank = rank}, {.n_out = 4, .act = LR_TRAIN_ACT_NONE}};
    lr_tnet *net = lr_tnet_alloc(8, sp, 2, 64);
    lr_tnet_init_random(net, r);
    lr_optim_opts o = {.kind = kind, .lr = kind == LR_OPT_SGD ? 0.05 : 0.01, .momentum = 0.9, .nesterov = 1,
                       .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 1e-4};
    lr_optim *opt = lr_optim_alloc(net->nparams, &o);
    lr_train_data d = {.x = x, .labels = y, .N = N};
    lr_epoch_stats st = {0};
    for (int e = 0; e < epochs; e++) CU_ASSERT_EQUAL(lr_train_epoch(net, opt, &d, 64, LR_LOSS_SOFTMAX_CE, lod, r, &st), LR_OK);
    size_t c = 0;
    lr_tnet_correct(net, x, y, N, &c);
    *acc = (double)c / N;
    lr_optim_free(opt);
    gsl_rng_free(r);
    return net;
}

static void test_train_learns(void)
{
    lr_opt_kind kinds[] = {LR_OPT_SGD, LR_OPT_ADAM, LR_OPT_ADAMW};
    for (int k = 0; k < 3; k++) {
        double acc;
        lr_tnet_free(train_blobs(kinds[k], 0, 10, NULL, &acc));
        CU_ASSERT(acc > 0.95);
    }
    lr_lod_opts lod = {.dist = LR_LOD_UNIFORM, .one_layer = 1, .lambda = 1e-3, .prune_tol = 1e-2};
    double acc;
    lr_tnet *net = train_blobs(LR_OPT_ADAM, 6, 10, &lod, &acc);
    CU_ASSERT(acc > 0.95);
    CU_ASSERT(net->layers[0].rank >= 1 && net->layers[0].rank <= 6);
    lr_tnet_free(net);
}

/* The same weights, bit for bit, for one and two OpenBLAS threads (shapes large enough that
 * OpenBLAS splits its DGEMMs, a 10-class output and a last batch of 5). */
static void test_train_thread_independent(void)
{
    enum { N = 517, D = 64 }; /* a last batch of 5 samples */
    static double x[N * D];
    static long y[N];
    double *theta[2] = {NULL, NULL};
    size_t np = 0;
    int before = lr_train_blas_threads(0);
    for (int t = 0; t < 2; t++) {
        lr_train_blas_threads(t + 1);
        gsl_rng *r = seeded(9);
        for (size_t i = 0; i < N * D; i++) x[i] = gsl_ran_gaussian(r, 1.0);
        for (size_t i = 0; i < N; i++) y[i] = (long)(i % 10);
        lr_tlayer_spec sp[3] = {{.n_out = 256, .act = LR_ACT_GELU},
                                {.n_out = 128, .act = LR_ACT_TANH, .rank = 32},
                                {.n_out = 10, .act = LR_TRAIN_ACT_NONE}};
        lr_tnet *net = lr_tnet_alloc(D, sp, 3, 256);
        lr_tnet_init_random(net, r);
        lr_optim_opts o = {.kind = LR_OPT_ADAM, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};
        lr_optim *opt = lr_optim_alloc(net->nparams, &o);
        lr_train_data d = {.x = x, .labels = y, .N = N};
        lr_lod_opts lod = {.dist = LR_LOD_UNIFORM, .one_layer = 1};
        for (int e = 0; e < 2; e++) lr_train_epoch(net, opt, &d, 256, LR_LOSS_SOFTMAX_CE, &lod, r, NULL);
        np = net->nparams;
        theta[t] = lr_malloc(np * sizeof(double));
        memcpy(theta[t], net->theta, np * sizeof(double));
        lr_optim_free(opt);
        lr_tnet_free(net);
        gsl_rng_free(r);
    }
    lr_train_blas_threads(before);
    CU_ASSERT(memcmp(theta[0], theta[1], np * sizeof(double)) == 0);
    lr_free(theta[0]);
    lr_free(theta[1]);
}

/* Q (rows x cols, column-major) with orthonormal columns: the QR of a Gaussian matrix. */
static void orthonormal(gsl_rng *r, double *Q, size_t rows, size_t cols)
{
    double tau[cols];
    for (size_t i = 0; i < rows * cols; i++) Q[i] = gsl_ran_gaussian(r, 1.0);
    LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (int)rows, (int)cols, Q, (int)rows, tau);
    LAPACKE_dorgqr(LAPACK_COL_MAJOR, (int)rows, (int)cols, (int)cols, Q, (int)rows, tau);
}

/* A linear factored layer trained by full-batch gradient descent on LoD's expected loss
 * (uniform ranks), with centred isotropic inputs (X^T X = I, X^T 1 = 0) and targets X M,
 * M = P diag(s) Q^T (n0 x n1).  Returns the network. */
enum { RN = 16, R0 = 6, R1 = 5 };
static lr_tnet *lod_linear(const double *s, size_t ns, size_t rmax, double lambda, int iters, double *P,
                           double *Qm)
{
    gsl_rng *r = seeded(21);
    /* X: RN x R0 orthonormal columns orthogonal to the ones vector (the last R0 of an
     * orthonormal basis whose first vector is 1 / sqrt RN). */
    double B[RN * (R0 + 1)], tau[R0 + 1];
    for (size_t i = 0; i < RN; i++) B[i] = 1.0;
    for (size_t i = RN; i < RN * (R0 + 1); i++) B[i] = gsl_ran_gaussian(r, 1.0);
    LAPACKE_dgeqrf(LAPACK_COL_MAJOR, RN, R0 + 1, B, RN, tau);
    LAPACKE_dorgqr(LAPACK_COL_MAJOR, RN, R0 + 1, R0 + 1, B, RN, tau);
    static double x[RN * R0], t[RN * R1];
    for (size_t i = 0; i < RN; i++)
        for (size_t j = 0; j < R0; j++) x[i * R0 + j] = B[i + (j + 1) * RN];
    orthonormal(r, P, R0, ns);
    orthonormal(r, Qm, R1, ns);
    double M[R0 * R1] = {0}; /* row-major n0 x n1 */
    for (size_t i = 0; i < R0; i++)
        for (size_t j = 0; j < R1; j++)
            for (size_t k = 0; k < ns; k++) M[i * R1 + j] += P[i + k * R0] * s[k] * Qm[j + k * R1];
    for (size_t i = 0; i < RN; i++)
        for (size_t j = 0; j < R1; j++) {
            t[i * R1 + j] = 0.0;
            for (size_t k = 0; k < R0; k++) t[i * R1 + j] += x[i * R0 + k] * M[k * R1 + j];
        }
    lr_tlayer_spec sp = {.n_out = R1, .act = LR_TRAIN_ACT_NONE, .rank = rmax};
    lr_tnet *net = lr_tnet_alloc(R0, &sp, 1, RN);
    lr_tnet_init_random(net, r);
    lr_optim_opts o = {.kind = LR_OPT_SGD, .lr = 0.5};
    lr_optim *opt = lr_optim_alloc(net->nparams, &o);
    lr_lod_opts lod = {.dist = LR_LOD_UNIFORM};
    double L;
    for (int it = 0; it < iters; it++) {
        lr_lod_expected_grad(net, 0, &lod, x, RN, NULL, t, LR_LOSS_SQUARED, &L);
        lr_optim_step(opt, net->theta, net->grad);
        lr_lod_prox(net, o.lr * lambda);
    }
    lr_optim_free(opt);
    gsl_rng_free(r);
    return net;
}

/* Nested truncated SVDs: for every b, U_b V_b^T = M_b (the rank-b truncation), and U_b's
 * span is P_b's (the largest principal angle's sine, ||(I - P_b P_b^T) orth(U_b)||_2 <=
 * its Frobenius norm, below 1e-6). */
static void test_train_lod_recovery(void)
{
    double s[] = {5, 4, 3, 2, 1}, P[R0 * 5], Q[R1 * 5];
    lr_tnet *net = lod_linear(s, 5, 4, 0.0, 20000, P, Q);
    const lr_tlayer *L = &net->layers[0];
    double worst_prod = 0.0, worst_angle = 0.0;
    for (size_t b = 1; b <= 4; b++) {
        double e = 0.0, m = 0.0;
        for (size_t i = 0; i < R0; i++)
            for (size_t j = 0; j < R1; j++) {
                double uv = 0.0, mb = 0.0;
                for (size_t t = 0; t < b; t++) uv += L->U[i * 4 + t] * L->V[j * 4 + t];
                for (size_t t = 0; t < b; t++) mb += P[i + t * R0] * s[t] * Q[j + t * R1];
                e += (uv - mb) * (uv - mb);
                m += mb * mb;
            }
        worst_prod = fmax(worst_prod, sqrt(e / m));
        /* orth(U_b), then its component outside span(P_b). */
        double Ub[R0 * 4], tau[4];
        for (size_t i = 0; i < R0; i++)
            for (size_t t = 0; t < b; t++) Ub[i + t * R0] = L->U[i * 4 + t];
        LAPACKE_dgeqrf(LAPACK_COL_MAJOR, R0, (int)b, Ub, R0, tau);
        LAPACKE_dorgqr(LAPACK_COL_MAJOR, R0, (int)b, (int)b, Ub, R0, tau);
        double out = 0.0;
        for (size_t c = 0; c < b; c++) {
            double v[R0];
            memcpy(v, Ub + c * R0, sizeof v);
            for (size_t t = 0; t < b; t++) {
                double d = 0.0;
                for (size_t i = 0; i < R0; i++) d += P[i + t * R0] * Ub[i + c * R0];
                for (size_t i = 0; i < R0; i++) v[i] -= d * P[i + t * R0];
            }
            for (size_t i = 0; i < R0; i++) out += v[i] * v[i];
        }
        worst_angle = fmax(worst_angle, sqrt(out));
    }
    CU_ASSERT(worst_prod < 1e-6);
    CU_ASSERT(worst_angle < 1e-6);
    fprintf(stderr, "[LoD recovery: ||U_b V_b^T - M_b|| / ||M_b|| <= %.1e, sin(angle) <= %.1e] ", worst_prod,
            worst_angle);
    lr_tnet_free(net);
}

/* A planted rank 3 with r_max 5 and the penalty on: exactly 3 components survive pruning. */
static void test_train_lod_prune(void)
{
    double s[] = {3, 2, 1.5}, P[R0 * 3], Q[R1 * 3];
    lr_tnet *net = lod_linear(s, 3, 5, 1e-3, 4000, P, Q);
    double imp[5];
    lr_lod_importance(net, 0, imp);
    lr_lod_prune(net, 1e-3);
    CU_ASSERT_EQUAL(net->layers[0].rank, 3);
    CU_ASSERT(imp[3] == 0.0 && imp[2] > 0.1 * imp[0]);
    lr_tnet_free(net);
}

/* The balanced SVD initialisation reproduces W's truncation with ||U_t|| = ||V_t||. */
static void test_train_svd_init(void)
{
    enum { N0 = 7, N1 = 5, RK = 3 };
    gsl_rng *r = seeded(3);
    double W[N1 * N0], Wk[N1 * N0];
    for (size_t i = 0; i < N1 * N0; i++) W[i] = gsl_ran_gaussian(r, 1.0);
    lr_tlayer_spec sp = {.n_out = N1, .act = LR_TRAIN_ACT_NONE, .rank = RK};
    lr_tnet *net = lr_tnet_alloc(N0, &sp, 1, 4);
    CU_ASSERT_EQUAL(lr_tnet_init_svd(net, 0, W), LR_OK);
    lr_tnet_dense_weight(net, 0, Wk);
    /* The residual W - W_k is orthogonal to W_k (Eckart-Young's truncation). */
    double dot = 0.0, nk = 0.0;
    for (size_t i = 0; i < N1 * N0; i++) dot += (W[i] - Wk[i]) * Wk[i], nk += Wk[i] * Wk[i];
    CU_ASSERT(fabs(dot) < 1e-12 * nk);
    const lr_tlayer *L = &net->layers[0];
    for (size_t t = 0; t < RK; t++) {
        double nu = 0.0, nv = 0.0;
        for (size_t i = 0; i < N0; i++) nu += L->U[i * RK + t] * L->U[i * RK + t];
        for (size_t i = 0; i < N1; i++) nv += L->V[i * RK + t] * L->V[i * RK + t];
        LR_ASSERT_CLOSE(nu, nv, 1e-12);
    }
    lr_tnet_free(net);
    gsl_rng_free(r);
}

/* A trained network written as a dump (with a factored layer and leaky_relu) reads back
 * through lrlab's own reader and forward pass (src/nn/net.c) with the same logits. */
static void test_train_dump_roundtrip(void)
{
    lr_dataset d;
    CU_ASSERT_EQUAL_FATAL(lr_dataset_gmm(32, 3, 96, 40, 7, &d), LR_OK);
    lr_tlayer_spec sp[3] = {{.n_out = 16, .act = LR_ACT_LEAKY_RELU, .act_param = 0.05, .rank = 6},
                            {.n_out = 12, .act = LR_ACT_GELU_TANH},
                            {.n_out = 3, .act = LR_TRAIN_ACT_NONE}};
    lr_tnet *net = lr_tnet_alloc(32, sp, 3, 64);
    gsl_rng *r = seeded(4);
    lr_tnet_init_random(net, r);
    net->layers[0].rank = 4; /* as after a pruning */
    lr_lod_mask(net);
    char path[] = "/tmp/lrlab_train_dump_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    CU_ASSERT_EQUAL_FATAL(lr_train_write_dump(net, &d, 50, 0.5, NULL, path), LR_OK);
    lr_dump *dump = NULL;
    lr_net *ref = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_dump_open(path, &dump), LR_OK);
    CU_ASSERT_EQUAL(dump->n_calib, 50);
    CU_ASSERT_EQUAL(dump->n_inputs, 90);
    for (size_t l = 0; l < dump->nlayers; l++) {
        lr_dump_check_report rep;
        CU_ASSERT_EQUAL(lr_dump_check_layer(dump, l, 1e-12, 32, &rep), LR_OK);
    }
    CU_ASSERT_EQUAL_FATAL(lr_net_from_dump(dump, &ref), LR_OK);
    enum { n = 40 };
    double xc[n * 32], logits[n * 3];
    for (size_t s = 0; s < n; s++)
        for (size_t j = 0; j < 32; j++) xc[s + j * n] = d.x[(d.n_train + s) * 32 + j];
    CU_ASSERT_EQUAL(lr_net_forward(ref, NULL, lr_mat_wrap(xc, n, 32), lr_mat_wrap(logits, n, 3)), LR_OK);
    lr_tnet_forward(net, d.x + d.n_train * 32, n, NULL);
    const double *z = lr_tnet_output(net);
    double worst = 0.0;
    for (size_t s = 0; s < n; s++)
        for (size_t j = 0; j < 3; j++) worst = fmax(worst, fabs(z[s * 3 + j] - logits[s + j * n]));
    CU_ASSERT(worst < 1e-12);
    lr_net_free(ref);
    lr_dump_close(dump);
    unlink(path);
    lr_tnet_free(net);
    gsl_rng_free(r);
    lr_dataset_free(&d);
}

void lr_tests_train(void)
{
    CU_pSuite s = CU_add_suite("train", NULL, NULL);
    CU_add_test(s, "gradients against central differences, every layer x activation x loss",
                test_train_gradients);
    CU_add_test(s, "activation derivatives", test_train_activation_derivatives);
    CU_add_test(s, "optimiser update rules", test_train_optimisers);
    CU_add_test(s, "SGD, Adam, AdamW and LoD learn separable blobs", test_train_learns);
    CU_add_test(s, "one and two BLAS threads give the same bits", test_train_thread_independent);
    CU_add_test(s, "LoD recovers the nested truncated SVDs", test_train_lod_recovery);
    CU_add_test(s, "LoD pruning keeps exactly a planted rank", test_train_lod_prune);
    CU_add_test(s, "balanced SVD initialisation", test_train_svd_init);
    CU_add_test(s, "a trained network's dump reads back with the same logits", test_train_dump_roundtrip);
}
