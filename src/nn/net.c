/* Forward pass of a dumped sequential network (see net.h for the layouts). */
#include "net.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/activation.h"

/* The pooling op at p ("maxpool2d(k,s)" or "avgpool2d(k,s)", args just after the '('). */
static int parse_pool(const char *text, const char *args, lr_post_op *op, const char **next)
{
    char *end;
    op->k = strtol(args, &end, 10);
    if (*end != ',') LR_ERRORF(LR_EDATA, "post ops '%s': expected pool2d(k,s)", text);
    op->s = strtol(end + 1, &end, 10);
    if (*end != ')' || op->k < 1 || op->s < 1)
        LR_ERRORF(LR_EDATA, "post ops '%s': expected pool2d(k,s) with k, s >= 1", text);
    *next = end + 1;
    return LR_OK;
}

/* The activation `id` at p (its name len characters long): name or name(parameter). */
static int parse_activation(const char *text, const char *p, size_t len, int id, lr_post_op *op,
                            const char **next)
{
    const lr_activation *a = lr_activation_get((lr_activation_id)id);
    op->kind = LR_POST_ACT;
    op->act = (lr_activation_id)id;
    *next = p + len;
    if (!a->param) {
        if (p[len] == '(') LR_ERRORF(LR_EDATA, "post ops '%s': %s takes no parameter", text, a->name);
        return LR_OK;
    }
    if (p[len] != '(')
        LR_ERRORF(LR_EDATA, "post ops '%s': %s needs its %s, written %s(%s)", text, a->name, a->param,
                  a->name, a->param);
    char *end;
    op->param = strtod(p + len + 1, &end);
    if (end == p + len + 1 || *end != ')' || !isfinite(op->param))
        LR_ERRORF(LR_EDATA, "post ops '%s': expected %s(%s) with a finite number at '%s'", text, a->name,
                  a->param, p);
    *next = end + 1;
    return LR_OK;
}

/* layernorm(eps), args just after the '(': eps finite and >= 0 (PyTorch takes any float;
 * a negative one would make v + eps vanish or go negative). */
static int parse_layernorm(const char *text, const char *args, lr_post_op *op, const char **next)
{
    char *end;
    op->kind = LR_POST_LAYERNORM;
    op->param = strtod(args, &end);
    if (end == args || *end != ')' || !isfinite(op->param) || op->param < 0)
        LR_ERRORF(LR_EDATA, "post ops '%s': expected layernorm(eps) with a finite eps >= 0 at '%s'", text,
                  args - 10);
    *next = end + 1;
    return LR_OK;
}

int lr_net_parse_post(const char *text, lr_post_op *ops, size_t *nops)
{
    *nops = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        if (*nops == LR_NET_MAX_POST) LR_ERRORF(LR_EDATA, "post ops '%s': more than %d", text, LR_NET_MAX_POST);
        lr_post_op *op = &ops[*nops];
        *op = (lr_post_op){0};
        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
        int act = lr_activation_find(p, len);
        if (act >= 0) {
            LR_TRY(parse_activation(text, p, len, act, op, &p));
        } else if (len == 7 && !strncmp(p, "flatten", 7)) {
            op->kind = LR_POST_FLATTEN;
            p += 7;
        } else if (len == 9 && !strncmp(p, "layernorm", 9)) {
            if (p[9] != '(') LR_ERRORF(LR_EDATA, "post ops '%s': layernorm needs its eps, written layernorm(eps)", text);
            LR_TRY(parse_layernorm(text, p + 10, op, &p));
        } else if (len == 9 && p[9] == '(' && (!strncmp(p, "maxpool2d", 9) || !strncmp(p, "avgpool2d", 9))) {
            op->kind = p[0] == 'm' ? LR_POST_MAXPOOL : LR_POST_AVGPOOL;
            LR_TRY(parse_pool(text, p + 10, op, &p));
        } else {
            char names[256];
            size_t shown = len ? len : strcspn(p, ", ");
            LR_ERRORF(LR_EDATA, "post ops '%s': unknown op '%.*s' (known: %s, maxpool2d(k,s), "
                      "avgpool2d(k,s), flatten, layernorm(eps))", text, (int)shown, p,
                      lr_activation_names(names, sizeof names));
        }
        if (*p && *p != ',' && !isspace((unsigned char)*p))
            LR_ERRORF(LR_EDATA, "post ops '%s': junk at '%s'", text, p);
        (*nops)++;
    }
    return LR_OK;
}

void lr_net_free(lr_net *net)
{
    if (!net) return;
    for (size_t i = 0; i < net->nlayers; i++) {
        lr_free(net->layers[i].W.data);
        lr_free(net->layers[i].b);
        for (size_t o = 0; o < LR_NET_MAX_POST; o++) {
            lr_free(net->layers[i].post[o].w);
            lr_free(net->layers[i].post[o].b);
        }
    }
    free(net->layers);
    free(net);
}

/* The affine of layernorm op o of layer l (dim values per sample): postO_weight alone or
 * with postO_bias (nn.LayerNorm has a bias only with a weight), or neither. */
static int read_layernorm(const lr_dump *d, size_t l, size_t o, const char *lab, size_t dim, lr_post_op *op)
{
    const lr_dump_layer *D = &d->layers[l];
    int has_w = D->post_weight >> o & 1u, has_b = D->post_bias >> o & 1u;
    op->dim = dim;
    if (has_b && !has_w)
        LR_ERRORF(LR_EDATA, "%s: %s: dataset 'post%zu_bias' without 'post%zu_weight': a layernorm's "
                  "elementwise affine has a weight whenever it has a bias", d->path, lab, o, o);
    if (has_w) {
        if (!(op->w = lr_malloc(dim * sizeof(double)))) LR_ERROR(LR_ENOMEM, "out of memory");
        LR_TRY(lr_dump_read_post_param(d, l, o, "weight", op->w, dim));
    }
    if (has_b) {
        if (!(op->b = lr_malloc(dim * sizeof(double)))) LR_ERROR(LR_ENOMEM, "out of memory");
        LR_TRY(lr_dump_read_post_param(d, l, o, "bias", op->b, dim));
    }
    return LR_OK;
}

int lr_net_layernorm(const lr_post_op *op, lr_mat A)
{
    if (op->kind != LR_POST_LAYERNORM || A.cols != op->dim)
        LR_ERRORF(LR_EINVAL, "lr_net_layernorm: %zu columns for a layernorm of %zu", A.cols, op->dim);
    size_t D = op->dim;
    for (size_t s = 0; s < A.rows; s++) {
        /* Two passes (mean, then the centred squares): no cancellation for a large mean. */
        double mu = 0, v = 0;
        for (size_t i = 0; i < D; i++) mu += LR_AT(A, s, i);
        mu /= (double)D;
        for (size_t i = 0; i < D; i++) {
            double c = LR_AT(A, s, i) - mu;
            v += c * c;
        }
        v /= (double)D;
        if (!(v + op->param > 0))
            LR_ERRORF(LR_EDATA, "layernorm(%g): sample %zu of the batch is constant (variance 0), and eps = 0 "
                      "leaves nothing to divide by", op->param, s);
        double r = 1.0 / sqrt(v + op->param);
        for (size_t i = 0; i < D; i++) {
            double y = (LR_AT(A, s, i) - mu) * r;
            if (op->w) y *= op->w[i];
            if (op->b) y += op->b[i];
            LR_AT(A, s, i) = y;
        }
    }
    return LR_OK;
}

int lr_net_from_dump(const lr_dump *d, lr_net **out)
{
    *out = NULL;
    if (!d->sequential)
        LR_ERRORF(LR_EDATA, "%s: network is not \"sequential\": the dump describes layers only",
                  d->path);
    if (!d->has_inputs) LR_ERRORF(LR_EDATA, "%s: the dump has no /inputs to run the network on", d->path);
    lr_net *net = calloc(1, sizeof *net);
    if (!net) LR_ERROR(LR_ENOMEM, "out of memory");
    net->layers = calloc(d->nlayers, sizeof *net->layers);
    if (!net->layers) {
        free(net);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    net->nlayers = d->nlayers;
    net->in_dim = d->input_dim;
    /* The running activation shape: C, H, W (flat vectors are (D, 1, 1)); `spatial` is
     * whether it still is an image (a linear layer needs a flatten first). */
    long shape[3] = {(long)d->input_dim, 1, 1};
    int spatial = 0;
    if (d->input_rank == 3) {
        for (int k = 0; k < 3; k++) shape[k] = (long)d->input_shape[k];
        spatial = 1;
    } else if (d->input_rank == 2) {
        shape[0] = 1;
        shape[1] = (long)d->input_shape[0];
        shape[2] = (long)d->input_shape[1];
        spatial = 1;
    }
    int status = LR_OK;
    char lab[400];
    for (size_t l = 0; l < d->nlayers && status == LR_OK; l++) {
        const lr_dump_layer *D = &d->layers[l];
        lr_net_layer *L = &net->layers[l];
        lr_dump_layer_label(d, l, lab, sizeof lab);
        snprintf(L->module, sizeof L->module, "%s", D->module);
        L->kind = D->kind;
        L->n0 = D->n0;
        L->n1 = D->n1;
        L->has_bias = D->has_bias;
        L->in_dim = (size_t)(shape[0] * shape[1] * shape[2]);
        if (!D->has_post) {
            status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: attribute 'post' is missing "
                              "in a sequential network", d->path, lab);
            break;
        }
        if ((status = lr_net_parse_post(D->post, L->post, &L->npost)) != LR_OK) {
            /* A copy: lr_error formats into the buffer lr_last_error() returns. */
            char why[1024];
            snprintf(why, sizeof why, "%s", lr_last_error());
            status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: %s", d->path, lab, why);
            break;
        }
        if (D->kind == LR_LAYER_CONV2D) {
            memcpy(L->kernel, D->kernel, sizeof L->kernel);
            memcpy(L->stride, D->stride, sizeof L->stride);
            memcpy(L->padding, D->padding, sizeof L->padding);
            memcpy(L->dilation, D->dilation, sizeof L->dilation);
            memcpy(L->in_shape, D->in_shape, sizeof L->in_shape);
            memcpy(L->out_shape, D->out_shape, sizeof L->out_shape);
            if (D->in_shape[0] * D->in_shape[1] * D->in_shape[2] != shape[0] * shape[1] * shape[2] ||
                (spatial && (D->in_shape[0] != shape[0] || D->in_shape[1] != shape[1])))
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: in_shape [%ld, %ld, %ld] "
                                  "does not match the activations [%ld, %ld, %ld] arriving there",
                                  d->path, lab, D->in_shape[0], D->in_shape[1], D->in_shape[2],
                                  shape[0], shape[1], shape[2]);
            L->L = (size_t)(D->out_shape[1] * D->out_shape[2]);
            spatial = 1;
        } else {
            if (spatial && shape[1] * shape[2] > 1)
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: a linear layer receives "
                                  "a [%ld, %ld, %ld] image without a flatten", d->path, lab,
                                  shape[0], shape[1], shape[2]);
            else if ((size_t)(shape[0] * shape[1] * shape[2]) != D->n0)
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: N0 = %zu but %ld values "
                                  "arrive per sample", d->path, lab, D->n0, shape[0] * shape[1] * shape[2]);
            L->L = 1;
            L->out_shape[0] = (long)D->n1;
            L->out_shape[1] = L->out_shape[2] = 1;
            spatial = 0;
        }
        if (status != LR_OK) break;
        for (int k = 0; k < 3; k++) shape[k] = L->out_shape[k];
        for (size_t o = 0; o < L->npost; o++) {
            const lr_post_op *op = &L->post[o];
            if (op->kind == LR_POST_MAXPOOL || op->kind == LR_POST_AVGPOOL) {
                if (!spatial || shape[1] < op->k || shape[2] < op->k) {
                    status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: pooling window %ld "
                                      "does not fit the [%ld, %ld, %ld] activations", d->path, lab,
                                      op->k, shape[0], shape[1], shape[2]);
                    break;
                }
                shape[1] = (shape[1] - op->k) / op->s + 1;
                shape[2] = (shape[2] - op->k) / op->s + 1;
            } else if (op->kind == LR_POST_FLATTEN) {
                shape[0] = shape[0] * shape[1] * shape[2];
                shape[1] = shape[2] = 1;
                spatial = 0;
            } else if (op->kind == LR_POST_LAYERNORM) {
                if ((status = read_layernorm(d, l, o, lab, (size_t)(shape[0] * shape[1] * shape[2]),
                                             &L->post[o])) != LR_OK)
                    break;
            }
            if (op->kind != LR_POST_LAYERNORM && ((D->post_weight | D->post_bias) >> o & 1u)) {
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: dataset 'post%zu_%s' belongs to "
                                  "post op %zu, which is not a layernorm and takes no parameters (post '%s')",
                                  d->path, lab, o, (D->post_weight >> o & 1u) ? "weight" : "bias", o, D->post);
                break;
            }
        }
        /* Parameters of ops the post attribute does not have: a mislabelled dump. */
        for (size_t o = L->npost; status == LR_OK && o < LR_NET_MAX_POST; o++)
            if ((D->post_weight | D->post_bias) >> o & 1u)
                status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: dataset 'post%zu_%s' belongs to "
                                  "post op %zu, but post '%s' has %zu ops", d->path, lab, o,
                                  (D->post_weight >> o & 1u) ? "weight" : "bias", o, D->post, L->npost);
        /* A pooling window that does not fit is refused above; the weights must not be
         * read over that refusal (their status would replace it). */
        if (status != LR_OK) break;
        for (int k = 0; k < 3; k++) L->post_shape[k] = shape[k];
        L->post_dim = (size_t)(shape[0] * shape[1] * shape[2]);
        L->W.data = lr_malloc(L->n0 * L->n1 * sizeof(double));
        L->W.rows = L->W.ld = L->n0;
        L->W.cols = L->n1;
        L->b = lr_malloc(L->n1 * sizeof(double));
        if (!L->W.data || !L->b) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        else status = lr_dump_read_weights(d, l, L->W, L->b);
    }
    if (status != LR_OK) {
        lr_net_free(net);
        return status;
    }
    net->out_dim = net->layers[net->nlayers - 1].post_dim;
    *out = net;
    return LR_OK;
}

size_t lr_net_rows(const lr_net_layer *L, size_t n) { return n * L->L; }

int lr_net_im2col(const lr_net_layer *L, lr_mat act, lr_mat X)
{
    size_t n = act.rows;
    if (act.cols != L->in_dim || X.rows != n * L->L || X.cols != L->n0)
        LR_ERRORF(LR_EINVAL, "lr_net_im2col: act %zux%zu, X %zux%zu for %s", act.rows, act.cols,
                  X.rows, X.cols, L->module);
    if (L->kind == LR_LAYER_LINEAR) {
        lr_mat_copy(X, act);
        return LR_OK;
    }
    long C = L->in_shape[0], H = L->in_shape[1], Wd = L->in_shape[2];
    long kh = L->kernel[0], kw = L->kernel[1], OH = L->out_shape[1], OW = L->out_shape[2];
    for (long c = 0; c < C; c++)
        for (long i = 0; i < kh; i++)
            for (long j = 0; j < kw; j++) {
                size_t col = (size_t)(c * kh * kw + i * kw + j);
                for (long oh = 0; oh < OH; oh++) {
                    long ih = oh * L->stride[0] - L->padding[0] + i * L->dilation[0];
                    for (long ow = 0; ow < OW; ow++) {
                        long iw = ow * L->stride[1] - L->padding[1] + j * L->dilation[1];
                        size_t p = (size_t)(oh * OW + ow);
                        int inside = ih >= 0 && ih < H && iw >= 0 && iw < Wd;
                        size_t src = (size_t)(c * H * Wd + ih * Wd + iw);
                        for (size_t s = 0; s < n; s++)
                            LR_AT(X, s * L->L + p, col) = inside ? LR_AT(act, s, src) : 0.0;
                    }
                }
            }
    return LR_OK;
}

int lr_net_apply(const lr_net_layer *L, const lr_net_lowrank *lr, lr_mat X, lr_mat Y)
{
    size_t rows = X.rows;
    if (X.cols != L->n0 || Y.rows != rows || Y.cols != L->n1)
        LR_ERRORF(LR_EINVAL, "lr_net_apply: X %zux%zu, Y %zux%zu for %s", X.rows, X.cols, Y.rows,
                  Y.cols, L->module);
    if (lr && lr->c) {
        if (lr->c->n0 != L->n0 || lr->c->n1 != L->n1)
            LR_ERRORF(LR_EINVAL, "lr_net_apply: a %zux%zu replacement for %s (%zux%zu)", lr->c->n0,
                      lr->c->n1, L->module, L->n0, L->n1);
        size_t need = lr_compressed_apply_need(lr->c, rows);
        double *work = need ? lr_malloc(need * sizeof(double)) : NULL;
        if (need && !work) LR_ERROR(LR_ENOMEM, "out of memory applying a compressed layer");
        int s = lr_compressed_apply(lr->c, X, Y, work);
        lr_free(work);
        for (size_t j = 0; s == LR_OK && j < L->n1; j++)
            for (size_t i = 0; i < rows; i++) LR_AT(Y, i, j) += L->b[j];
        return s;
    }
    if (!lr || !lr->A.data) {
        for (size_t j = 0; j < L->n1; j++)
            for (size_t i = 0; i < rows; i++) LR_AT(Y, i, j) = L->b[j];
        return lr_gemm('N', 'N', 1.0, X, L->W, 1.0, Y);
    }
    size_t k = lr->A.cols;
    if (lr->A.rows != L->n0 + (size_t)L->has_bias || lr->B.rows != k || lr->B.cols != L->n1)
        LR_ERRORF(LR_EINVAL, "lr_net_apply: factors %zux%zu, %zux%zu for %s", lr->A.rows, k,
                  lr->B.rows, lr->B.cols, L->module);
    if (k == 0) {
        lr_mat_set_zero(Y);
        return LR_OK;
    }
    double *t = lr_malloc(rows * k * sizeof(double));
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory applying a low-rank layer");
    lr_mat T = lr_mat_wrap(t, rows, k);
    /* T = X A[:n0] + 1 A[n0] (the folded bias row), then Y = T B. */
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < rows; i++) LR_AT(T, i, j) = L->has_bias ? LR_AT(lr->A, L->n0, j) : 0.0;
    int s = lr_gemm('N', 'N', 1.0, X, lr_mat_view(lr->A, 0, 0, L->n0, k), 1.0, T);
    if (s == LR_OK) s = lr_gemm('N', 'N', 1.0, T, lr->B, 0.0, Y);
    lr_free(t);
    return s;
}

int lr_net_post(const lr_net_layer *L, lr_mat Y, size_t n, lr_mat act_out)
{
    if (Y.rows != n * L->L || Y.cols != L->n1 || act_out.rows != n || act_out.cols != L->post_dim)
        LR_ERRORF(LR_EINVAL, "lr_net_post: Y %zux%zu, out %zux%zu for %s", Y.rows, Y.cols,
                  act_out.rows, act_out.cols, L->module);
    long shape[3] = {L->out_shape[0], L->out_shape[1], L->out_shape[2]};
    size_t dim = (size_t)(shape[0] * shape[1] * shape[2]);
    double *cur = lr_malloc(n * dim * sizeof(double));
    if (!cur) LR_ERROR(LR_ENOMEM, "out of memory in the forward pass");
    lr_mat A = lr_mat_wrap(cur, n, dim);
    /* Back from rows (s, p) x channels to samples x (c, p). */
    for (size_t c = 0; c < L->n1; c++)
        for (size_t p = 0; p < L->L; p++)
            for (size_t s = 0; s < n; s++) LR_AT(A, s, c * L->L + p) = LR_AT(Y, s * L->L + p, c);
    for (size_t o = 0; o < L->npost; o++) {
        const lr_post_op *op = &L->post[o];
        if (op->kind == LR_POST_ACT || op->kind == LR_POST_LAYERNORM) {
            int s = op->kind == LR_POST_ACT ? lr_activation_apply(op->act, op->param, cur, n * dim)
                                            : lr_net_layernorm(op, A);
            if (s != LR_OK) {
                lr_free(cur);
                return s;
            }
        } else if (op->kind == LR_POST_MAXPOOL || op->kind == LR_POST_AVGPOOL) {
            long C = shape[0], H = shape[1], Wd = shape[2];
            long OH = (H - op->k) / op->s + 1, OW = (Wd - op->k) / op->s + 1;
            size_t ndim = (size_t)(C * OH * OW);
            double *nx = lr_malloc(n * ndim * sizeof(double));
            if (!nx) {
                lr_free(cur);
                LR_ERROR(LR_ENOMEM, "out of memory in the forward pass");
            }
            lr_mat B = lr_mat_wrap(nx, n, ndim);
            for (long c = 0; c < C; c++)
                for (long oh = 0; oh < OH; oh++)
                    for (long ow = 0; ow < OW; ow++)
                        for (size_t s = 0; s < n; s++) {
                            double acc = op->kind == LR_POST_MAXPOOL ? -INFINITY : 0.0;
                            for (long i = 0; i < op->k; i++)
                                for (long j = 0; j < op->k; j++) {
                                    double v = LR_AT(A, s, (size_t)(c * H * Wd + (oh * op->s + i) * Wd + ow * op->s + j));
                                    acc = op->kind == LR_POST_MAXPOOL ? (v > acc ? v : acc) : acc + v;
                                }
                            if (op->kind == LR_POST_AVGPOOL) acc /= (double)(op->k * op->k);
                            LR_AT(B, s, (size_t)(c * OH * OW + oh * OW + ow)) = acc;
                        }
            lr_free(cur);
            cur = nx;
            A = B;
            shape[1] = OH;
            shape[2] = OW;
            dim = ndim;
        }
        /* flatten: the layout is already flat in NCHW order. */
    }
    lr_mat_copy(act_out, A);
    lr_free(cur);
    return LR_OK;
}

int lr_net_forward(const lr_net *net, const lr_net_lowrank *lr, lr_mat x, lr_mat logits)
{
    size_t n = x.rows;
    if (x.cols != net->in_dim || logits.rows != n || logits.cols != net->out_dim)
        LR_ERROR(LR_EINVAL, "lr_net_forward: shapes do not match the network");
    double *act = lr_malloc(n * net->in_dim * sizeof(double));
    if (!act) LR_ERROR(LR_ENOMEM, "out of memory in the forward pass");
    lr_mat A = lr_mat_wrap(act, n, net->in_dim);
    lr_mat_copy(A, x);
    int status = LR_OK;
    for (size_t l = 0; l < net->nlayers && status == LR_OK; l++) {
        const lr_net_layer *L = &net->layers[l];
        size_t rows = lr_net_rows(L, n);
        double *xb = lr_malloc(rows * L->n0 * sizeof(double)), *yb = lr_malloc(rows * L->n1 * sizeof(double));
        double *nx = lr_malloc(n * L->post_dim * sizeof(double));
        if (!xb || !yb || !nx) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory in the forward pass");
        lr_mat X = lr_mat_wrap(xb, rows, L->n0), Y = lr_mat_wrap(yb, rows, L->n1), N = lr_mat_wrap(nx, n, L->post_dim);
        if (status == LR_OK) status = lr_net_im2col(L, A, X);
        if (status == LR_OK) status = lr_net_apply(L, lr ? &lr[l] : NULL, X, Y);
        if (status == LR_OK) status = lr_net_post(L, Y, n, N);
        lr_free(xb);
        lr_free(yb);
        lr_free(act);
        act = nx;
        A = N;
    }
    if (status == LR_OK) lr_mat_copy(logits, A);
    lr_free(act);
    return status;
}

int lr_net_correct(const lr_net *net, const lr_net_lowrank *lr, lr_mat x, const long *labels, size_t batch,
                   size_t *correct)
{
    size_t bs = batch ? batch : 256, n = x.rows;
    *correct = 0;
    double *lg = lr_malloc(bs * net->out_dim * sizeof(double));
    if (!lg) LR_ERROR(LR_ENOMEM, "out of memory");
    int s = LR_OK;
    for (size_t i0 = 0; i0 < n && s == LR_OK; i0 += bs) {
        size_t nb = n - i0 < bs ? n - i0 : bs;
        lr_mat xb = lr_mat_view(x, i0, 0, nb, net->in_dim);
        lr_mat logits = lr_mat_wrap(lg, nb, net->out_dim);
        s = lr_net_forward(net, lr, xb, logits);
        if (s == LR_OK) *correct += lr_net_count_correct(logits, labels + i0);
    }
    lr_free(lg);
    return s;
}

size_t lr_net_count_correct(lr_mat logits, const long *labels)
{
    size_t ok = 0;
    for (size_t s = 0; s < logits.rows; s++) {
        size_t best = 0;
        for (size_t j = 1; j < logits.cols; j++)
            if (LR_AT(logits, s, j) > LR_AT(logits, s, best)) best = j;
        ok += (long)best == labels[s];
    }
    return ok;
}
