/* Tests of the forward pass's network building and post ops (src/nn/net.c): the parser
 * and its messages, layer normalisation against a plain reference, and dumps written in C
 * with each activation of the registry, layer norms and a grouped conv, whose forward pass
 * reproduces the stored Y; dumps whose post-op parameters or groups do not fit. */
#include <CUnit/CUnit.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "dumpgen.h"
#include "io/dump.h"
#include "nn/activation.h"
#include "nn/net.h"
#include "tests.h"

/* A sequential one-layer dump in memory whose post ops fail to parse: lr_net_from_dump
 * stops there, before reading anything from the (absent) file. */
static int net_with_post(const char *post, lr_net **net)
{
    static lr_dump_layer layer;
    static lr_dump d;
    memset(&layer, 0, sizeof layer);
    memset(&d, 0, sizeof d);
    snprintf(layer.group, sizeof layer.group, "000");
    snprintf(layer.module, sizeof layer.module, "fc1");
    snprintf(layer.post, sizeof layer.post, "%s", post);
    layer.has_post = 1;
    layer.n0 = 6;
    layer.n1 = 5;
    snprintf(d.path, sizeof d.path, "/data/mlp.h5");
    d.sequential = d.has_inputs = 1;
    d.nlayers = 1;
    d.layers = &layer;
    d.input_dim = 6;
    d.input_rank = 1;
    d.input_shape[0] = 6;
    return lr_net_from_dump(&d, net);
}

/* The message names the dump, the layer and the op (it was lost: it was formatted from
 * lr_last_error() into that same buffer). */
static void test_net_unknown_op_message(void)
{
    lr_net *net = NULL;
    CU_ASSERT_EQUAL(net_with_post("relu,softmax", &net), LR_EDATA);
    CU_ASSERT_PTR_NULL(net);
    CU_ASSERT_STRING_EQUAL(lr_last_error(), "/data/mlp.h5: layer 000 (fc1): post ops 'relu,softmax': unknown op "
                                            "'softmax' (known: relu, leaky_relu(negative_slope), tanh, sigmoid, "
                                            "gelu, gelu_tanh, maxpool2d(k,s), avgpool2d(k,s), flatten, "
                                            "layernorm(eps))");
    CU_ASSERT_EQUAL(net_with_post("leaky_relu", &net), LR_EDATA);
    CU_ASSERT_STRING_EQUAL(lr_last_error(), "/data/mlp.h5: layer 000 (fc1): post ops 'leaky_relu': leaky_relu "
                                            "needs its negative_slope, written leaky_relu(negative_slope)");
}

/* Parsing fails and the message holds every word. */
static void expect_parse_error(const char *text, const char *const *words)
{
    lr_post_op ops[8];
    size_t n = 0;
    CU_ASSERT_EQUAL(lr_net_parse_post(text, ops, &n), LR_EDATA);
    const char *msg = lr_last_error();
    for (size_t i = 0; words[i]; i++) {
        int found = strstr(msg, words[i]) != NULL;
        CU_ASSERT(found);
        if (!found) fprintf(stderr, "\n  '%s': message '%s' lacks '%s'\n", text, msg, words[i]);
    }
}

static void test_post_parse(void)
{
    lr_post_op ops[8];
    size_t n = 0;
    /* The slope is stored exactly as written (PyTorch's repr of the float). */
    CU_ASSERT_EQUAL(lr_net_parse_post("leaky_relu(0.01),maxpool2d(2,2), gelu_tanh", ops, &n), LR_OK);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(ops[0].act, LR_ACT_LEAKY_RELU);
    CU_ASSERT_EQUAL(ops[0].param, 0.01);
    CU_ASSERT_EQUAL(ops[1].kind, LR_POST_MAXPOOL);
    CU_ASSERT_EQUAL(ops[1].k, 2);
    CU_ASSERT_EQUAL(ops[2].act, LR_ACT_GELU_TANH);
    CU_ASSERT_EQUAL(lr_net_parse_post("", ops, &n), LR_OK);
    CU_ASSERT_EQUAL(n, 0);
    expect_parse_error("relu,softmax", (const char *const[]){"unknown op 'softmax'", "relu", "leaky_relu(negative_slope)",
                                                              "tanh", "sigmoid", "gelu", "gelu_tanh", "maxpool2d(k,s)",
                                                              "flatten", NULL});
    expect_parse_error("leaky_relu", (const char *const[]){"leaky_relu needs its negative_slope", NULL});
    expect_parse_error("leaky_relu(x)", (const char *const[]){"finite number", NULL});
    expect_parse_error("leaky_relu(nan)", (const char *const[]){"finite number", NULL});
    expect_parse_error("tanh(2)", (const char *const[]){"tanh takes no parameter", NULL});
    expect_parse_error("relu6", (const char *const[]){"unknown op 'relu6'", NULL});
    expect_parse_error("Tanh", (const char *const[]){"unknown op 'Tanh'", NULL});
    expect_parse_error("gelu(tanh)", (const char *const[]){"gelu takes no parameter", NULL});
    expect_parse_error("maxpool2d(2)", (const char *const[]){"pool2d(k,s)", NULL});
    /* layernorm(eps): eps as PyTorch's repr writes it, finite and >= 0. */
    CU_ASSERT_EQUAL(lr_net_parse_post("layernorm(1e-05),gelu", ops, &n), LR_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(ops[0].kind, LR_POST_LAYERNORM);
    CU_ASSERT_EQUAL(ops[0].param, 1e-05);
    CU_ASSERT_PTR_NULL(ops[0].w);
    CU_ASSERT_EQUAL(ops[1].act, LR_ACT_GELU);
    CU_ASSERT_EQUAL(lr_net_parse_post("layernorm(0.0)", ops, &n), LR_OK);
    expect_parse_error("layernorm", (const char *const[]){"layernorm needs its eps", NULL});
    expect_parse_error("layernorm(-1e-5)", (const char *const[]){"finite eps >= 0", NULL});
    expect_parse_error("layernorm(inf)", (const char *const[]){"finite eps >= 0", NULL});
    expect_parse_error("layernorm(1e-5", (const char *const[]){"finite eps >= 0", NULL});
}

/* The plain reference of torch.nn.LayerNorm on one sample, from GSL's statistics: the mean
 * and the biased variance (GSL's total sum of squares about the mean, over D). */
static void ref_layernorm(const double *x, size_t D, double eps, const double *w, const double *b, double *y)
{
    double mu = gsl_stats_mean(x, 1, D), v = gsl_stats_tss_m(x, 1, D, mu) / (double)D;
    for (size_t i = 0; i < D; i++) y[i] = (x[i] - mu) / sqrt(v + eps) * (w ? w[i] : 1) + (b ? b[i] : 0);
}

/* lr_net_layernorm against the reference, with and without the affine, on rows of very
 * different scales and offsets; its properties (zero mean, variance v / (v + eps), shift
 * invariance); a constant row with eps = 0 refused, with eps > 0 giving the bias. */
static void test_layernorm(void)
{
    enum { N = 7, D = 13 };
    double a[N * D], x[N][D], w[D], b[D], y[D];
    unsigned seed = 3;
    for (size_t i = 0; i < D; i++) {
        w[i] = 1 + ((seed = seed * 1103515245u + 12345u) >> 8) / 16777216.0;
        b[i] = ((seed = seed * 1103515245u + 12345u) >> 8) / 16777216.0 - 0.5;
    }
    for (size_t s = 0; s < N; s++)
        for (size_t i = 0; i < D; i++) {
            double u = ((seed = seed * 1103515245u + 12345u) >> 8) / 16777216.0 - 0.5;
            x[s][i] = pow(10.0, (double)s - 3) * u + (s == 5 ? 1e6 : 0.0); /* scales 1e-3 to 1e3, one offset */
        }
    const double eps[2] = {1e-05, 0.0};
    for (int affine = 0; affine < 2; affine++)
        for (int e = 0; e < 2; e++) {
            lr_post_op op = {.kind = LR_POST_LAYERNORM, .param = eps[e], .dim = D, .w = affine ? w : NULL,
                             .b = affine ? b : NULL};
            lr_mat A = lr_mat_wrap(a, N, D);
            for (size_t s = 0; s < N; s++)
                for (size_t i = 0; i < D; i++) LR_AT(A, s, i) = x[s][i];
            CU_ASSERT_EQUAL_FATAL(lr_net_layernorm(&op, A), LR_OK);
            double worst = 0;
            for (size_t s = 0; s < N; s++) {
                ref_layernorm(x[s], D, eps[e], op.w, op.b, y);
                for (size_t i = 0; i < D; i++) worst = fmax(worst, fabs(LR_AT(A, s, i) - y[i]) / fmax(1, fabs(y[i])));
                if (!affine) {
                    /* Mean 0 and variance v / (v + eps) per sample. */
                    double r[D], mu, v = gsl_stats_tss_m(x[s], 1, D, gsl_stats_mean(x[s], 1, D)) / D;
                    for (size_t i = 0; i < D; i++) r[i] = LR_AT(A, s, i);
                    mu = gsl_stats_mean(r, 1, D);
                    CU_ASSERT(fabs(mu) < 1e-12);
                    CU_ASSERT(fabs(gsl_stats_tss_m(r, 1, D, mu) / D - v / (v + eps[e])) < 1e-12);
                }
            }
            /* The offset row loses ~1e-10 to the rounding of 1e6 + u; the others ~1e-16. */
            CU_ASSERT(worst < 1e-9);
            if (!(worst < 1e-9)) fprintf(stderr, "\n  layernorm: %g from the reference\n", worst);
        }
    /* A constant sample: with eps > 0 every value becomes the bias, with eps = 0 it is refused. */
    lr_post_op op = {.kind = LR_POST_LAYERNORM, .param = 1e-05, .dim = D, .w = w, .b = b};
    lr_mat A = lr_mat_wrap(a, 1, D);
    for (size_t i = 0; i < D; i++) LR_AT(A, 0, i) = 2.5;
    CU_ASSERT_EQUAL(lr_net_layernorm(&op, A), LR_OK);
    for (size_t i = 0; i < D; i++) CU_ASSERT_EQUAL(LR_AT(A, 0, i), b[i]);
    op.param = 0;
    for (size_t i = 0; i < D; i++) LR_AT(A, 0, i) = 2.5;
    CU_ASSERT_EQUAL(lr_net_layernorm(&op, A), LR_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr_last_error(), "constant (variance 0)"));
    op.dim = D + 1;
    CU_ASSERT_EQUAL(lr_net_layernorm(&op, A), LR_EINVAL);
}

static char tmpdir[256];

static void write_dump(lr_dumpgen_kind kind, char *path, size_t size)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/lrlab-test-act-XXXXXX");
        CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
    }
    snprintf(path, size, "%s/%s.h5", tmpdir, lr_dumpgen_names[kind]);
    CU_ASSERT_EQUAL_FATAL(lr_dumpgen_write(path, kind), 0);
}

/* Dumps written in C with each activation: the layers check, and the forward pass
 * reproduces the stored Y of the last layer and the labels (the network's argmax). */
static void test_net_activation_dumps(void)
{
    const lr_dumpgen_kind kinds[] = {LR_DUMPGEN_GOOD, LR_DUMPGEN_TANH, LR_DUMPGEN_SIGMOID, LR_DUMPGEN_GELU,
                                     LR_DUMPGEN_GELU_TANH, LR_DUMPGEN_LEAKY_RELU, LR_DUMPGEN_LAYERNORM,
                                     LR_DUMPGEN_LAYERNORM_PLAIN, LR_DUMPGEN_GROUPED};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char path[512];
        write_dump(kinds[k], path, sizeof path);
        lr_dump *d = NULL;
        CU_ASSERT_EQUAL_FATAL(lr_dump_open(path, &d), LR_OK);
        for (size_t l = 0; l < d->nlayers; l++) {
            lr_dump_check_report rep;
            CU_ASSERT_EQUAL(lr_dump_check_layer(d, l, 1e-12, 16, &rep), LR_OK);
        }
        lr_net *net = NULL;
        CU_ASSERT_EQUAL_FATAL(lr_net_from_dump(d, &net), LR_OK);
        int ln = kinds[k] == LR_DUMPGEN_LAYERNORM || kinds[k] == LR_DUMPGEN_LAYERNORM_PLAIN;
        CU_ASSERT_EQUAL(net->layers[0].npost, ln || kinds[k] == LR_DUMPGEN_GROUPED ? 2 : 1);
        if (ln) {
            /* The affine read where there is one (op 0 of "layernorm(1e-05),gelu"), none
             * for "gelu,layernorm(0.001)" (op 1). */
            const lr_post_op *op = &net->layers[0].post[kinds[k] == LR_DUMPGEN_LAYERNORM ? 0 : 1];
            CU_ASSERT_EQUAL(op->kind, LR_POST_LAYERNORM);
            CU_ASSERT_EQUAL(op->dim, 5);
            CU_ASSERT_EQUAL(op->param, kinds[k] == LR_DUMPGEN_LAYERNORM ? 1e-05 : 0.001);
            CU_ASSERT((op->w && op->b) == (kinds[k] == LR_DUMPGEN_LAYERNORM));
        }
        if (kinds[k] == LR_DUMPGEN_GROUPED) CU_ASSERT_EQUAL(d->layers[0].groups, 2);
        size_t n = 60, in = net->in_dim;
        lr_mat x = lr_mat_wrap(calloc(n * in, sizeof(double)), n, in);
        lr_mat lg = lr_mat_wrap(calloc(n * 3, sizeof(double)), n, 3);
        lr_mat Y = lr_mat_wrap(calloc(40 * 3, sizeof(double)), 40, 3);
        long lab[60];
        CU_ASSERT_EQUAL(lr_dump_read_inputs(d, 0, n, x, lab), LR_OK);
        CU_ASSERT_EQUAL(lr_net_forward(net, NULL, x, lg), LR_OK);
        CU_ASSERT_EQUAL(lr_net_count_correct(lg, lab), n);
        CU_ASSERT_EQUAL(lr_dump_read_rows(d, 1, "Y", 0, Y), LR_OK);
        double diff = 0;
        for (size_t i = 0; i < 40; i++)
            for (size_t j = 0; j < 3; j++) diff = fmax(diff, fabs(LR_AT(Y, i, j) - LR_AT(lg, i, j)));
        CU_ASSERT(diff < 1e-13);
        if (!(diff < 1e-13)) fprintf(stderr, "\n  %s: forward differs from Y by %g\n", path, diff);
        free(x.data);
        free(lg.data);
        free(Y.data);
        lr_net_free(net);
        lr_dump_close(d);
        unlink(path);
    }
}

/* The dump opens (or fails to, at_open) and lr_net_from_dump or lr_dump_check_layer
 * refuses it with one message naming the file, the layer and every word. */
static void expect_refused(lr_dumpgen_kind kind, int at, const char *const *words)
{
    enum { AT_OPEN, AT_NET, AT_CHECK };
    char path[512];
    write_dump(kind, path, sizeof path);
    lr_dump *d = NULL;
    int s = lr_dump_open(path, &d);
    if (at != AT_OPEN) {
        CU_ASSERT_EQUAL_FATAL(s, LR_OK);
        if (at == AT_NET) {
            lr_net *net = NULL;
            s = lr_net_from_dump(d, &net);
            CU_ASSERT_PTR_NULL(net);
        } else {
            lr_dump_check_report rep;
            s = lr_dump_check_layer(d, 0, 1e-6, 16, &rep);
        }
        lr_dump_close(d);
    }
    CU_ASSERT_EQUAL(s, LR_EDATA);
    const char *msg = lr_last_error();
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, path));
    for (size_t i = 0; words[i]; i++) {
        int found = strstr(msg, words[i]) != NULL;
        CU_ASSERT(found);
        if (!found) fprintf(stderr, "\n  %s: message '%s' lacks '%s'\n", lr_dumpgen_names[kind], msg, words[i]);
    }
    unlink(path);
}

/* Issue 14: a layernorm's parameters of the wrong length, a bias without a weight, and
 * parameters of an op that takes none are refused; so are a grouped conv whose W is not
 * block-diagonal and groups that do not divide the channels. */
static void test_post_params_and_groups_refused(void)
{
    expect_refused(LR_DUMPGEN_LN_WEIGHT_LEN, 1,
                   (const char *const[]){"layer 000 (fc1)", "dataset 'post0_weight' has 4 values", "need 5", NULL});
    expect_refused(LR_DUMPGEN_LN_BIAS_ONLY, 1,
                   (const char *const[]){"layer 000 (fc1)", "'post0_bias' without 'post0_weight'", NULL});
    expect_refused(LR_DUMPGEN_LN_STRAY, 1,
                   (const char *const[]){"layer 000 (fc1)", "dataset 'post0_weight' belongs to post op 0, which is "
                                         "not a layernorm", NULL});
    expect_refused(LR_DUMPGEN_GROUPED_OFFBLOCK, 2,
                   (const char *const[]){"layer 000 (conv)", "dataset 'W' has 0.5 at [0, 20], outside the block "
                                         "diagonal of groups = 2", "output channel 0 is in group 0, input column 20 "
                                         "in group 1", NULL});
    expect_refused(LR_DUMPGEN_GROUPED_INDIVISIBLE, 0,
                   (const char *const[]){"layer 000 (conv)", "groups = 4 does not divide the 4 input and 6 output "
                                         "channels", NULL});
}

static void cleanup(void)
{
    if (tmpdir[0]) rmdir(tmpdir);
}


/* Issue 12: a layer replaced by a grouped (ALDS) representation runs as its k encoders
 * and decoder; the network's logits equal those of the same layer replaced by the dense
 * M it represents, to 1e-12 relative in double. */
static void test_net_grouped_replacement(void)
{
    char path[512];
    write_dump(LR_DUMPGEN_GOOD, path, sizeof path);
    lr_dump *d = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_dump_open(path, &d), LR_OK);
    lr_net *net = NULL;
    CU_ASSERT_EQUAL_FATAL(lr_net_from_dump(d, &net), LR_OK);
    const lr_net_layer *L0 = &net->layers[0]; /* 6 -> 5, with bias */
    size_t n0 = L0->n0, n1 = L0->n1, start[3] = {0, 3, 6};
    double a[2][3 * 2], b[2][2 * 5];
    unsigned seed = 7;
    for (size_t g = 0; g < 2; g++) {
        for (size_t i = 0; i < 6; i++) a[g][i] = (seed = seed * 1103515245u + 12345u) / 4294967296.0 - 0.5;
        for (size_t i = 0; i < 10; i++) b[g][i] = (seed = seed * 1103515245u + 12345u) / 4294967296.0 - 0.5;
    }
    lr_mat gA[2] = {lr_mat_wrap(a[0], 3, 2), lr_mat_wrap(a[1], 3, 2)};
    lr_mat gB[2] = {lr_mat_wrap(b[0], 2, 5), lr_mat_wrap(b[1], 2, 5)};
    lr_compressed c;
    CU_ASSERT_EQUAL_FATAL(lr_compressed_grouped(&c, LR_GROUP_INPUT, n0, n1, 2, start, gA, gB), LR_OK);
    /* The dense reference: A = [M; b] (the bias folded), B = I. */
    lr_mat M = lr_mat_wrap(calloc(n0 * n1, sizeof(double)), n0, n1);
    lr_mat A = lr_mat_wrap(calloc((n0 + 1) * n1, sizeof(double)), n0 + 1, n1);
    lr_mat I = lr_mat_wrap(calloc(n1 * n1, sizeof(double)), n1, n1);
    CU_ASSERT_EQUAL(lr_compressed_to_dense(&c, M), LR_OK);
    for (size_t j = 0; j < n1; j++) {
        for (size_t i = 0; i < n0; i++) LR_AT(A, i, j) = LR_AT(M, i, j);
        LR_AT(A, n0, j) = L0->b[j];
        LR_AT(I, j, j) = 1.0;
    }
    lr_net_lowrank grouped[2] = {{.c = &c}, {.c = NULL}}, dense[2] = {{.A = A, .B = I}, {.c = NULL}};
    size_t n = 60;
    lr_mat x = lr_mat_wrap(calloc(n * 6, sizeof(double)), n, 6);
    lr_mat lg = lr_mat_wrap(calloc(n * 3, sizeof(double)), n, 3), lr = lr_mat_wrap(calloc(n * 3, sizeof(double)), n, 3);
    CU_ASSERT_EQUAL(lr_dump_read_inputs(d, 0, n, x, NULL), LR_OK);
    CU_ASSERT_EQUAL(lr_net_forward(net, grouped, x, lg), LR_OK);
    CU_ASSERT_EQUAL(lr_net_forward(net, dense, x, lr), LR_OK);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 3; j++) {
            diff = fmax(diff, fabs(LR_AT(lg, i, j) - LR_AT(lr, i, j)));
            norm = fmax(norm, fabs(LR_AT(lr, i, j)));
        }
    CU_ASSERT(norm > 0 && diff <= 1e-12 * norm);
    printf("\n    grouped forward pass (k = 2) against the dense W^: largest logit deviation %.2e of the largest logit ",
           norm > 0 ? diff / norm : NAN);
    free(M.data), free(A.data), free(I.data), free(x.data), free(lg.data), free(lr.data);
    lr_net_free(net);
    lr_dump_close(d);
    unlink(path);
}

void lr_tests_nn(void)
{
    CU_pSuite s = CU_add_suite("nn/net: network building and post ops", NULL, NULL);
    CU_add_test(s, "unknown op: the message names the dump, the layer and the op", test_net_unknown_op_message);
    CU_add_test(s, "post ops: activations with parameters, pooling, messages", test_post_parse);
    CU_add_test(s, "dumps written in C with each activation run forward", test_net_activation_dumps);
    CU_add_test(s, "layernorm = GSL's mean and biased variance; its properties", test_layernorm);
    CU_add_test(s, "post-op parameters and grouped convs that do not fit are refused",
                test_post_params_and_groups_refused);
    CU_add_test(s, "a grouped (ALDS) layer runs as encoders and decoder = its dense M", test_net_grouped_replacement);
    atexit(cleanup);
}
