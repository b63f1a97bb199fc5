/* Experiment `real_layers`: the layers of a real trained network (a layer dump, see
 * src/io/dump.h and data/README.md), every compressor on every layer, and what
 * compression does to the network's accuracy (ZS25's setting on real data; THEORY.md
 * sections 1 to 3).
 *
 * Three stages, each a block of rows of /trials (column `stage`):
 *
 *  layer       each dumped layer on its own, X~ = X (the stored calibration inputs),
 *              W the weights with the bias folded in (a column of ones in X, THEORY.md
 *              section 1), Y = X W computed in double (layers.target = "product", the
 *              default: THEORY.md's Y = XW; the dump's Y is that product rounded to its
 *              storage precision, and fitting the rounding would make dd_rank lose to
 *              svd_w at the full rank by ~1e-8) or the stored Y ("recorded").  For every
 *              compressor and every rank k of layers.ranks: err_layer = ||X~ M - X~ W||_F
 *              (the uncompressed layer's response; dd_rank is optimal for Y, so with the
 *              product it equals tau_k(XW) <= svd_w's, THEORY.md section 2), err_y =
 *              ||X~ M - Y||_F, the weight error, and Theorem 2(a) for dd_rank with
 *              Z0 = X~ W, G = Y - Z0 (0 up to rounding with the product):
 *                ||[PY]_k - Z0||_F <= tau_k(Z0) + C sqrt(2k) ||PG||_op       (thm2a, always)
 *              and with ||PG||_op replaced by sigma^(sqrt q + sqrt N1 + t), sigma^2 =
 *              ||(I - P) Y||_F^2 / ((m - q) N1) the noise-level estimate of THEORY.md
 *              section 2 (thm2a_hat: an estimate, so it is reported, and checked, but it
 *              is not a theorem about this data).
 *  sequential  ZS25's sequential compression of the whole network, for each budget of
 *              network.budgets: layer by layer, the compressor is fitted on the layer
 *              problem (X~, W, Y) where X~ is what the already-compressed layers feed it
 *              on the calibration inputs and Y the original network's pre-activations on
 *              the same inputs; one row per layer with the same measurements (now G =
 *              Y - X~ W is the error propagated from upstream, so sigma^ is meaningful).
 *  network     one row per budget: the compressed network's test accuracy, its
 *              parameter ratio (sum of k (N0 + 1 + N1) over the dense count), and the dense
 *              network's accuracy.
 * The network stages need network = "sequential" and /inputs in the dump; otherwise only
 * the layer stage runs and the results say why (root attribute network_note).
 *
 * Budgets (network.budget_kind): "params" gives each layer k = floor(rho N0a N1 /
 * (N0a + N1)) (N0a = N0 + 1 with a bias), the largest rank within the ratio rho of its
 * dense parameter count; "rank" the same k for every layer; "energy" the smallest k that
 * keeps the fraction e of sum sigma_i(W)^2.  Every row records all three (k, param_ratio,
 * energy).  k is at least 1 and at most min(N0a, N1).
 *
 * All the linear algebra runs on the streaming-QR reduction of [X~, 1, Y] (src/nn/
 * reduce.h), which is exact for every quantity above, so m (stored rows, or im2col rows of
 * the calibration set) can be far larger than memory would allow for an SVD of X~.
 *
 * Fast path: for nested compressors (svd_w, dd_rank, whiten, act_scaled) one fit at the
 * largest rank serves every rank, and the residuals are updated one rank-one term at a
 * time; the plain path refits at each rank (used for other compressors, and by the
 * tests as the reference). */
#include <cblas.h>
#include <hdf5.h>
#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "io/dump.h"
#include "io/h5.h"
#include "nn/net.h"
#include "nn/reduce.h"
#include "run/run.h"

static const lr_key real_schema[] = {
    {"dump", LR_KEY_STRING, 0, 1, NAN, NULL, 0, 0, NULL,
     "layer dump (HDF5, data/README.md); a relative path is looked up in the working "
     "directory, then in the config file's directory and each of its ancestors"},
    {"dump_check.rtol", LR_KEY_REAL, 0, 0, 1e-4, NULL, 0, 1, NULL,
     "largest ||Y - X W^T - b||_F / ||Y||_F accepted in a dump"},
    {"dump_check.block_rows", LR_KEY_INT, 0, 0, 4096, NULL, 1, 1e7, NULL,
     "rows per block when streaming X and Y"},
    {"layers.target", LR_KEY_STRING, 0, 0, NAN, "product", 0, 0, "product|recorded",
     "the layer stage's Y: \"product\" = X W^T + b in double from the stored X and W "
     "(THEORY.md section 1's Y = XW), \"recorded\" = the dump's stored Y"},
    {"layers.ranks", LR_KEY_INT_LIST, 0, 0, NAN, "[]", 1, 1e6, NULL,
     "ranks of the per-layer error curves ([]: every rank 1 .. min(N0a, N1))"},
    {"compress.methods", LR_KEY_STRING_LIST, 0, 0, NAN,
     "[\"svd_w\", \"dd_rank\", \"whiten\", \"act_scaled\"]", 0, 0,
     "svd_w|dd_rank|whiten|act_scaled", "compressors to run"},
    {"compress.alpha", LR_KEY_REAL, 1, 0, 0.5, NULL, 0, 10, NULL,
     "act_scaled: exponent of the activation statistic"},
    {"compress.jitter", LR_KEY_REAL, 0, 0, 0, NULL, 0, 1, NULL,
     "whiten: relative jitter added to the diagonal of X~^T X~ before Cholesky (0: none)"},
    {"compress.rank_rtol", LR_KEY_REAL, 0, 0, 0, NULL, 0, 1, NULL,
     "relative tolerance of the numerical rank of X~ (0: max(r, N0a) * eps)"},
    {"network.evaluate", LR_KEY_BOOL, 0, 0, 1, NULL, 0, 0, NULL,
     "run the sequential and network stages when the dump allows it"},
    {"network.budget_kind", LR_KEY_STRING, 0, 0, NAN, "params", 0, 0, "params|rank|energy",
     "how network.budgets are read: parameter ratio, rank, or kept energy of W"},
    {"network.budgets", LR_KEY_REAL_LIST, 0, 0, NAN, "[0.05, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0]",
     0, 1e6, NULL, "budgets of the sequential compression (one network row each)"},
    {"network.keep_dense", LR_KEY_STRING_LIST, 0, 0, NAN, "[]", 0, 0, NULL,
     "layers left uncompressed in the network stages: module names, or \"first\" / \"last\" "
     "(their parameters count in full towards the budget)"},
    {"network.forward_rtol", LR_KEY_REAL, 0, 0, 1e-5, NULL, 0, 1, NULL,
     "largest relative difference accepted between lrlab's forward pass and the stored Y"},
    {"network.test_max", LR_KEY_INT, 0, 0, 0, NULL, 0, 1e9, NULL,
     "use at most this many test samples (0: all)"},
    {"network.batch", LR_KEY_INT, 0, 0, 256, NULL, 1, 1e6, NULL,
     "samples per batch of the test-set forward pass"},
    {"bounds.C", LR_KEY_REAL, 0, 0, 2, NULL, 0, 1e300, NULL, "constant of Theorem 2(a)"},
    {"bounds.t", LR_KEY_REAL, 0, 0, 2, NULL, 0, 1e300, NULL,
     "deviation t of the sigma^ form of Theorem 2(a)"},
    {"bounds.tol", LR_KEY_REAL, 0, 0, 1e-10, NULL, 0, 1, NULL,
     "relative slack when checking a bound and when comparing errors"},
    {NULL, 0, 0, 0, 0, NULL, 0, 0, NULL, NULL}};

enum { STAGE_LAYER = 0, STAGE_SEQ = 1, STAGE_NET = 2 };
static const char *const stage_names[] = {"layer", "sequential", "network"};

typedef struct rl_layer {
    size_t n0, n1, n0a;
    int bias;
    lr_mat Wa;        /* n0a x n1: W with the bias row */
    lr_reduced rd;    /* stored X, Y reduced */
    double *spec_w, *spec_x, *spec_xw;
    size_t nspec_w, nspec_x, nspec_xw;
    double check_rel; /* ||Y - XW - b|| / ||Y|| of the dump */
    double fwd_rel_x, fwd_rel_y; /* lrlab's forward pass against the stored X, Y */
    size_t *ranks, nranks;
    size_t *kbud;      /* rank per budget */
    int keep_dense;    /* left uncompressed in the network stages */
    double *Yo;        /* original pre-activations on the calibration set (rows_total x n1) */
    size_t rows_total; /* calibration rows of the sequential stage */
} rl_layer;

typedef struct rl_state {
    char dump_path[4096], dump_sha[72], note[512];
    lr_dump *dump;
    lr_net *net;
    size_t nl;
    rl_layer *L;
    int evaluate;
    const double *budgets;
    size_t nbud;
    const char *budget_kind;
    double *net_ratio, *net_energy; /* per budget */
    size_t n_calib, n_test;
    lr_mat calib_x, test_x;
    long *test_labels;
    double acc_dense, acc_recorded;
    size_t correct_dense;
    double rank_rtol, jitter, tol, C, t;
    size_t nslots, slot_seq, slot_net;
    size_t max_m, max_n, arena_need;
    int batch;
    /* extra /trials columns */
    int c_stage, c_layer, c_layer_index, c_n0, c_n1, c_m, c_budget, c_param_ratio, c_energy;
    int c_err_y, c_err_y_rel, c_tau, c_pg_fro, c_sigma_hat, c_thm2a, c_thm2a_held, c_thm2a_hat,
        c_thm2a_hat_held, c_route, c_accuracy, c_accuracy_dense, c_net_ratio, c_dd_le_da, c_dd_le_da_y;
} rl_state;

/* ---- helpers ---- */

/* a <= b up to bounds.tol, relative to b and, for the rounding both carry, to the scale
 * ||X~W||_F: at the full rank an error and its optimum or bound are rounding alone
 * (~1e-15 relative), and only the absolute term tells them apart from a violation. */
static int le_rounding(const struct rl_state *st, double a, double b, double scale)
{
    return a <= b * (1 + st->tol) + st->tol * scale;
}

static size_t sz1(size_t v) { return v ? v : 1; }

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The working directory first, then the config file's directory and its ancestors. */
static int resolve_dump(const lr_config *c, const char *dump, char *out, size_t len)
{
    char where[512];
    if (dump[0] == '/' || file_exists(dump)) {
        snprintf(out, len, "%s", dump);
        if (file_exists(out)) return LR_OK;
    } else {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s", lr_config_filename(c) ? lr_config_filename(c) : "");
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        for (int depth = 0; depth < 32; depth++) {
            snprintf(out, len, "%s/%s", dir, dump);
            if (file_exists(out)) return LR_OK;
            if (!strcmp(dir, "/") || !strcmp(dir, ".") || !dir[0]) break;
            /* Go up one directory: strip the last component, or add ".." for relative
             * paths that end in ".." already. */
            char *s = strrchr(dir, '/');
            size_t dl = strlen(dir);
            if (!strcmp(dir, "..") || (dl >= 3 && !strcmp(dir + dl - 3, "/.."))) {
                if (dl + 4 >= sizeof dir) break;
                strcat(dir, "/..");
            } else if (s == dir) {
                snprintf(dir, sizeof dir, "/");
            } else if (s) {
                *s = '\0';
            } else {
                snprintf(dir, sizeof dir, ".");
            }
            if (depth > 8 && dir[0] != '/') break;
        }
    }
    LR_ERRORF(LR_ECONFIG, "%s = \"%s\": no such file in the working directory or next to the config",
              lr_config_where(c, "dump", where, sizeof where), dump);
}

static void sha256_file(const char *path, char *out)
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE], buf[65536];
    sha256_init(&ctx);
    FILE *f = fopen(path, "rb");
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&ctx, n, buf);
    if (f) fclose(f);
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++) sprintf(out + 2 * i, "%02x", digest[i]);
}

/* Singular values of A (copied), into a fresh array; n set to min(rows, cols). */
static int singular_values(lr_mat A, double **s, size_t *n)
{
    size_t mn = A.rows < A.cols ? A.rows : A.cols;
    *n = mn;
    *s = lr_calloc(mn ? mn : 1, sizeof(double));
    double *c = lr_malloc(sz1(A.rows * A.cols) * sizeof(double));
    lr_svd_plan *p = lr_svd_plan_alloc(A.rows ? A.rows : 1, A.cols ? A.cols : 1);
    int st = *s && c && p ? LR_OK : LR_ENOMEM;
    if (st == LR_OK && mn) {
        lr_mat C = lr_mat_wrap(c, A.rows, A.cols);
        lr_mat_copy(C, A);
        lr_mat none = {NULL, 0, 0, 1};
        st = lr_svd(p, C, *s, none, none, NULL);
    }
    lr_free(c);
    lr_svd_plan_free(p);
    if (st != LR_OK) { /* no values: callers read *s only when *n > 0 */
        lr_free(*s);
        *s = NULL;
        *n = 0;
    }
    if (st == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory for a spectrum");
    return st;
}

/* tail[k] = sqrt(sum_{i >= k} s_i^2), k = 0..n (summed from the small end). */
static void tails(const double *s, size_t n, double *tail)
{
    double acc = 0;
    tail[n] = 0;
    for (size_t i = n; i-- > 0;) {
        acc += s[i] * s[i];
        tail[i] = sqrt(acc);
    }
}

static size_t kcap(const rl_layer *L) { return L->n0a < L->n1 ? L->n0a : L->n1; }

static double layer_param_ratio(const rl_layer *L, size_t k)
{
    return (double)k * (double)(L->n0a + L->n1) / ((double)L->n0a * (double)L->n1);
}

static double energy_at(const rl_layer *L, size_t k)
{
    double tot = 0, kept = 0;
    for (size_t i = 0; i < L->nspec_w; i++) {
        tot += L->spec_w[i] * L->spec_w[i];
        if (i < k) kept += L->spec_w[i] * L->spec_w[i];
    }
    return tot > 0 ? kept / tot : 1.0;
}

static size_t budget_rank(const rl_layer *L, const char *kind, double b)
{
    size_t cap = kcap(L), k;
    if (!strcmp(kind, "rank")) {
        k = b < 1 ? 1 : (size_t)b;
    } else if (!strcmp(kind, "energy")) {
        k = cap;
        for (size_t j = 1; j <= cap; j++)
            if (energy_at(L, j) >= b * (1 - 1e-15)) {
                k = j;
                break;
            }
    } else {
        double kk = floor(b * (double)L->n0a * (double)L->n1 / (double)(L->n0a + L->n1));
        k = kk < 1 ? 1 : (size_t)kk;
    }
    return k > cap ? cap : (k < 1 ? 1 : k);
}

/* ---- the analysis of one reduced layer problem ---- */

typedef struct layer_eval {
    size_t q, m;
    double pg_op, pg_fro, sigma_hat, z_norm, y_norm;
    double *tail; /* tail[k] = tau_k(Z0), k = 0 .. ntail */
    size_t ntail;
    int fallback;
} layer_eval;

typedef struct factored {
    lr_layer L; /* X, W, Y views plus the SVD of X */
    double *ux, *sx, *vx;
} factored;

/* Safe twice: factor_layer frees on failure, and its callers free again. */
static void factored_free(factored *f)
{
    lr_free(f->ux);
    lr_free(f->sx);
    lr_free(f->vx);
    f->ux = f->sx = f->vx = NULL;
}

static int factor_layer(const lr_reduced *rd, const lr_mat Wa, double rank_rtol, lr_compress_ws *ws,
                        factored *f)
{
    memset(f, 0, sizeof *f);
    size_t r = rd->r, n0 = rd->n0a, mn = r < n0 ? r : n0;
    f->ux = lr_malloc(sz1(r * mn) * sizeof(double));
    f->sx = lr_malloc((mn ? mn : 1) * sizeof(double));
    f->vx = lr_malloc(sz1(n0 * mn) * sizeof(double));
    if (!f->ux || !f->sx || !f->vx) {
        factored_free(f);
        LR_ERROR(LR_ENOMEM, "out of memory factoring a layer");
    }
    f->L.X = rd->X;
    f->L.Y = rd->Y;
    f->L.W = Wa;
    f->L.Ux = lr_mat_wrap(f->ux, r, mn);
    f->L.sx = f->sx;
    f->L.Vx = lr_mat_wrap(f->vx, n0, mn);
    f->L.x_absmean = rd->absmean;
    double rtol = rank_rtol > 0 ? rank_rtol : lr_rank_rtol_default(r, n0);
    int s = lr_layer_factor_x(&f->L, rtol, ws);
    if (s != LR_OK) factored_free(f);
    return s;
}

static int analyse(const factored *f, size_t m, layer_eval *ev)
{
    const lr_layer *L = &f->L;
    size_t r = L->X.rows, n1 = L->W.cols, q = L->q;
    memset(ev, 0, sizeof *ev);
    ev->q = q;
    ev->m = m;
    ev->fallback = L->x_fallback;
    double *z = lr_malloc(sz1(r * n1) * sizeof(double)), *u = lr_malloc(((q ? q : 1) * n1) * sizeof(double));
    if (!z || !u) {
        lr_free(z);
        lr_free(u);
        LR_ERROR(LR_ENOMEM, "out of memory analysing a layer");
    }
    lr_mat Z = lr_mat_wrap(z, r, n1), U = lr_mat_wrap(u, q, n1);
    int s = lr_gemm('N', 'N', 1.0, L->X, L->W, 0.0, Z);
    double *sz = NULL;
    size_t nz = 0;
    if (s == LR_OK) {
        ev->z_norm = lr_mat_norm_fro(Z);
        ev->y_norm = lr_mat_norm_fro(L->Y);
        s = singular_values(Z, &sz, &nz);
    }
    if (s == LR_OK) {
        ev->ntail = nz;
        ev->tail = lr_malloc((nz + 1) * sizeof(double));
        if (!ev->tail) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory analysing a layer");
        else tails(sz, nz, ev->tail);
    }
    /* G = Y - Z0 (in Z), then P G = U_q (U_q^T G). */
    if (s == LR_OK) {
        for (size_t j = 0; j < n1; j++)
            for (size_t i = 0; i < r; i++) LR_AT(Z, i, j) = LR_AT(L->Y, i, j) - LR_AT(Z, i, j);
        if (q) s = lr_gemm('T', 'N', 1.0, L->Ux, Z, 0.0, U);
    }
    if (s == LR_OK) {
        ev->pg_fro = q ? lr_mat_norm_fro(U) : 0.0;
        double *sv = NULL;
        size_t nsv = 0;
        s = q ? singular_values(U, &sv, &nsv) : LR_OK;
        ev->pg_op = q && nsv ? sv[0] : 0.0;
        lr_free(sv);
    }
    /* (I - P) Y = Y - U_q (U_q^T Y), formed directly (no cancellation of norms). */
    if (s == LR_OK && q) s = lr_gemm('T', 'N', 1.0, L->Ux, L->Y, 0.0, U);
    if (s == LR_OK) {
        lr_mat_copy(Z, L->Y);
        if (q) s = lr_gemm('N', 'N', -1.0, L->Ux, U, 1.0, Z);
        double res = lr_mat_norm_fro(Z);
        ev->sigma_hat = m > q ? res / sqrt((double)(m - q) * (double)n1) : NAN;
    }
    lr_free(sz);
    lr_free(z);
    lr_free(u);
    if (s == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory analysing a layer");
    return s;
}

/* Errors of factors A (n0a x k), B (k x n1) on a factored layer: ||X(AB - W)||,
 * ||X A B - Y||, ||AB - W||.  The plain reference path. */
static int measure_direct(const lr_layer *L, lr_mat A, lr_mat B, double *err_layer, double *err_y,
                          double *err_w)
{
    size_t r = L->X.rows, n0 = L->W.rows, n1 = L->W.cols, k = A.cols;
    double *e = lr_malloc(sz1(r * n1) * sizeof(double)), *w = lr_malloc(n0 * n1 * sizeof(double));
    double *xa = lr_malloc((r * (k ? k : 1)) * sizeof(double));
    int s = e && w && xa ? LR_OK : LR_ENOMEM;
    lr_mat E = lr_mat_wrap(e, r, n1), M = lr_mat_wrap(w, n0, n1), XA = lr_mat_wrap(xa, r, k);
    if (s == LR_OK) {
        lr_mat_copy(M, L->W);
        if (k) s = lr_gemm('N', 'N', -1.0, A, B, 1.0, M); /* M = W - AB */
    }
    if (s == LR_OK) {
        *err_w = lr_mat_norm_fro(M);
        s = lr_gemm('N', 'N', 1.0, L->X, M, 0.0, E);
    }
    if (s == LR_OK) {
        *err_layer = lr_mat_norm_fro(E);
        lr_mat_copy(E, L->Y);
        if (k) s = lr_gemm('N', 'N', 1.0, L->X, A, 0.0, XA);
        if (s == LR_OK && k) s = lr_gemm('N', 'N', -1.0, XA, B, 1.0, E);
        *err_y = lr_mat_norm_fro(E);
    }
    lr_free(e);
    lr_free(w);
    lr_free(xa);
    if (s == LR_ENOMEM) LR_ERROR(LR_ENOMEM, "out of memory measuring errors");
    return s;
}

/* Per-rank results of one compressor on one layer. */
typedef struct rank_errs {
    double *err_layer, *err_y, *err_w;
    size_t *k;
    int route, fallback;
} rank_errs;

/* Fit `comp` and measure it at every rank of ranks[] (ascending).  nested: one fit at the
 * largest rank, residuals updated one rank-one term at a time; otherwise one fit per rank
 * and measure_direct.  force_plain selects the reference path (tests). */
int lr_real_layers_rank_errors(const lr_layer *L, const lr_compressor *comp, const lr_compress_opts *opts,
                               const size_t *ranks, size_t nranks, lr_compress_ws *ws, int force_plain,
                               double *err_layer, double *err_y, double *err_w, size_t *kout, int *route,
                               int *fallback);

int lr_real_layers_rank_errors(const lr_layer *L, const lr_compressor *comp, const lr_compress_opts *opts,
                               const size_t *ranks, size_t nranks, lr_compress_ws *ws, int force_plain,
                               double *err_layer, double *err_y, double *err_w, size_t *kout, int *route,
                               int *fallback)
{
    size_t r = L->X.rows, n0 = L->W.rows, n1 = L->W.cols;
    size_t kmax = 0;
    for (size_t i = 0; i < nranks; i++) kmax = ranks[i] > kmax ? ranks[i] : kmax;
    if (!kmax) return LR_OK;
    double *a = lr_malloc(n0 * kmax * sizeof(double)), *b = lr_malloc(kmax * n1 * sizeof(double));
    if (!a || !b) {
        lr_free(a);
        lr_free(b);
        LR_ERROR(LR_ENOMEM, "out of memory for factors");
    }
    lr_factors f = {lr_mat_wrap(a, n0, kmax), lr_mat_wrap(b, kmax, n1), 0};
    lr_fit_info info = {.gap = NAN, .lambda = NAN};
    int s = LR_OK;
    *route = 0;
    *fallback = 0;
    if (!comp->nested || force_plain) {
        for (size_t i = 0; i < nranks && s == LR_OK; i++) {
            f.A = lr_mat_wrap(a, n0, ranks[i]);
            f.B = lr_mat_wrap(b, ranks[i], n1);
            s = comp->fit(L, opts, &ranks[i], 1, &f, ws, &info);
            if (s != LR_OK) break;
            kout[i] = f.k;
            lr_mat A = lr_mat_view(f.A, 0, 0, n0, f.k), B = lr_mat_view(f.B, 0, 0, f.k, n1);
            B.ld = f.B.ld;
            s = measure_direct(L, A, B, &err_layer[i], &err_y[i], &err_w[i]);
            *route |= info.route;
            *fallback |= info.svd_fallback;
        }
        lr_free(a);
        lr_free(b);
        return s;
    }
    s = comp->fit(L, opts, &kmax, 1, &f, ws, &info);
    *route = info.route;
    *fallback = info.svd_fallback;
    size_t kp = f.k;
    /* XA = X A (r x kp); residuals E = X W - X A_j B_j, Ey = Y - ..., Ew = W - A_j B_j. */
    double *xa = lr_malloc((r * (kp ? kp : 1)) * sizeof(double)), *e = lr_malloc(sz1(r * n1) * sizeof(double));
    double *ey = lr_malloc(sz1(r * n1) * sizeof(double)), *ew = lr_malloc(n0 * n1 * sizeof(double));
    if (s == LR_OK && (!xa || !e || !ey || !ew)) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    lr_mat A = lr_mat_view(f.A, 0, 0, n0, kp);
    lr_mat XA = lr_mat_wrap(xa, r, kp), E = lr_mat_wrap(e, r, n1), Ey = lr_mat_wrap(ey, r, n1), Ew = lr_mat_wrap(ew, n0, n1);
    if (s == LR_OK && kp) s = lr_gemm('N', 'N', 1.0, L->X, A, 0.0, XA);
    if (s == LR_OK) s = lr_gemm('N', 'N', 1.0, L->X, L->W, 0.0, E);
    if (s == LR_OK) {
        lr_mat_copy(Ey, L->Y);
        lr_mat_copy(Ew, L->W);
        size_t next = 0;
        for (size_t j = 0; j <= kp && next < nranks; j++) {
            if (j > 0) {
                /* Subtract the j-th rank-one term (column j-1 of XA / A, row j-1 of B). */
                const double *bj = &LR_AT(f.B, j - 1, 0);
                int ldb = (int)f.B.ld;
                cblas_dger(CblasColMajor, (int)r, (int)n1, -1.0, &LR_AT(XA, 0, j - 1), 1, bj, ldb, E.data, (int)E.ld);
                cblas_dger(CblasColMajor, (int)r, (int)n1, -1.0, &LR_AT(XA, 0, j - 1), 1, bj, ldb, Ey.data, (int)Ey.ld);
                cblas_dger(CblasColMajor, (int)n0, (int)n1, -1.0, &LR_AT(A, 0, j - 1), 1, bj, ldb, Ew.data, (int)Ew.ld);
            }
            while (next < nranks && (ranks[next] == j || (j == kp && ranks[next] > kp))) {
                err_layer[next] = lr_mat_norm_fro(E);
                err_y[next] = lr_mat_norm_fro(Ey);
                err_w[next] = lr_mat_norm_fro(Ew);
                kout[next] = j;
                next++;
            }
        }
    }
    lr_free(xa);
    lr_free(e);
    lr_free(ey);
    lr_free(ew);
    lr_free(a);
    lr_free(b);
    return s;
}

/* ---- prepare ---- */

static int add_col(lr_run *run, int *slot, const char *name, lr_col_type type, const char *doc)
{
    *slot = lr_table_add_column(run->trials, name, type, doc);
    if (*slot < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    return LR_OK;
}

static int declare_columns(lr_run *run, rl_state *st)
{
    static const char *const paths[] = {"compress.alpha"};
    static const char *const names[] = {"alpha"};
    LR_TRY(lr_run_trial_columns(run, paths, names, 1));
    LR_TRY(add_col(run, &st->c_stage, "stage", LR_COL_NAME,
                   "layer: the dumped layer alone (X~ = X); sequential: ZS25's sequential "
                   "compression (X~ = the compressed network's input); network: accuracy"));
    for (int i = 0; i < 3; i++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_stage, stage_names[i]) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(add_col(run, &st->c_layer, "layer", LR_COL_NAME, "PyTorch module name of the layer ('(network)' for network rows)"));
    /* Every name the units will use, so that they only read the dictionary (units may run
     * on several threads). */
    for (size_t l = 0; l < st->nl; l++)
        if (lr_table_dict_index(run->trials, (size_t)st->c_layer, st->dump->layers[l].module) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    if (lr_table_dict_index(run->trials, (size_t)st->c_layer, "(network)") < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    LR_TRY(add_col(run, &st->c_layer_index, "layer_index", LR_COL_INT, "position of the layer in forward order (-1: network)"));
    LR_TRY(add_col(run, &st->c_n0, "N0", LR_COL_INT, "layer inputs, with the bias column when folded (N0a)"));
    LR_TRY(add_col(run, &st->c_n1, "N1", LR_COL_INT, "layer outputs"));
    LR_TRY(add_col(run, &st->c_m, "m", LR_COL_INT, "rows of X~ (samples, or im2col rows)"));
    LR_TRY(add_col(run, &st->c_budget, "budget", LR_COL_REAL, "network budget (network.budget_kind); NaN in the layer stage"));
    LR_TRY(add_col(run, &st->c_param_ratio, "param_ratio", LR_COL_REAL,
                   "k (N0a + N1) / (N0a N1) for a layer; for a network row, the whole network's ratio"));
    LR_TRY(add_col(run, &st->c_energy, "energy", LR_COL_REAL,
                   "sum_{i<=k} sigma_i(W)^2 / sum_i sigma_i(W)^2 (network rows: mean over layers)"));
    LR_TRY(add_col(run, &st->c_err_y, "err_y", LR_COL_REAL, "||X~ M - Y||_F (Y: the stored / original pre-activations)"));
    LR_TRY(add_col(run, &st->c_err_y_rel, "err_y_rel", LR_COL_REAL, "err_y / ||Y||_F"));
    LR_TRY(add_col(run, &st->c_tau, "tau_k", LR_COL_REAL, "tau_k(X~ W): the smallest err_layer any rank-k M can have"));
    LR_TRY(add_col(run, &st->c_pg_fro, "pg_fro", LR_COL_REAL, "||P G||_F, G = Y - X~ W"));
    LR_TRY(add_col(run, &st->c_sigma_hat, "sigma_hat", LR_COL_REAL,
                   "noise-level estimate ||(I - P) Y||_F / sqrt((m - q) N1) (NaN if m <= q)"));
    LR_TRY(add_col(run, &st->c_thm2a, "thm2a", LR_COL_REAL, "Theorem 2(a): tau_k(Z0) + C sqrt(2k) ||PG||_op, Z0 = X~ W"));
    LR_TRY(add_col(run, &st->c_thm2a_held, "thm2a_held", LR_COL_FLAG, "1 if dd_rank's err_fro <= thm2a (-1: other compressors)"));
    LR_TRY(add_col(run, &st->c_thm2a_hat, "thm2a_hat", LR_COL_REAL,
                   "Theorem 2(a) with ||PG||_op replaced by sigma_hat (sqrt q + sqrt N1 + t)"));
    LR_TRY(add_col(run, &st->c_thm2a_hat_held, "thm2a_hat_held", LR_COL_FLAG, "1 if dd_rank's err_fro <= thm2a_hat (-1: n/a)"));
    LR_TRY(add_col(run, &st->c_route, "route", LR_COL_INT,
                   "compressor's numerical route (whiten: 0 Cholesky, 1 with jitter, 2 pivoted-QR "
                   "fallback; act_scaled: 1 if some input was never active)"));
    LR_TRY(add_col(run, &st->c_dd_le_da, "le_svd_w", LR_COL_FLAG,
                   "layer stage: 1 if err_layer <= svd_w's at this rank (slack bounds.tol, relative and of ||X~W||_F), "
                   "2 if only within svd_w's + 2 ||PG||_F, 0 if neither, -1 n/a"));
    LR_TRY(add_col(run, &st->c_dd_le_da_y, "le_svd_w_y", LR_COL_FLAG,
                   "layer stage: 1 if err_y (against the fitted Y of layers.target, which dd_rank "
                   "minimises exactly) <= svd_w's at this rank (slack as le_svd_w), 0 if not, -1 n/a"));
    LR_TRY(add_col(run, &st->c_accuracy, "accuracy", LR_COL_REAL, "test accuracy of the compressed network (network rows)"));
    LR_TRY(add_col(run, &st->c_accuracy_dense, "accuracy_dense", LR_COL_REAL, "test accuracy of the dense network in lrlab's forward pass"));
    LR_TRY(add_col(run, &st->c_net_ratio, "net_param_ratio", LR_COL_REAL, "the whole network's parameter ratio at this budget"));
    return LR_OK;
}

/* Forward pass on the calibration inputs against the stored X and Y; keeps the original
 * pre-activations for the sequential stage. */
static int forward_check(rl_state *st, double rtol)
{
    const lr_dump *d = st->dump;
    size_t n = st->n_calib;
    double *act = lr_malloc(n * st->net->in_dim * sizeof(double));
    if (!act) LR_ERROR(LR_ENOMEM, "out of memory");
    lr_mat A = lr_mat_wrap(act, n, st->net->in_dim);
    lr_mat_copy(A, st->calib_x);
    int s = LR_OK;
    char lab[400];
    for (size_t l = 0; l < st->nl && s == LR_OK; l++) {
        const lr_net_layer *NL = &st->net->layers[l];
        rl_layer *RL = &st->L[l];
        const lr_dump_layer *D = &d->layers[l];
        lr_dump_layer_label(d, l, lab, sizeof lab);
        size_t rows = lr_net_rows(NL, n);
        if (D->rows_total != rows) {
            s = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: rows_total = %zu, but the %zu "
                         "calibration inputs give %zu rows: the layers were not computed on /inputs",
                         d->path, lab, D->rows_total, n, rows);
            break;
        }
        RL->rows_total = rows;
        double *xb = lr_malloc(rows * NL->n0 * sizeof(double)), *nx = lr_malloc(n * NL->post_dim * sizeof(double));
        RL->Yo = lr_malloc(rows * NL->n1 * sizeof(double));
        long long *idx = lr_malloc(D->m * sizeof(long long));
        double *sx = lr_malloc(D->m * NL->n0 * sizeof(double)), *sy = lr_malloc(D->m * NL->n1 * sizeof(double));
        if (!xb || !nx || !RL->Yo || !idx || !sx || !sy) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        lr_mat X = lr_mat_wrap(xb, rows, NL->n0), Y = lr_mat_wrap(RL->Yo, rows, NL->n1), N = lr_mat_wrap(nx, n, NL->post_dim);
        lr_mat SX = lr_mat_wrap(sx, D->m, NL->n0), SY = lr_mat_wrap(sy, D->m, NL->n1);
        if (s == LR_OK) s = lr_net_im2col(NL, A, X);
        if (s == LR_OK) s = lr_net_apply(NL, NULL, X, Y);
        if (s == LR_OK) s = lr_dump_read_row_index(d, l, idx);
        if (s == LR_OK) s = lr_dump_read_rows(d, l, "X", 0, SX);
        if (s == LR_OK) s = lr_dump_read_rows(d, l, "Y", 0, SY);
        if (s == LR_OK) {
            double dx = 0, nxs = 0, dy = 0, nys = 0;
            for (size_t i = 0; i < D->m; i++) {
                size_t ri = (size_t)idx[i];
                for (size_t j = 0; j < NL->n0; j++) {
                    double a = LR_AT(X, ri, j), b = LR_AT(SX, i, j);
                    dx += (a - b) * (a - b);
                    nxs += b * b;
                }
                for (size_t j = 0; j < NL->n1; j++) {
                    double a = LR_AT(Y, ri, j), b = LR_AT(SY, i, j);
                    dy += (a - b) * (a - b);
                    nys += b * b;
                }
            }
            RL->fwd_rel_x = nxs > 0 ? sqrt(dx / nxs) : sqrt(dx);
            RL->fwd_rel_y = nys > 0 ? sqrt(dy / nys) : sqrt(dy);
            if (!(RL->fwd_rel_y <= rtol))
                s = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s: lrlab's forward pass differs from "
                             "the stored 'Y' by %.3g (relative, Frobenius) > network.forward_rtol = %.3g: "
                             "the network description (post ops, shapes) does not match the dump",
                             d->path, lab, RL->fwd_rel_y, rtol);
        }
        if (s == LR_OK) s = lr_net_post(NL, Y, n, N);
        lr_free(xb);
        lr_free(idx);
        lr_free(sx);
        lr_free(sy);
        lr_free(act);
        act = nx;
        A = N;
    }
    lr_free(act);
    return s;
}

static int test_accuracy(const rl_state *st, const lr_net_lowrank *lr, size_t *correct)
{
    size_t bs = (size_t)st->batch, n = st->n_test;
    *correct = 0;
    double *lg = lr_malloc(bs * st->net->out_dim * sizeof(double));
    if (!lg) LR_ERROR(LR_ENOMEM, "out of memory");
    int s = LR_OK;
    for (size_t i0 = 0; i0 < n && s == LR_OK; i0 += bs) {
        size_t nb = n - i0 < bs ? n - i0 : bs;
        lr_mat xb = lr_mat_view(st->test_x, i0, 0, nb, st->net->in_dim);
        lr_mat logits = lr_mat_wrap(lg, nb, st->net->out_dim);
        s = lr_net_forward(st->net, lr, xb, logits);
        if (s == LR_OK) *correct += lr_net_count_correct(logits, st->test_labels + i0);
    }
    lr_free(lg);
    return s;
}

/* Yb = Xb W + 1 b^T in double: the layer's response to the stored inputs (the dump's Y is
 * the same product rounded to its storage precision, checked by lr_dump_check_layer). */
static int layer_product(const rl_layer *L, lr_mat Xb, lr_mat Yb)
{
    LR_TRY(lr_gemm('N', 'N', 1.0, Xb, lr_mat_view(L->Wa, 0, 0, L->n0, L->n1), 0.0, Yb));
    if (L->bias)
        for (size_t j = 0; j < L->n1; j++)
            for (size_t i = 0; i < Yb.rows; i++) LR_AT(Yb, i, j) += LR_AT(L->Wa, L->n0, j);
    return LR_OK;
}

static int prepare_layers(lr_run *run, rl_state *st)
{
    const lr_config *c = run->cfg;
    double rtol_check = lr_config_num(c, 0, "dump_check.rtol");
    size_t block = (size_t)lr_config_num(c, 0, "dump_check.block_rows");
    const long *rl;
    size_t nrl = lr_config_int_list(c, "layers.ranks", &rl);
    int recorded = !strcmp(lr_config_str(c, "layers.target"), "recorded");
    st->nl = st->dump->nlayers;
    st->L = calloc(st->nl, sizeof *st->L);
    if (!st->L) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t l = 0; l < st->nl; l++) {
        const lr_dump_layer *D = &st->dump->layers[l];
        rl_layer *L = &st->L[l];
        lr_dump_check_report rep;
        LR_TRY(lr_dump_check_layer(st->dump, l, rtol_check, block, &rep));
        L->check_rel = rep.resid_rel;
        L->n0 = D->n0;
        L->n1 = D->n1;
        L->bias = D->has_bias;
        L->n0a = D->n0 + (size_t)D->has_bias;
        L->Wa.data = lr_malloc(L->n0a * L->n1 * sizeof(double));
        L->Wa.rows = L->Wa.ld = L->n0a;
        L->Wa.cols = L->n1;
        double *b = lr_malloc(L->n1 * sizeof(double));
        if (!L->Wa.data || !b) {
            lr_free(b);
            LR_ERROR(LR_ENOMEM, "out of memory");
        }
        int s = lr_dump_read_weights(st->dump, l, lr_mat_view(L->Wa, 0, 0, L->n0, L->n1), b);
        if (L->bias)
            for (size_t j = 0; j < L->n1; j++) LR_AT(L->Wa, L->n0, j) = b[j];
        lr_free(b);
        LR_TRY(s);
        /* The stored X, Y streamed into their reduction. */
        LR_TRY(lr_reduced_init(&L->rd, L->n0, L->n1, L->bias, block, D->m));
        double *xb = lr_malloc(block * L->n0 * sizeof(double)), *yb = lr_malloc(block * L->n1 * sizeof(double));
        if (!xb || !yb) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        for (size_t r0 = 0; s == LR_OK && r0 < D->m; r0 += block) {
            size_t nb = D->m - r0 < block ? D->m - r0 : block;
            lr_mat Xb = lr_mat_wrap(xb, nb, L->n0), Yb = lr_mat_wrap(yb, nb, L->n1);
            s = lr_dump_read_rows(st->dump, l, "X", r0, Xb);
            if (s == LR_OK) s = recorded ? lr_dump_read_rows(st->dump, l, "Y", r0, Yb) : layer_product(L, Xb, Yb);
            if (s == LR_OK) s = lr_reduced_add(&L->rd, Xb, Yb);
        }
        lr_free(xb);
        lr_free(yb);
        LR_TRY(s);
        LR_TRY(lr_reduced_finish(&L->rd));
        /* Spectra: W (with the bias row), X~ (with the ones column), X~ W. */
        LR_TRY(singular_values(L->Wa, &L->spec_w, &L->nspec_w));
        LR_TRY(singular_values(L->rd.X, &L->spec_x, &L->nspec_x));
        double *z = lr_malloc(L->rd.r * L->n1 * sizeof(double));
        if (!z) LR_ERROR(LR_ENOMEM, "out of memory");
        lr_mat Z = lr_mat_wrap(z, L->rd.r, L->n1);
        s = lr_gemm('N', 'N', 1.0, L->rd.X, L->Wa, 0.0, Z);
        if (s == LR_OK) s = singular_values(Z, &L->spec_xw, &L->nspec_xw);
        lr_free(z);
        LR_TRY(s);
        /* Ranks of the error curves. */
        size_t cap = kcap(L);
        L->ranks = calloc(nrl ? nrl : cap, sizeof(size_t));
        if (!L->ranks) LR_ERROR(LR_ENOMEM, "out of memory");
        if (nrl == 0) {
            for (size_t k = 1; k <= cap; k++) L->ranks[L->nranks++] = k;
        } else {
            for (size_t i = 0; i < nrl; i++) {
                size_t k = (size_t)rl[i] < cap ? (size_t)rl[i] : cap;
                int dup = 0;
                for (size_t j = 0; j < L->nranks; j++) dup |= L->ranks[j] == k;
                if (!dup) L->ranks[L->nranks++] = k;
            }
            for (size_t i = 1; i < L->nranks; i++) /* insertion sort: ascending */
                for (size_t j = i; j > 0 && L->ranks[j - 1] > L->ranks[j]; j--) {
                    size_t t = L->ranks[j];
                    L->ranks[j] = L->ranks[j - 1];
                    L->ranks[j - 1] = t;
                }
        }
        size_t rmax = L->rd.r, cols = L->n0a > L->n1 ? L->n0a : L->n1;
        if (rmax > st->max_m) st->max_m = rmax;
        if (L->n0a > st->max_m) st->max_m = L->n0a;
        if (cols > st->max_n) st->max_n = cols;
    }
    return LR_OK;
}

static int prepare_network(lr_run *run, rl_state *st)
{
    const lr_config *c = run->cfg;
    const lr_dump *d = st->dump;
    st->evaluate = 0;
    st->acc_dense = st->acc_recorded = NAN;
    if (!lr_config_num(c, 0, "network.evaluate")) {
        snprintf(st->note, sizeof st->note, "network stages switched off (network.evaluate = false)");
        return LR_OK;
    }
    if (!d->sequential) {
        snprintf(st->note, sizeof st->note, "network = \"layers\": the dump describes layers, not a "
                 "sequential network; only the layer stage ran");
        return LR_OK;
    }
    if (!d->has_inputs || !d->has_labels || d->n_calib == 0 || d->n_calib >= d->n_inputs) {
        snprintf(st->note, sizeof st->note, "the dump has no /inputs with labels, calibration and "
                 "test samples; only the layer stage ran");
        return LR_OK;
    }
    LR_TRY(lr_net_from_dump(d, &st->net));
    st->n_calib = d->n_calib;
    st->n_test = d->n_inputs - d->n_calib;
    size_t tmax = (size_t)lr_config_num(c, 0, "network.test_max");
    if (tmax && tmax < st->n_test) st->n_test = tmax;
    st->calib_x.data = lr_malloc(st->n_calib * d->input_dim * sizeof(double));
    st->test_x.data = lr_malloc(st->n_test * d->input_dim * sizeof(double));
    st->test_labels = lr_malloc(st->n_test * sizeof(long));
    if (!st->calib_x.data || !st->test_x.data || !st->test_labels) LR_ERROR(LR_ENOMEM, "out of memory");
    st->calib_x = lr_mat_wrap(st->calib_x.data, st->n_calib, d->input_dim);
    st->test_x = lr_mat_wrap(st->test_x.data, st->n_test, d->input_dim);
    LR_TRY(lr_dump_read_inputs(d, 0, st->n_calib, st->calib_x, NULL));
    LR_TRY(lr_dump_read_inputs(d, st->n_calib, st->n_test, st->test_x, st->test_labels));
    LR_TRY(forward_check(st, lr_config_num(c, 0, "network.forward_rtol")));
    LR_TRY(test_accuracy(st, NULL, &st->correct_dense));
    st->acc_dense = (double)st->correct_dense / (double)st->n_test;
    st->acc_recorded = d->test_accuracy;
    if (tmax && tmax < d->n_inputs - d->n_calib)
        snprintf(st->note, sizeof st->note, "network stages on the first %zu of %zu test samples "
                 "(network.test_max): the recorded accuracy is not comparable", st->n_test,
                 d->n_inputs - d->n_calib);
    else if (!isnan(st->acc_recorded) &&
             fabs(st->acc_dense - st->acc_recorded) * (double)st->n_test > 1.0 + 1e-9)
        snprintf(st->note, sizeof st->note, "lrlab's dense accuracy %.6f differs from the recorded "
                 "%.6f by more than one test sample", st->acc_dense, st->acc_recorded);
    else
        snprintf(st->note, sizeof st->note, "dense accuracy %.6f (recorded %.6f) on %zu test samples",
                 st->acc_dense, st->acc_recorded, st->n_test);
    for (size_t l = 0; l < st->nl; l++) {
        rl_layer *L = &st->L[l];
        size_t r = L->rows_total < L->n0a + L->n1 ? L->rows_total : L->n0a + L->n1;
        if (r > st->max_m) st->max_m = r;
    }
    st->evaluate = 1;
    return LR_OK;
}

static int real_prepare(lr_run *run)
{
    const lr_config *c = run->cfg;
    rl_state *st = calloc(1, sizeof *st);
    if (!st) LR_ERROR(LR_ENOMEM, "out of memory");
    run->exp_state = st;
    char where[512];
    if (lr_config_given(c, "trials") && lr_config_num(c, 0, "trials") != 1)
        LR_ERRORF(LR_ECONFIG, "%s: real_layers is deterministic: trials must be 1",
                  lr_config_where(c, "trials", where, sizeof where));
    run->ntrials = 1;
    run->nunits = run->npoints;

    const char *const *names;
    run->ncomps = lr_config_str_list(c, "compress.methods", &names);
    if (run->ncomps == 0)
        LR_ERRORF(LR_ECONFIG, "%s: at least one compressor is needed",
                  lr_config_where(c, "compress.methods", where, sizeof where));
    run->comps = calloc(run->ncomps, sizeof *run->comps);
    run->bounds = calloc(1, sizeof *run->bounds);
    if (!run->comps || !run->bounds) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t i = 0; i < run->ncomps; i++) run->comps[i] = lr_compressor_find(names[i]);
    st->tol = run->bparams.tol = lr_config_num(c, 0, "bounds.tol");
    st->C = run->bparams.C = lr_config_num(c, 0, "bounds.C");
    st->t = run->bparams.t = lr_config_num(c, 0, "bounds.t");
    st->rank_rtol = lr_config_num(c, 0, "compress.rank_rtol");
    st->jitter = lr_config_num(c, 0, "compress.jitter");
    st->batch = (int)lr_config_num(c, 0, "network.batch");
    st->budget_kind = lr_config_str(c, "network.budget_kind");
    st->nbud = lr_config_real_list(c, "network.budgets", &st->budgets);
    for (size_t i = 0; i < st->nbud; i++)
        if (!(st->budgets[i] > 0) || (strcmp(st->budget_kind, "rank") && st->budgets[i] > 1.0 &&
                                      !strcmp(st->budget_kind, "energy")))
            LR_ERRORF(LR_ECONFIG, "%s: element %zu = %g must lie in (0, 1] for kind \"%s\" "
                      "(and be positive for the others)",
                      lr_config_where(c, "network.budgets", where, sizeof where), i + 1,
                      st->budgets[i], st->budget_kind);

    LR_TRY(resolve_dump(c, lr_config_str(c, "dump"), st->dump_path, sizeof st->dump_path));
    LR_TRY(lr_dump_open(st->dump_path, &st->dump));
    sha256_file(st->dump_path, st->dump_sha);
    LR_TRY(prepare_layers(run, st));
    LR_TRY(prepare_network(run, st));
    if (!st->evaluate) st->nbud = 0;
    const char *const *keep;
    size_t nkeep = lr_config_str_list(c, "network.keep_dense", &keep);
    for (size_t i = 0; i < nkeep; i++) {
        int found = 0;
        for (size_t l = 0; l < st->nl; l++)
            if (!strcmp(keep[i], st->dump->layers[l].module) || (!strcmp(keep[i], "first") && l == 0) ||
                (!strcmp(keep[i], "last") && l + 1 == st->nl)) {
                st->L[l].keep_dense = 1;
                found = 1;
            }
        if (!found)
            LR_ERRORF(LR_ECONFIG, "%s: element %zu = \"%s\" names no layer of %s",
                      lr_config_where(c, "network.keep_dense", where, sizeof where), i + 1, keep[i],
                      st->dump_path);
    }

    st->net_ratio = calloc(st->nbud + 1, sizeof(double));
    st->net_energy = calloc(st->nbud + 1, sizeof(double));
    if (!st->net_ratio || !st->net_energy) LR_ERROR(LR_ENOMEM, "out of memory");
    for (size_t l = 0; l < st->nl; l++) {
        st->L[l].kbud = calloc(st->nbud + 1, sizeof(size_t));
        if (!st->L[l].kbud) LR_ERROR(LR_ENOMEM, "out of memory");
    }
    /* A "params" budget is a ratio of the whole network's dense parameter count: layers
     * kept dense count in full, the others share what is left at one common ratio. */
    double dense_all = 0, dense_kept = 0;
    for (size_t l = 0; l < st->nl; l++) {
        double p = (double)st->L[l].n0a * (double)st->L[l].n1;
        dense_all += p;
        if (st->L[l].keep_dense) dense_kept += p;
    }
    for (size_t b = 0; b < st->nbud; b++) {
        double kept = 0, dense = 0, en = 0, bl = st->budgets[b];
        if (!strcmp(st->budget_kind, "params")) {
            if (dense_all - dense_kept <= 0 || bl * dense_all <= dense_kept)
                LR_ERRORF(LR_ECONFIG, "%s: budget %g of the parameters is used up by the layers of "
                          "network.keep_dense (%.3g of the total)",
                          lr_config_where(c, "network.budgets", where, sizeof where), bl,
                          dense_kept / dense_all);
            bl = (bl * dense_all - dense_kept) / (dense_all - dense_kept);
        }
        for (size_t l = 0; l < st->nl; l++) {
            rl_layer *L = &st->L[l];
            size_t k = L->kbud[b] = L->keep_dense ? kcap(L) : budget_rank(L, st->budget_kind, bl);
            kept += L->keep_dense ? (double)L->n0a * (double)L->n1 : (double)k * (double)(L->n0a + L->n1);
            dense += (double)L->n0a * (double)L->n1;
            en += L->keep_dense ? 1.0 : energy_at(L, k);
        }
        st->net_ratio[b] = kept / dense;
        st->net_energy[b] = en / (double)st->nl;
    }

    size_t nslots = 0;
    for (size_t l = 0; l < st->nl; l++) nslots += st->L[l].nranks;
    st->slot_seq = nslots;
    nslots += st->nbud * st->nl;
    st->slot_net = nslots;
    nslots += st->nbud;
    st->nslots = nslots;
    run->nranks = nslots;
    run->rank_offsets = calloc(nslots, sizeof(long));
    if (!run->rank_offsets) LR_ERROR(LR_ENOMEM, "out of memory");
    run->rows_per_unit = run->ncomps * nslots;

    for (size_t l = 0; l < st->nl; l++) {
        const rl_layer *L = &st->L[l];
        size_t r = L->rd.r > L->rows_total ? L->rd.r : (L->rows_total < L->n0a + L->n1 ? L->rows_total : L->n0a + L->n1);
        size_t need = lr_layer_factor_x_scratch(r, L->n0a) + lr_arena_need(r < L->n0a ? r : L->n0a, L->n0a);
        for (size_t i = 0; i < run->ncomps; i++) {
            size_t sc = run->comps[i]->scratch(r, L->n0a, L->n1);
            if (sc > need) need = sc;
        }
        if (need > st->arena_need) st->arena_need = need;
    }
    return declare_columns(run, st);
}

/* ---- workspace ---- */

typedef struct rl_ws {
    lr_compress_ws cws;
} rl_ws;

static void real_ws_free(void *p)
{
    rl_ws *w = p;
    if (!w) return;
    lr_svd_plan_free(w->cws.svd);
    lr_arena_release(&w->cws.arena);
    free(w);
}

static void *real_ws_alloc(const lr_run *run)
{
    const rl_state *st = run->exp_state;
    rl_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->cws.svd = lr_svd_plan_alloc(st->max_m ? st->max_m : 1, st->max_n ? st->max_n : 1);
    if (!w->cws.svd || lr_arena_init(&w->cws.arena, st->arena_need) != LR_OK) {
        real_ws_free(w);
        return NULL;
    }
    return w;
}

/* ---- the unit ---- */

typedef struct row_common {
    int stage;
    size_t layer;
    size_t m;
    double budget;
} row_common;

static double *row_at(const lr_run *run, double *rows, size_t comp, size_t slot)
{
    return rows + (comp * run->nranks + slot) * run->trials->ncols;
}

static void fill_layer_row(const lr_run *run, const rl_state *st, double *row, size_t point, size_t ci,
                           size_t slot, const row_common *rc, const layer_eval *ev, size_t k_target,
                           size_t k, double err_layer, double err_y, double err_w, int route, int fb)
{
    const rl_layer *L = &st->L[rc->layer];
    const lr_trial_columns *col = &run->col;
    lr_run_fill_row(run, row, point, 0, ci, slot);
    lr_table *t = run->trials;
    row[st->c_stage] = rc->stage;
    row[st->c_layer] = lr_table_dict_index(t, (size_t)st->c_layer, st->dump->layers[rc->layer].module);
    row[st->c_layer_index] = (double)rc->layer;
    row[st->c_n0] = (double)L->n0a;
    row[st->c_n1] = (double)L->n1;
    row[st->c_m] = (double)rc->m;
    row[st->c_budget] = rc->budget;
    row[st->c_param_ratio] = layer_param_ratio(L, k);
    row[st->c_energy] = energy_at(L, k);
    row[col->k_target] = (double)k_target;
    row[col->k] = (double)k;
    row[col->q] = (double)ev->q;
    row[col->err_fro] = err_layer;
    row[col->err_rel] = ev->z_norm > 0 ? err_layer / ev->z_norm : NAN;
    row[col->err_weight] = err_w;
    row[col->err_layer] = err_layer;
    row[col->err_layer_rel] = ev->z_norm > 0 ? err_layer / ev->z_norm : NAN;
    row[col->z_norm] = ev->z_norm;
    row[col->pg_op] = ev->pg_op;
    row[col->svd_fallback] = ev->fallback | fb;
    row[st->c_err_y] = err_y;
    row[st->c_err_y_rel] = ev->y_norm > 0 ? err_y / ev->y_norm : NAN;
    double tau = k <= ev->ntail ? ev->tail[k] : 0.0;
    row[st->c_tau] = tau;
    row[st->c_pg_fro] = ev->pg_fro;
    row[st->c_sigma_hat] = ev->sigma_hat;
    double b1 = tau + st->C * sqrt(2.0 * (double)k) * ev->pg_op;
    double b2 = isnan(ev->sigma_hat) ? NAN
                                     : tau + st->C * sqrt(2.0 * (double)k) * ev->sigma_hat *
                                                 (sqrt((double)ev->q) + sqrt((double)L->n1) + st->t);
    int is_dd = !strcmp(run->comps[ci]->name, "dd_rank");
    row[st->c_thm2a] = b1;
    row[st->c_thm2a_held] = is_dd ? le_rounding(st, err_layer, b1, ev->z_norm) : -1;
    row[st->c_thm2a_hat] = b2;
    row[st->c_thm2a_hat_held] = is_dd && !isnan(b2) ? le_rounding(st, err_layer, b2, ev->z_norm) : -1;
    row[st->c_route] = route;
    row[st->c_dd_le_da] = row[st->c_dd_le_da_y] = -1;
}

static int layer_stage(const lr_run *run, rl_state *st, rl_ws *w, size_t point, double *rows,
                       const lr_compress_opts *opts)
{
    size_t slot0 = 0;
    for (size_t l = 0; l < st->nl; l++) {
        rl_layer *L = &st->L[l];
        factored f;
        LR_TRY(factor_layer(&L->rd, L->Wa, st->rank_rtol, &w->cws, &f));
        layer_eval ev;
        int s = analyse(&f, L->rd.m, &ev);
        size_t n = L->nranks;
        double *el = lr_malloc(3 * n * sizeof(double));
        size_t *kk = lr_malloc(n * sizeof(size_t));
        if (s == LR_OK && (!el || !kk)) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        row_common rc = {STAGE_LAYER, l, L->rd.m, NAN};
        for (size_t ci = 0; ci < run->ncomps && s == LR_OK; ci++) {
            int route = 0, fb = 0;
            s = lr_real_layers_rank_errors(&f.L, run->comps[ci], opts, L->ranks, n, &w->cws, 0, el, el + n,
                                           el + 2 * n, kk, &route, &fb);
            for (size_t i = 0; i < n && s == LR_OK; i++)
                fill_layer_row(run, st, row_at(run, rows, ci, slot0 + i), point, ci, slot0 + i, &rc, &ev,
                               L->ranks[i], kk[i], el[i], el[n + i], el[2 * n + i], route, fb);
        }
        /* Compare with svd_w at the same rank: exactly, and within the provable slack
         * 2 ||PG||_F (dd_rank fits Y = X~W + G, not X~W). */
        size_t da = run->ncomps;
        for (size_t ci = 0; ci < run->ncomps; ci++)
            if (!strcmp(run->comps[ci]->name, "svd_w")) da = ci;
        for (size_t ci = 0; s == LR_OK && da < run->ncomps && ci < run->ncomps; ci++) {
            if (ci == da) continue;
            for (size_t i = 0; i < n; i++) {
                double *x = row_at(run, rows, ci, slot0 + i), *y = row_at(run, rows, da, slot0 + i);
                double ex = x[run->col.err_layer], ey = y[run->col.err_layer];
                x[st->c_dd_le_da] = le_rounding(st, ex, ey, ev.z_norm) ? 1
                                    : (le_rounding(st, ex, ey + 2 * ev.pg_fro, ev.z_norm) ? 2 : 0);
                x[st->c_dd_le_da_y] = le_rounding(st, x[st->c_err_y], y[st->c_err_y], ev.z_norm);
            }
        }
        lr_free(el);
        lr_free(kk);
        lr_free(ev.tail);
        factored_free(&f);
        LR_TRY(s);
        slot0 += n;
    }
    return LR_OK;
}

/* One sequential compression of the whole network at budget b. */
static int sequential_run(const lr_run *run, rl_state *st, rl_ws *w, size_t point, size_t ci, size_t b,
                          double *rows, const lr_compress_opts *opts)
{
    const lr_compressor *comp = run->comps[ci];
    size_t n = st->n_calib, nl = st->nl;
    lr_net_lowrank *lrs = calloc(nl, sizeof *lrs);
    double *act = lr_malloc(n * st->net->in_dim * sizeof(double));
    if (!lrs || !act) {
        free(lrs);
        lr_free(act);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    lr_mat A = lr_mat_wrap(act, n, st->net->in_dim);
    lr_mat_copy(A, st->calib_x);
    size_t block = 4096;
    int s = LR_OK;
    for (size_t l = 0; l < nl && s == LR_OK; l++) {
        const lr_net_layer *NL = &st->net->layers[l];
        rl_layer *L = &st->L[l];
        size_t nrows = L->rows_total, k = L->kbud[b];
        double *xb = lr_malloc(nrows * NL->n0 * sizeof(double)), *yb = lr_malloc(nrows * NL->n1 * sizeof(double));
        double *nx = lr_malloc(n * NL->post_dim * sizeof(double));
        lrs[l].A = lr_mat_wrap(lr_malloc(L->n0a * k * sizeof(double)), L->n0a, k);
        lrs[l].B = lr_mat_wrap(lr_malloc(k * L->n1 * sizeof(double)), k, L->n1);
        if (!xb || !yb || !nx || !lrs[l].A.data || !lrs[l].B.data) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        lr_mat X = lr_mat_wrap(xb, nrows, NL->n0), Yt = lr_mat_wrap(yb, nrows, NL->n1), N = lr_mat_wrap(nx, n, NL->post_dim);
        lr_mat Yo = lr_mat_wrap(L->Yo, nrows, L->n1);
        lr_reduced rd;
        memset(&rd, 0, sizeof rd);
        if (s == LR_OK) s = lr_net_im2col(NL, A, X);
        if (s == LR_OK) s = lr_reduced_init(&rd, L->n0, L->n1, L->bias, block, nrows);
        for (size_t r0 = 0; s == LR_OK && r0 < nrows; r0 += block) {
            size_t nb = nrows - r0 < block ? nrows - r0 : block;
            s = lr_reduced_add(&rd, lr_mat_view(X, r0, 0, nb, L->n0), lr_mat_view(Yo, r0, 0, nb, L->n1));
        }
        if (s == LR_OK) s = lr_reduced_finish(&rd);
        factored f;
        memset(&f, 0, sizeof f);
        layer_eval ev;
        memset(&ev, 0, sizeof ev);
        if (s == LR_OK) s = factor_layer(&rd, L->Wa, st->rank_rtol, &w->cws, &f);
        if (s == LR_OK) s = analyse(&f, nrows, &ev);
        lr_fit_info info = {.gap = NAN, .lambda = NAN, .route = L->keep_dense ? -1 : 0};
        lr_factors fac = {lrs[l].A, lrs[l].B, 0};
        double el = NAN, ey = NAN, ew = NAN;
        if (s == LR_OK && L->keep_dense) {
            /* Kept dense: M = W, measured as W I (route -1 in the row). */
            fac.k = L->n1;
            double *id = lr_calloc(L->n1 * L->n1, sizeof(double));
            if (!id) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
            for (size_t j = 0; id && j < L->n1; j++) id[j + j * L->n1] = 1.0;
            if (s == LR_OK) s = measure_direct(&f.L, L->Wa, lr_mat_wrap(id, L->n1, L->n1), &el, &ey, &ew);
            lr_free(id);
            fac.k = kcap(L);
            lr_free(lrs[l].A.data);
            lr_free(lrs[l].B.data);
            lrs[l].A.data = lrs[l].B.data = NULL;
        } else if (s == LR_OK) {
            s = comp->fit(&f.L, opts, &k, 1, &fac, &w->cws, &info);
            if (s == LR_OK) {
                lrs[l].A.cols = fac.k;
                lrs[l].B.rows = fac.k;
                s = measure_direct(&f.L, lrs[l].A, lrs[l].B, &el, &ey, &ew);
            }
        }
        if (s == LR_OK) {
            size_t slot = st->slot_seq + b * nl + l;
            row_common rc = {STAGE_SEQ, l, nrows, st->budgets[b]};
            double *row = row_at(run, rows, ci, slot);
            fill_layer_row(run, st, row, point, ci, slot, &rc, &ev, k, fac.k, el, ey, ew, info.route,
                           info.svd_fallback);
            if (L->keep_dense) {
                row[st->c_param_ratio] = 1.0;
                row[st->c_energy] = 1.0;
                row[st->c_thm2a_held] = row[st->c_thm2a_hat_held] = -1;
            }
        }
        if (s == LR_OK) s = lr_net_apply(NL, &lrs[l], X, Yt);
        if (s == LR_OK) s = lr_net_post(NL, Yt, n, N);
        lr_free(ev.tail);
        factored_free(&f);
        lr_reduced_release(&rd);
        lr_free(xb);
        lr_free(yb);
        lr_free(act);
        act = nx;
        A = N;
    }
    lr_free(act);
    size_t correct = 0;
    if (s == LR_OK) s = test_accuracy(st, lrs, &correct);
    if (s == LR_OK) {
        size_t slot = st->slot_net + b;
        double *row = row_at(run, rows, ci, slot);
        lr_run_fill_row(run, row, point, 0, ci, slot);
        row[st->c_stage] = STAGE_NET;
        row[st->c_layer] = lr_table_dict_index(run->trials, (size_t)st->c_layer, "(network)");
        row[st->c_layer_index] = -1;
        row[st->c_budget] = st->budgets[b];
        row[st->c_param_ratio] = st->net_ratio[b];
        row[st->c_net_ratio] = st->net_ratio[b];
        row[st->c_energy] = st->net_energy[b];
        row[st->c_accuracy] = (double)correct / (double)st->n_test;
        row[st->c_accuracy_dense] = st->acc_dense;
        row[st->c_m] = (double)st->n_test;
        row[run->col.svd_fallback] = 0;
        row[run->col.k_target] = row[run->col.k] = row[run->col.q] = -1;
        row[st->c_n0] = row[st->c_n1] = -1;
        row[st->c_route] = -1;
        row[st->c_thm2a_held] = row[st->c_thm2a_hat_held] = row[st->c_dd_le_da] = row[st->c_dd_le_da_y] = -1;
    }
    for (size_t l = 0; l < nl; l++) {
        lr_free(lrs[l].A.data);
        lr_free(lrs[l].B.data);
    }
    free(lrs);
    return s;
}

static int real_unit(const lr_run *run, void *wsp, size_t point, size_t trial, gsl_rng *rng, double *rows,
                     double *seconds)
{
    rl_state *st = run->exp_state;
    rl_ws *w = wsp;
    lr_compress_opts opts = {.sigma = NAN, .lambda = NAN, .t = st->t, .tol = 1e-10, .max_iter = 1000,
                             .alpha = lr_config_num(run->cfg, point, "compress.alpha"),
                             .lambda_factor = 1.0, .jitter = st->jitter};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    LR_TRY(layer_stage(run, st, w, point, rows, &opts));
    for (size_t b = 0; b < st->nbud; b++)
        for (size_t ci = 0; ci < run->ncomps; ci++) {
            LR_TRY(sequential_run(run, st, w, point, ci, b, rows, &opts));
            for (size_t l = 0; l < st->nl; l++)
                row_at(run, rows, ci, st->slot_seq + b * st->nl + l)[st->c_net_ratio] = st->net_ratio[b];
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double el = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    for (size_t i = 0; i < run->rows_per_unit; i++) seconds[i] = el;
    return LR_OK;
}

/* ---- results ---- */

static int write_spectra(const rl_state *st, hid_t file)
{
    hid_t g = H5Gcreate2(file, "spectra", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) LR_ERROR(LR_EIO, "cannot create /spectra");
    int s = lr_h5_attr_str(g, "doc", "per layer (group NNN, forward order): singular values of W (with "
                                     "the bias row), of the calibration inputs X (with the ones "
                                     "column) and of X W, descending");
    for (size_t l = 0; l < st->nl && s == LR_OK; l++) {
        char name[32];
        snprintf(name, sizeof name, "%03zu", l);
        hid_t lg = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (lg < 0) {
            s = lr_error(LR_EIO, __FILE__, __LINE__, "cannot create /spectra/%s", name);
            break;
        }
        const rl_layer *L = &st->L[l];
        s = lr_h5_write_vector(lg, "W", L->spec_w, L->nspec_w);
        if (s == LR_OK) s = lr_h5_write_vector(lg, "X", L->spec_x, L->nspec_x);
        if (s == LR_OK) s = lr_h5_write_vector(lg, "XW", L->spec_xw, L->nspec_xw);
        if (s == LR_OK) s = lr_h5_attr_str(lg, "module", st->dump->layers[l].module);
        if (s == LR_OK) s = lr_h5_attr_str(lg, "kind", st->dump->layers[l].kind ? "conv2d" : "linear");
        H5Gclose(lg);
    }
    H5Gclose(g);
    return s;
}

static int write_layers_table(const rl_state *st, hid_t file)
{
    lr_table *t = lr_table_alloc("layers");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int ci = lr_table_add_column(t, "layer_index", LR_COL_INT, "forward order");
    int cm = lr_table_add_column(t, "layer", LR_COL_NAME, "PyTorch module name");
    int ck = lr_table_add_column(t, "kind", LR_COL_NAME, "linear or conv2d");
    int c0 = lr_table_add_column(t, "N0", LR_COL_INT, "inputs (im2col columns for conv)");
    int c1 = lr_table_add_column(t, "N1", LR_COL_INT, "outputs");
    int cb = lr_table_add_column(t, "bias", LR_COL_FLAG, "1 if the bias is folded into W (N0a = N0 + 1)");
    int cr = lr_table_add_column(t, "m_stored", LR_COL_INT, "rows of X, Y stored in the dump");
    int ct = lr_table_add_column(t, "rows_total", LR_COL_INT, "rows of the full activation matrix");
    int cq = lr_table_add_column(t, "reduced_rows", LR_COL_INT, "rows of the streaming-QR reduction");
    int cc = lr_table_add_column(t, "check_rel", LR_COL_REAL, "||Y - X W^T - b||_F / ||Y||_F of the dump");
    int cx = lr_table_add_column(t, "forward_rel_x", LR_COL_REAL, "lrlab's forward pass vs stored X (relative Frobenius; NaN: not run)");
    int cy = lr_table_add_column(t, "forward_rel_y", LR_COL_REAL, "lrlab's forward pass vs stored Y (relative Frobenius; NaN: not run)");
    int status = t->failed ? LR_ENOMEM : LR_OK; /* any index may be -1 */
    double row[12];
    for (size_t l = 0; l < st->nl && status == LR_OK; l++) {
        const rl_layer *L = &st->L[l];
        const lr_dump_layer *D = &st->dump->layers[l];
        row[ci] = (double)l;
        row[cm] = lr_table_dict_index(t, (size_t)cm, D->module);
        row[ck] = lr_table_dict_index(t, (size_t)ck, D->kind ? "conv2d" : "linear");
        row[c0] = (double)L->n0;
        row[c1] = (double)L->n1;
        row[cb] = L->bias;
        row[cr] = (double)D->m;
        row[ct] = (double)D->rows_total;
        row[cq] = (double)L->rd.r;
        row[cc] = L->check_rel;
        row[cx] = st->evaluate ? L->fwd_rel_x : NAN;
        row[cy] = st->evaluate ? L->fwd_rel_y : NAN;
        status = lr_table_append(t, row);
    }
    if (status == LR_OK) status = lr_h5_write_table(file, t, "the dump's layers and how they were checked");
    lr_table_free(t);
    return status;
}

static int write_accuracy_table(const lr_run *run, const rl_state *st, hid_t file)
{
    lr_table *t = lr_table_alloc("accuracy");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int cp = lr_table_add_column(t, "point", LR_COL_INT, "sweep point");
    int cc = lr_table_add_column(t, "compressor", LR_COL_NAME, "compressor");
    int cd = lr_table_add_column(t, "data_driven", LR_COL_FLAG, "1 if the compressor uses calibration data");
    int cb = lr_table_add_column(t, "budget", LR_COL_REAL, "network.budgets value");
    int cr = lr_table_add_column(t, "param_ratio", LR_COL_REAL, "parameters kept / dense parameters (whole network)");
    int ce = lr_table_add_column(t, "energy", LR_COL_REAL, "kept energy of W, mean over layers");
    int ca = lr_table_add_column(t, "accuracy", LR_COL_REAL, "test accuracy of the compressed network");
    int cn = lr_table_add_column(t, "accuracy_dense", LR_COL_REAL, "dense network, lrlab's forward pass");
    int cs = lr_table_add_column(t, "test_samples", LR_COL_INT, "test samples");
    int status = t->failed ? LR_ENOMEM : LR_OK;
    double row[9];
    for (size_t i = 0; i < run->trials->nrows && status == LR_OK; i++) {
        const double *r = lr_table_row(run->trials, i);
        if ((int)r[st->c_stage] != STAGE_NET) continue;
        size_t comp = (size_t)r[run->col.compressor];
        row[cp] = r[run->col.point];
        row[cc] = lr_table_dict_index(t, (size_t)cc, run->comps[comp]->name);
        row[cd] = run->comps[comp]->data_driven;
        row[cb] = r[st->c_budget];
        row[cr] = r[st->c_param_ratio];
        row[ce] = r[st->c_energy];
        row[ca] = r[st->c_accuracy];
        row[cn] = r[st->c_accuracy_dense];
        row[cs] = r[st->c_m];
        status = lr_table_append(t, row);
    }
    if (status == LR_OK)
        status = lr_h5_write_table(file, t, "test accuracy of the sequentially compressed network against its parameter ratio");
    lr_table_free(t);
    return status;
}

static int real_write_results(const lr_run *run, long long fileid)
{
    const rl_state *st = run->exp_state;
    hid_t file = (hid_t)fileid;
    LR_TRY(lr_h5_attr_str(file, "dump_path", st->dump_path));
    LR_TRY(lr_h5_attr_str(file, "dump_sha256", st->dump_sha));
    LR_TRY(lr_h5_attr_str(file, "network_note", st->note));
    LR_TRY(lr_h5_attr_i64(file, "network_evaluated", st->evaluate));
    LR_TRY(lr_h5_attr_f64(file, "accuracy_dense", st->acc_dense));
    LR_TRY(lr_h5_attr_f64(file, "accuracy_recorded", st->acc_recorded));
    LR_TRY(lr_h5_attr_i64(file, "test_samples", (long long)st->n_test));
    LR_TRY(lr_h5_attr_i64(file, "correct_dense", (long long)st->correct_dense));
    LR_TRY(lr_h5_attr_str(file, "budget_kind", st->budget_kind));
    LR_TRY(write_spectra(st, file));
    LR_TRY(write_layers_table(st, file));
    return write_accuracy_table(run, st, file);
}

static void real_release(lr_run *run)
{
    rl_state *st = run->exp_state;
    if (!st) return;
    for (size_t l = 0; st->L && l < st->nl; l++) {
        rl_layer *L = &st->L[l];
        lr_free(L->Wa.data);
        lr_reduced_release(&L->rd);
        lr_free(L->spec_w);
        lr_free(L->spec_x);
        lr_free(L->spec_xw);
        free(L->ranks);
        free(L->kbud);
        lr_free(L->Yo);
    }
    free(st->L);
    free(st->net_ratio);
    free(st->net_energy);
    lr_free(st->calib_x.data);
    lr_free(st->test_x.data);
    lr_free(st->test_labels);
    lr_net_free(st->net);
    lr_dump_close(st->dump);
    free(st);
    run->exp_state = NULL;
}

const lr_experiment lr_experiment_real_layers = {
    "real_layers",
    "layers of a real network from a dump: every compressor on every layer, Theorem 2(a) with "
    "the noise-level estimate, and the compressed network's accuracy",
    real_schema, real_prepare, real_ws_alloc, real_ws_free, real_unit, NULL, real_release,
    real_write_results};
