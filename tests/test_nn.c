/* Tests of the forward pass's network building and post ops (src/nn/net.c). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/dump.h"
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
                                            "at 'softmax' (relu, maxpool2d(k,s), avgpool2d(k,s), flatten)");
}

void lr_tests_nn(void)
{
    CU_pSuite s = CU_add_suite("nn/net: network building", NULL, NULL);
    CU_add_test(s, "unknown op: the message names the dump, the layer and the op", test_net_unknown_op_message);
}
