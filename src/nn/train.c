/* The training engine and LoD (see train.h for the maths and the papers). */
#include "nn/train.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"
#include "core/mat.h"
#include "nn/activation.h"

#define ROW CblasRowMajor

/* C (M x N, row-major) = op(A) op(B) + beta C, with the same bits for any thread count.
 * OpenBLAS 0.3.21 (Debian 12's) gives different bits on one and two threads when the
 * column-major view of C is thin: N' = 4 or 10 columns beside M' >= 32 rows (measured on
 * this machine over M', N' in {4, 10, 16, 32, ..., 784}, K in {32, ..., 1024}: e.g. the
 * 10 x 128 weight gradient of a 10-class output layer, K = 256), never when N' >= 16 or
 * M' <= N'.  Row-major C is column-major M' = N, N' = M: so when C has fewer than
 * MM_THIN rows and more columns than rows, the transpose C^T = op(B)^T op(A)^T is computed
 * into S (N x M row-major) and added back (a strided copy: only for thin C, since it cost
 * 10% of a Fashion-MNIST epoch when every batch of 128 took this path). */
#define MM_THIN 32
static void mm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, size_t M, size_t N, size_t K, const double *A, size_t lda,
               const double *B, size_t ldb, double beta, double *C, size_t ldc, double *S)
{
    if (M >= N || M >= MM_THIN) {
        cblas_dgemm(ROW, ta, tb, (int)M, (int)N, (int)K, 1.0, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
        return;
    }
    CBLAS_TRANSPOSE tat = ta == CblasNoTrans ? CblasTrans : CblasNoTrans;
    CBLAS_TRANSPOSE tbt = tb == CblasNoTrans ? CblasTrans : CblasNoTrans;
    cblas_dgemm(ROW, tbt, tat, (int)N, (int)M, (int)K, 1.0, B, (int)ldb, A, (int)lda, 0.0, S, (int)M);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) C[i * ldc + j] = (beta == 0.0 ? 0.0 : beta * C[i * ldc + j]) + S[j * M + i];
}

static size_t layer_nparams(const lr_tlayer_spec *s, size_t n0)
{
    return (s->rank ? s->rank * (n0 + s->n_out) : n0 * s->n_out) + s->n_out;
}

void lr_tnet_free(lr_tnet *net)
{
    if (!net) return;
    for (size_t l = 0; net->Z && l < net->nlayers; l++) {
        lr_free(net->Z[l]);
        lr_free(net->A[l]);
        lr_free(net->H[l]);
    }
    lr_free(net->Z);
    lr_free(net->A);
    lr_free(net->H);
    lr_free(net->d0);
    lr_free(net->d1);
    lr_free(net->dH);
    lr_free(net->S);
    lr_free(net->ranks);
    lr_free(net->theta);
    lr_free(net->grad);
    lr_free(net->layers);
    lr_free(net);
}

lr_tnet *lr_tnet_alloc(size_t in_dim, const lr_tlayer_spec *specs, size_t nlayers, size_t cap)
{
    if (!in_dim || !nlayers || !cap) LR_ERROR_NULL(LR_EINVAL, "lr_tnet_alloc: empty network or batch");
    size_t n0 = in_dim, np = 0, width = in_dim, rwidth = 1;
    for (size_t l = 0; l < nlayers; l++) {
        const lr_tlayer_spec *s = &specs[l];
        if (!s->n_out) LR_ERROR_NULL(LR_EINVAL, "lr_tnet_alloc: layer %zu has no outputs", l);
        if (s->act != LR_TRAIN_ACT_NONE && !lr_activation_get((lr_activation_id)s->act))
            LR_ERROR_NULL(LR_EINVAL, "lr_tnet_alloc: layer %zu: no activation %d", l, s->act);
        if (s->rank > (n0 < s->n_out ? n0 : s->n_out))
            LR_ERROR_NULL(LR_EINVAL, "lr_tnet_alloc: layer %zu: rank %zu exceeds min(n0, n1) = %zu", l, s->rank,
                          n0 < s->n_out ? n0 : s->n_out);
        np += layer_nparams(s, n0);
        if (s->n_out > width) width = s->n_out;
        if (s->rank > rwidth) rwidth = s->rank;
        n0 = s->n_out;
    }
    lr_tnet *net = lr_calloc(1, sizeof *net);
    if (!net) LR_ERROR_NULL(LR_ENOMEM, "lr_tnet_alloc: no memory");
    net->nlayers = nlayers;
    net->in_dim = in_dim;
    net->out_dim = n0;
    net->nparams = np;
    net->cap = cap;
    net->width = width;
    net->layers = lr_calloc(nlayers, sizeof *net->layers);
    net->theta = lr_calloc(np, sizeof(double));
    net->grad = lr_calloc(np, sizeof(double));
    net->Z = lr_calloc(nlayers, sizeof(double *));
    net->A = lr_calloc(nlayers, sizeof(double *));
    net->H = lr_calloc(nlayers, sizeof(double *));
    net->d0 = lr_malloc(cap * width * sizeof(double));
    net->d1 = lr_malloc(cap * width * sizeof(double));
    net->dH = lr_malloc(cap * rwidth * sizeof(double));
    net->S = lr_malloc((cap > width ? cap : width) * width * sizeof(double));
    net->ranks = lr_calloc(nlayers, sizeof(size_t));
    int ok = net->layers && net->theta && net->grad && net->Z && net->A && net->H && net->d0 && net->d1 &&
             net->dH && net->S && net->ranks;
    n0 = in_dim;
    double *t = net->theta, *g = net->grad;
    for (size_t l = 0; ok && l < nlayers; l++) {
        const lr_tlayer_spec *s = &specs[l];
        lr_tlayer *L = &net->layers[l];
        L->n0 = n0;
        L->n1 = s->n_out;
        L->act = s->act;
        L->act_param = s->act_param;
        L->rmax = L->rank = s->rank;
        if (s->rank) {
            L->U = t, L->gU = g, t += n0 * s->rank, g += n0 * s->rank;
            L->V = t, L->gV = g, t += s->n_out * s->rank, g += s->n_out * s->rank;
            net->H[l] = lr_malloc(cap * s->rank * sizeof(double));
            ok = ok && net->H[l];
        } else {
            L->W = t, L->gW = g, t += n0 * s->n_out, g += n0 * s->n_out;
        }
        L->b = t, L->gb = g, t += s->n_out, g += s->n_out;
        net->Z[l] = lr_malloc(cap * s->n_out * sizeof(double));
        net->A[l] = lr_malloc(cap * s->n_out * sizeof(double));
        ok = ok && net->Z[l] && net->A[l];
        n0 = s->n_out;
    }
    if (!ok) {
        lr_tnet_free(net);
        LR_ERROR_NULL(LR_ENOMEM, "lr_tnet_alloc: no memory for a network of %zu parameters, batch %zu", np, cap);
    }
    return net;
}

int lr_tnet_set_masks(lr_tnet *net, const unsigned char *const *masks)
{
    for (size_t l = 0; masks && l < net->nlayers; l++)
        if (masks[l] && net->layers[l].rmax)
            LR_ERRORF(LR_EINVAL, "lr_tnet_set_masks: layer %zu is factored; masks prune dense layers", l);
    for (size_t l = 0; l < net->nlayers; l++) net->layers[l].mask = masks ? masks[l] : NULL;
    return LR_OK;
}

void lr_tnet_apply_masks(lr_tnet *net, int weights)
{
    for (size_t l = 0; l < net->nlayers; l++) {
        lr_tlayer *L = &net->layers[l];
        if (!L->mask || L->rmax) continue;
        double *x = weights ? L->W : L->gW;
        for (size_t i = 0; i < L->n0 * L->n1; i++)
            if (!L->mask[i]) x[i] = 0.0;
    }
}

static double uniform_pm(gsl_rng *r, double bound) { return bound * (2.0 * gsl_rng_uniform(r) - 1.0); }

int lr_tnet_init_random(lr_tnet *net, gsl_rng *r)
{
    for (size_t l = 0; l < net->nlayers; l++) {
        lr_tlayer *L = &net->layers[l];
        double bound = 1.0 / sqrt((double)L->n0);
        if (L->rmax) {
            /* Uniform on +-c has variance c^2 / 3; want each factor's variance
             * sqrt(1 / (3 n0 r)) so that a sum of r products has variance 1 / (3 n0). */
            double c = sqrt(3.0 * sqrt(1.0 / (3.0 * (double)L->n0 * (double)L->rmax)));
            for (size_t i = 0; i < L->n0 * L->rmax; i++) L->U[i] = uniform_pm(r, c);
            for (size_t i = 0; i < L->n1 * L->rmax; i++) L->V[i] = uniform_pm(r, c);
            L->rank = L->rmax;
        } else {
            for (size_t i = 0; i < L->n0 * L->n1; i++) L->W[i] = uniform_pm(r, bound);
        }
        for (size_t i = 0; i < L->n1; i++) L->b[i] = uniform_pm(r, bound);
    }
    return LR_OK;
}

int lr_tnet_init_svd(lr_tnet *net, size_t layer, const double *W)
{
    if (layer >= net->nlayers || !net->layers[layer].rmax)
        LR_ERRORF(LR_EINVAL, "lr_tnet_init_svd: layer %zu is not a factored layer", layer);
    lr_tlayer *L = &net->layers[layer];
    size_t n0 = L->n0, n1 = L->n1, k = n0 < n1 ? n0 : n1, r = L->rmax;
    /* PyTorch's n1 x n0 row-major weight read column-major is lrlab's n0 x n1 map M
     * (M(j, i) = W[i][j]); copied, since the SVD overwrites its input. */
    double *buf = lr_malloc((n0 * n1 + n0 * k + k * n1 + k) * sizeof(double));
    lr_svd_plan *plan = lr_svd_plan_alloc(n0, n1);
    int status = buf && plan ? LR_OK : LR_ENOMEM;
    if (status == LR_OK) {
        memcpy(buf, W, n0 * n1 * sizeof(double));
        lr_mat M = lr_mat_wrap(buf, n0, n1), P = lr_mat_wrap(buf + n0 * n1, n0, k),
               QT = lr_mat_wrap(buf + n0 * n1 + n0 * k, k, n1);
        double *s = buf + n0 * n1 + n0 * k + k * n1;
        int fallback = 0;
        status = lr_svd(plan, M, s, P, QT, &fallback);
        for (size_t t = 0; status == LR_OK && t < r; t++) {
            double h = sqrt(s[t]);
            for (size_t j = 0; j < n0; j++) L->U[j * r + t] = LR_AT(P, j, t) * h;
            for (size_t i = 0; i < n1; i++) L->V[i * r + t] = LR_AT(QT, t, i) * h;
        }
        if (status == LR_OK) L->rank = r;
    } else {
        lr_error(status, __FILE__, __LINE__, "lr_tnet_init_svd: no memory for a %zu x %zu SVD", n0, n1);
    }
    lr_svd_plan_free(plan);
    lr_free(buf);
    return status;
}

const double *lr_tnet_output(const lr_tnet *net) { return net->A[net->nlayers - 1]; }

static size_t active_rank(const lr_tlayer *L, const size_t *ranks, size_t l)
{
    size_t k = ranks && ranks[l] ? ranks[l] : L->rank;
    return k < L->rank ? k : L->rank;
}

int lr_tnet_forward(lr_tnet *net, const double *x, size_t n, const size_t *ranks)
{
    if (n == 0 || n > net->cap) LR_ERRORF(LR_EINVAL, "lr_tnet_forward: %zu samples, capacity %zu", n, net->cap);
    const double *in = x;
    for (size_t l = 0; l < net->nlayers; l++) {
        lr_tlayer *L = &net->layers[l];
        double *Z = net->Z[l];
        int nn = (int)n, n0 = (int)L->n0, n1 = (int)L->n1;
        for (size_t s = 0; s < n; s++) memcpy(Z + s * L->n1, L->b, L->n1 * sizeof(double));
        if (L->rmax) {
            size_t k = active_rank(L, ranks, l);
            net->ranks[l] = k;
            int kk = (int)k, r = (int)L->rmax;
            /* H = A_in U_k (n x k), Z += H V_k^T. */
            mm(CblasNoTrans, CblasNoTrans, nn, kk, n0, in, n0, L->U, r, 0.0, net->H[l], kk, net->S);
            mm(CblasNoTrans, CblasTrans, nn, n1, kk, net->H[l], kk, L->V, r, 1.0, Z, n1, net->S);
        } else {
            mm(CblasNoTrans, CblasTrans, nn, n1, n0, in, n0, L->W, n0, 1.0, Z, n1, net->S);
        }
        memcpy(net->A[l], Z, n * L->n1 * sizeof(double));
        if (L->act != LR_TRAIN_ACT_NONE)
            LR_TRY(lr_activation_apply((lr_activation_id)L->act, L->act_param, net->A[l], n * L->n1));
        in = net->A[l];
    }
    return LR_OK;
}

/* The mean loss of the outputs, and (when dZ is not NULL) its gradient in the outputs. */
static int loss_eval(const lr_tnet *net, size_t n, const long *labels, const double *targets, lr_loss_kind loss,
                     double *dZ, double *loss_out)
{
    const double *z = lr_tnet_output(net);
    size_t d = net->out_dim;
    double total = 0.0;
    if (loss == LR_LOSS_SOFTMAX_CE) {
        if (!labels) LR_ERROR(LR_EINVAL, "softmax cross-entropy needs labels");
        for (size_t s = 0; s < n; s++) {
            const double *zs = z + s * d;
            if (labels[s] < 0 || (size_t)labels[s] >= d)
                LR_ERRORF(LR_EDATA, "label %ld of sample %zu is not a class of %zu outputs", labels[s], s, d);
            double mx = zs[0], sum = 0.0;
            for (size_t j = 1; j < d; j++) mx = zs[j] > mx ? zs[j] : mx;
            for (size_t j = 0; j < d; j++) sum += exp(zs[j] - mx);
            double lse = mx + log(sum);
            total += lse - zs[labels[s]];
            if (dZ) {
                for (size_t j = 0; j < d; j++) dZ[s * d + j] = exp(zs[j] - lse) / (double)n;
                dZ[s * d + labels[s]] -= 1.0 / (double)n;
            }
        }
        total /= (double)n;
    } else {
        if (!labels && !targets) LR_ERROR(LR_EINVAL, "squared loss needs targets or labels");
        double scale = 1.0 / ((double)n * (double)d);
        for (size_t s = 0; s < n; s++)
            for (size_t j = 0; j < d; j++) {
                double t = targets ? targets[s * d + j] : (labels[s] == (long)j ? 1.0 : 0.0);
                double e = z[s * d + j] - t;
                total += e * e;
                if (dZ) dZ[s * d + j] = 2.0 * e * scale;
            }
        total *= scale;
    }
    if (!isfinite(total)) LR_ERRORF(LR_ENUMERIC, "the loss is %g: training diverged (lower the learning rate)", total);
    *loss_out = total;
    return LR_OK;
}

int lr_tnet_loss(lr_tnet *net, const double *x, size_t n, const long *labels, const double *targets,
                 lr_loss_kind loss, const size_t *ranks, double *loss_out)
{
    LR_TRY(lr_tnet_forward(net, x, n, ranks));
    return loss_eval(net, n, labels, targets, loss, NULL, loss_out);
}

int lr_tnet_loss_grad(lr_tnet *net, const double *x, size_t n, const long *labels, const double *targets,
                      lr_loss_kind loss, const size_t *ranks, double *loss_out)
{
    LR_TRY(lr_tnet_forward(net, x, n, ranks));
    double *dZ = net->d0, *dA = net->d1;
    LR_TRY(loss_eval(net, n, labels, targets, loss, dZ, loss_out));
    memset(net->grad, 0, net->nparams * sizeof(double));
    int nn = (int)n;
    for (size_t l = net->nlayers; l-- > 0;) {
        lr_tlayer *L = &net->layers[l];
        const double *in = l ? net->A[l - 1] : x;
        int n0 = (int)L->n0, n1 = (int)L->n1;
        /* gb = column sums of dZ, in sample order. */
        for (size_t s = 0; s < n; s++)
            for (size_t j = 0; j < L->n1; j++) L->gb[j] += dZ[s * L->n1 + j];
        if (L->rmax) {
            int k = (int)net->ranks[l], r = (int)L->rmax;
            /* gV_k = dZ^T H, dH = dZ V_k, gU_k = A_in^T dH, dA_in = dH U_k^T. */
            mm(CblasTrans, CblasNoTrans, n1, k, nn, dZ, n1, net->H[l], k, 0.0, L->gV, r, net->S);
            mm(CblasNoTrans, CblasNoTrans, nn, k, n1, dZ, n1, L->V, r, 0.0, net->dH, k, net->S);
            mm(CblasTrans, CblasNoTrans, n0, k, nn, in, n0, net->dH, k, 0.0, L->gU, r, net->S);
            if (l) mm(CblasNoTrans, CblasTrans, nn, n0, k, net->dH, k, L->U, r, 0.0, dA, n0, net->S);
        } else {
            mm(CblasTrans, CblasNoTrans, n1, n0, nn, dZ, n1, in, n0, 0.0, L->gW, n0, net->S);
            if (l) mm(CblasNoTrans, CblasNoTrans, nn, n0, n1, dZ, n1, L->W, n0, 0.0, dA, n0, net->S);
        }
        if (!l) break;
        const lr_tlayer *P = &net->layers[l - 1];
        if (P->act != LR_TRAIN_ACT_NONE)
            LR_TRY(lr_activation_backward((lr_activation_id)P->act, P->act_param, net->Z[l - 1], dA, n * P->n1));
        double *swap = dZ;
        dZ = dA;
        dA = swap;
    }
    return LR_OK;
}

int lr_tnet_correct(lr_tnet *net, const double *x, const long *labels, size_t N, size_t *correct)
{
    return lr_tnet_correct_at(net, x, labels, N, NULL, correct);
}

int lr_tnet_correct_at(lr_tnet *net, const double *x, const long *labels, size_t N, const size_t *ranks, size_t *correct)
{
    size_t c = 0, d = net->out_dim;
    for (size_t s0 = 0; s0 < N; s0 += net->cap) {
        size_t n = N - s0 < net->cap ? N - s0 : net->cap;
        LR_TRY(lr_tnet_forward(net, x + s0 * net->in_dim, n, ranks));
        const double *z = lr_tnet_output(net);
        for (size_t s = 0; s < n; s++) {
            size_t best = 0;
            for (size_t j = 1; j < d; j++)
                if (z[s * d + j] > z[s * d + best]) best = j;
            c += (long)best == labels[s0 + s];
        }
    }
    *correct = c;
    return LR_OK;
}

int lr_tnet_dense_weight(const lr_tnet *net, size_t layer, double *W)
{
    if (layer >= net->nlayers) LR_ERRORF(LR_EINVAL, "lr_tnet_dense_weight: no layer %zu", layer);
    const lr_tlayer *L = &net->layers[layer];
    if (!L->rmax) {
        memcpy(W, L->W, L->n0 * L->n1 * sizeof(double));
        return LR_OK;
    }
    mm(CblasNoTrans, CblasTrans, L->n1, L->n0, L->rank, L->V, L->rmax, L->U, L->rmax, 0.0, W, L->n0, net->S);
    return LR_OK;
}

/* ---- optimisers ---- */

lr_optim *lr_optim_alloc(size_t nparams, const lr_optim_opts *o)
{
    lr_optim *opt = lr_calloc(1, sizeof *opt);
    if (!opt) LR_ERROR_NULL(LR_ENOMEM, "lr_optim_alloc: no memory");
    opt->o = *o;
    opt->n = nparams;
    opt->m = lr_calloc(nparams, sizeof(double));
    opt->v = o->kind == LR_OPT_SGD ? NULL : lr_calloc(nparams, sizeof(double));
    if (!opt->m || (o->kind != LR_OPT_SGD && !opt->v)) {
        lr_optim_free(opt);
        LR_ERROR_NULL(LR_ENOMEM, "lr_optim_alloc: no memory for %zu parameters", nparams);
    }
    return opt;
}

void lr_optim_free(lr_optim *opt)
{
    if (!opt) return;
    lr_free(opt->m);
    lr_free(opt->v);
    lr_free(opt);
}

int lr_optim_step(lr_optim *opt, double *theta, const double *grad)
{
    const lr_optim_opts *o = &opt->o;
    opt->t++;
    if (o->kind == LR_OPT_SGD) {
        double mu = o->momentum;
        for (size_t i = 0; i < opt->n; i++) {
            double g = grad[i] + o->weight_decay * theta[i];
            if (mu != 0.0) {
                opt->m[i] = opt->t == 1 ? g : mu * opt->m[i] + g;
                g = o->nesterov ? g + mu * opt->m[i] : opt->m[i];
            }
            theta[i] -= o->lr * g;
        }
        return LR_OK;
    }
    double b1 = o->beta1, b2 = o->beta2;
    double bc1 = 1.0 - pow(b1, (double)opt->t), bc2 = sqrt(1.0 - pow(b2, (double)opt->t));
    double step = o->lr / bc1, l2 = o->kind == LR_OPT_ADAM ? o->weight_decay : 0.0;
    double decay = o->kind == LR_OPT_ADAMW ? 1.0 - o->lr * o->weight_decay : 1.0;
    for (size_t i = 0; i < opt->n; i++) {
        double g = grad[i] + l2 * theta[i];
        theta[i] *= decay;
        opt->m[i] = b1 * opt->m[i] + (1.0 - b1) * g;
        opt->v[i] = b2 * opt->v[i] + (1.0 - b2) * g * g;
        theta[i] -= step * opt->m[i] / (sqrt(opt->v[i]) / bc2 + o->eps);
    }
    return LR_OK;
}

/* ---- LoD ---- */

int lr_lod_pmf(const lr_lod_opts *o, size_t k, double *p)
{
    if (!k) LR_ERROR(LR_EINVAL, "lr_lod_pmf: rank 0");
    double sum = 0.0;
    for (size_t b = 1; b <= k; b++) {
        switch (o->dist) {
        case LR_LOD_FULL: p[b - 1] = b == k; break;
        case LR_LOD_UNIFORM: p[b - 1] = 1.0; break;
        case LR_LOD_GEOMETRIC:
            if (!(o->geom_p > 0 && o->geom_p <= 1)) LR_ERRORF(LR_EINVAL, "lr_lod_pmf: geometric p = %g", o->geom_p);
            p[b - 1] = o->geom_p * pow(1.0 - o->geom_p, (double)(b - 1));
            break;
        default: LR_ERRORF(LR_EINVAL, "lr_lod_pmf: no distribution %d", (int)o->dist);
        }
        sum += p[b - 1];
    }
    for (size_t b = 0; b < k; b++) p[b] /= sum;
    return LR_OK;
}

/* A rank from the pmf by inversion (one uniform per draw, so the stream advances the same
 * whatever the distribution). */
static int draw_rank(const lr_lod_opts *o, size_t k, gsl_rng *r, size_t *b)
{
    double p[k];
    LR_TRY(lr_lod_pmf(o, k, p));
    double u = gsl_rng_uniform(r), c = 0.0;
    *b = k;
    for (size_t t = 0; t < k; t++) {
        c += p[t];
        if (u < c) {
            *b = t + 1;
            break;
        }
    }
    return LR_OK;
}

int lr_lod_sample_ranks(const lr_tnet *net, const lr_lod_opts *o, gsl_rng *r, size_t *ranks)
{
    size_t nf = 0, pick = 0;
    for (size_t l = 0; l < net->nlayers; l++) {
        ranks[l] = net->layers[l].rank;
        nf += net->layers[l].rmax > 0;
    }
    if (!nf || o->dist == LR_LOD_FULL) return LR_OK;
    if (o->one_layer) pick = gsl_rng_uniform_int(r, nf);
    for (size_t l = 0, f = 0; l < net->nlayers; l++) {
        if (!net->layers[l].rmax) continue;
        if (!o->one_layer || f == pick) LR_TRY(draw_rank(o, net->layers[l].rank, r, &ranks[l]));
        f++;
    }
    return LR_OK;
}

/* ||columns t..k-1 of the rows x ld row-major M||_F^2. */
static double suffix_sq(const double *M, size_t rows, size_t ld, size_t t, size_t k)
{
    double s = 0.0;
    for (size_t i = 0; i < rows; i++)
        for (size_t j = t; j < k; j++) s += M[i * ld + j] * M[i * ld + j];
    return s;
}

static void scale_suffix(double *M, size_t rows, size_t ld, size_t t, size_t k, double c)
{
    for (size_t i = 0; i < rows; i++)
        for (size_t j = t; j < k; j++) M[i * ld + j] *= c;
}

/* The prox of tau sum_t ||M_{:,t:}||_F: group soft-thresholds from the smallest suffix up. */
static void prox_nested(double *M, size_t rows, size_t ld, size_t k, double tau)
{
    for (size_t t = k; t-- > 0;) {
        double nrm = sqrt(suffix_sq(M, rows, ld, t, k));
        scale_suffix(M, rows, ld, t, k, nrm > tau ? 1.0 - tau / nrm : 0.0);
    }
}

void lr_lod_prox(lr_tnet *net, double tau)
{
    if (tau <= 0) return;
    for (size_t l = 0; l < net->nlayers; l++) {
        lr_tlayer *L = &net->layers[l];
        if (!L->rmax) continue;
        prox_nested(L->U, L->n0, L->rmax, L->rank, tau);
        prox_nested(L->V, L->n1, L->rmax, L->rank, tau);
    }
}

int lr_lod_importance(const lr_tnet *net, size_t layer, double *importance)
{
    if (layer >= net->nlayers || !net->layers[layer].rmax)
        LR_ERRORF(LR_EINVAL, "lr_lod_importance: layer %zu is not a factored layer", layer);
    const lr_tlayer *L = &net->layers[layer];
    for (size_t t = 0; t < L->rank; t++)
        importance[t] = sqrt(suffix_sq(L->U, L->n0, L->rmax, t, L->rank) * suffix_sq(L->V, L->n1, L->rmax, t, L->rank));
    return LR_OK;
}

void lr_lod_mask(lr_tnet *net)
{
    for (size_t l = 0; l < net->nlayers; l++) {
        lr_tlayer *L = &net->layers[l];
        if (!L->rmax || L->rank == L->rmax) continue;
        scale_suffix(L->U, L->n0, L->rmax, L->rank, L->rmax, 0.0);
        scale_suffix(L->V, L->n1, L->rmax, L->rank, L->rmax, 0.0);
    }
}

void lr_lod_prune(lr_tnet *net, double tol)
{
    if (tol <= 0) return;
    for (size_t l = 0; l < net->nlayers; l++) {
        lr_tlayer *L = &net->layers[l];
        if (!L->rmax) continue;
        double imp[L->rank];
        lr_lod_importance(net, l, imp);
        size_t keep = L->rank;
        for (size_t t = 1; t < L->rank; t++)
            if (!(imp[t] >= tol * imp[0])) {
                keep = t;
                break;
            }
        L->rank = keep;
    }
    lr_lod_mask(net);
}

int lr_lod_expected_grad(lr_tnet *net, size_t layer, const lr_lod_opts *o, const double *x, size_t n,
                         const long *labels, const double *targets, lr_loss_kind loss, double *loss_out)
{
    if (layer >= net->nlayers || !net->layers[layer].rmax)
        LR_ERRORF(LR_EINVAL, "lr_lod_expected_grad: layer %zu is not a factored layer", layer);
    size_t k = net->layers[layer].rank;
    double p[k], *acc = lr_calloc(net->nparams, sizeof(double));
    size_t *ranks = lr_calloc(net->nlayers, sizeof(size_t));
    int status = acc && ranks ? lr_lod_pmf(o, k, p) : LR_ENOMEM;
    double total = 0.0;
    for (size_t b = 1; status == LR_OK && b <= k; b++) {
        if (p[b - 1] == 0.0) continue;
        ranks[layer] = b;
        double lb;
        status = lr_tnet_loss_grad(net, x, n, labels, targets, loss, ranks, &lb);
        if (status == LR_OK) {
            total += p[b - 1] * lb;
            cblas_daxpy((int)net->nparams, p[b - 1], net->grad, 1, acc, 1);
        }
    }
    if (status == LR_OK) {
        memcpy(net->grad, acc, net->nparams * sizeof(double));
        *loss_out = total;
    } else if (status == LR_ENOMEM) {
        lr_error(status, __FILE__, __LINE__, "lr_lod_expected_grad: no memory");
    }
    lr_free(acc);
    lr_free(ranks);
    return status;
}

int lr_train_blas_threads(int n)
{
    int before = openblas_get_num_threads();
    if (n > 0) openblas_set_num_threads(n);
    return before;
}
