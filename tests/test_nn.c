/* Tests of the forward pass's network building and post ops (src/nn/net.c): the parser
 * and its messages, and dumps written in C with each activation of the registry whose
 * forward pass reproduces the stored Y. */
#include <CUnit/CUnit.h>
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
                                            "gelu, gelu_tanh, maxpool2d(k,s), avgpool2d(k,s), flatten)");
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
                                     LR_DUMPGEN_GELU_TANH, LR_DUMPGEN_LEAKY_RELU};
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
        CU_ASSERT_EQUAL(net->layers[0].npost, 1);
        size_t n = 60;
        lr_mat x = lr_mat_wrap(calloc(n * 6, sizeof(double)), n, 6);
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
    CU_add_test(s, "a grouped (ALDS) layer runs as encoders and decoder = its dense M", test_net_grouped_replacement);
    atexit(cleanup);
}
