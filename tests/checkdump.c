/* tests/checkdump [--logits] FILE: read a layer dump the way `lrlab run` does and print
 * what lrlab sees, for the end-to-end tests of tools/dump_torch.py (tests/torch_dumps.py).
 *
 * It opens FILE (with the reader's isolating probe), checks every layer (finite values,
 * ||Y - X W^T - b||_F <= 1e-4 ||Y||_F, a grouped conv's block-diagonal W, the row index)
 * and reads /inputs; for a sequential network it builds lrlab's forward pass (post ops and
 * their parameters) and runs it on every input.  Output, one line each:
 *     layer NNN KIND MODULE n0 N0 n1 N1 m M groups G resid R
 *     dump FILE layers N linear A conv2d B grouped C network sequential|layers worst W
 *                                        (C of the B conv2d layers have groups > 1)
 *     forward inputs N test T correct K
 *     logits I ARGMAX V0 V1 ...          (with --logits: every input, %.17g)
 * and on a refusal the reader's message on stderr, exit status 1. */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"
#include "io/dump.h"
#include "io/h5.h"
#include "nn/net.h"

static int run_network(const lr_dump *d, int logits)
{
    lr_net *net = NULL;
    LR_TRY(lr_net_from_dump(d, &net));
    size_t n = d->n_inputs, bs = 64, correct = 0, ntest = 0;
    double *x = malloc(bs * net->in_dim * sizeof(double)), *z = malloc(bs * net->out_dim * sizeof(double));
    long *lab = malloc(bs * sizeof(long));
    int status = x && z && lab ? LR_OK : LR_ENOMEM;
    for (size_t i0 = 0; status == LR_OK && i0 < n; i0 += bs) {
        size_t nb = n - i0 < bs ? n - i0 : bs;
        lr_mat X = lr_mat_wrap(x, nb, net->in_dim), Z = lr_mat_wrap(z, nb, net->out_dim);
        status = lr_dump_read_inputs(d, i0, nb, X, lab);
        if (status == LR_OK) status = lr_net_forward(net, NULL, X, Z);
        for (size_t s = 0; status == LR_OK && s < nb; s++) {
            size_t best = 0;
            for (size_t j = 1; j < net->out_dim; j++)
                if (LR_AT(Z, s, j) > LR_AT(Z, s, best)) best = j;
            if (i0 + s >= d->n_calib && d->has_labels) {
                ntest++;
                correct += (long)best == lab[s];
            }
            if (logits) {
                printf("logits %zu %zu", i0 + s, best);
                for (size_t j = 0; j < net->out_dim; j++) printf(" %.17g", LR_AT(Z, s, j));
                printf("\n");
            }
        }
    }
    if (status == LR_OK) printf("forward inputs %zu test %zu correct %zu\n", n, ntest, correct);
    free(x);
    free(z);
    free(lab);
    lr_net_free(net);
    return status;
}

int main(int argc, char **argv)
{
    int logits = argc == 3 && !strcmp(argv[1], "--logits");
    if (argc != 2 && !logits) {
        fprintf(stderr, "usage: checkdump [--logits] FILE\n");
        return 2;
    }
    const char *path = argv[argc - 1];
    gsl_set_error_handler_off();
    lr_h5_quiet();
    lr_dump *d = NULL;
    int status = lr_dump_open(path, &d);
    double worst = 0;
    size_t nk[3] = {0, 0, 0};
    for (size_t l = 0; status == LR_OK && l < d->nlayers; l++) {
        const lr_dump_layer *L = &d->layers[l];
        lr_dump_check_report rep;
        status = lr_dump_check_layer(d, l, 1e-4, 4096, &rep);
        long long *rows = status == LR_OK ? malloc(L->m * sizeof *rows) : NULL;
        if (status == LR_OK && !rows) status = LR_ENOMEM;
        if (status == LR_OK) status = lr_dump_read_row_index(d, l, rows);
        free(rows);
        if (status != LR_OK) break;
        if (rep.resid_rel > worst) worst = rep.resid_rel;
        nk[L->kind == LR_LAYER_CONV2D]++;
        nk[2] += L->kind == LR_LAYER_CONV2D && L->groups > 1;
        printf("layer %s %s %s n0 %zu n1 %zu m %zu groups %ld resid %.3g\n", L->group,
               L->kind == LR_LAYER_CONV2D ? "conv2d" : "linear", L->module, L->n0, L->n1, L->m, L->groups,
               rep.resid_rel);
    }
    if (status == LR_OK)
        printf("dump %s layers %zu linear %zu conv2d %zu grouped %zu network %s worst %.3g\n", path, d->nlayers,
               nk[0], nk[1], nk[2], d->sequential ? "sequential" : "layers", worst);
    if (status == LR_OK && d->sequential && d->has_inputs) status = run_network(d, logits);
    lr_dump_close(d);
    if (status != LR_OK) {
        fprintf(stderr, "checkdump: %s\n", lr_last_error());
        return 1;
    }
    return 0;
}
