/* Experiment `ntk`: "lossless" ternary compression through the high-dimensional NTK (Gu, Du,
 * Zhang, Xie, Pu, Qiu, Liao, "'Lossless' Compression of Deep Neural Networks: A
 * High-dimensional Neural Tangent Kernel Approach", NeurIPS 2022; docs/theory.md section 5).
 *
 * For data X (p x n: a K-class Gaussian mixture x ~ N(mu_a / sqrt p, C_a / p), or real
 * inputs normalised to mean squared norm 1) and a depth-L fully connected network with
 * centred activation sigma in every layer, each unit computes:
 *   - the exact infinite-width kernels K_CK,L and K_NTK,L (src/ntk/kernel_exact.h: closed
 *     forms, else Mehler's series), whose scales tau_l and key quantities feed
 *   - the alpha / beta / kappa recursions and the equivalent kernels
 *       K~ = lin X^T X + V A V^T + s I      (src/ntk/equiv.h)
 *     with the identity term s as docs/theory.md prints it (tau_L^2 - tau_0^2 alpha_{L,1} -
 *     tau_0^4 alpha_{L,3}) and as the diagonal asks (without the last term): the claim is
 *     ||K - K~||_2 / ||K||_2 -> 0 like p^{-1/2} at fixed p / n;
 *   - the compressed network (src/ntk/ternary.h): sigma_T in the hidden layers, sigma_Q (or
 *     sigma_T) in the last, fitted to sigma's key quantities at the compressed network's own
 *     scales; its exact CK plus the identity shift tau_L^2 - ~tau_L^2 against K_CK;
 *   - with network.width > 0, finite random networks (the definition of src/ntk/kernel_emp.h,
 *     written out here because the ridge head needs the features too, of the training and
 *     the test samples through the same weights): the empirical CK H_L^T H_L, H_l =
 *     d_l^{-1/2} sigma_c(W_l H_{l-1}), H_0 = X, W_l i.i.d. N(0, 1) (dense) or ternary with
 *     sparsity eps (compressed, with sigma_T / sigma_Q), averaged over network.draws
 *     networks, against the exact CK of the same network (the infinite-width limit);
 *   - on real data, a closed-form ridge classifier on the last layer's features of the dense
 *     and of the compressed finite network, its test accuracy, and both networks' memory.
 * One /trials row per (point, trial, activation); the activation's name is in column
 * `compressor`.  Kernels are in double; the spectral norms come from all eigenvalues
 * (dsyevr). */
#include <gsl/gsl_randist.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "ntk.h"
#include "ntk/kernel_emp.h"

/* ---- finite random networks ---- */

/* Features H_L (width x N) of the finite network with activations acts and centring
 * constants centre, weights Gaussian (eps < 0) or ternary with sparsity eps, on the N
 * columns of X; scratch holds 2 width x N doubles and one width x max(p, width) matrix. */
static int features(gsl_rng *rng, const lr_ntk_act *acts, const double *centre, size_t L, size_t width, double eps,
                    lr_mat X, lr_mat F, double *scratch)
{
    size_t N = X.cols, dprev = X.rows;
    lr_mat H = X;
    double *buf[2] = {scratch, scratch + width * N}, *wbuf = scratch + 2 * width * N;
    for (size_t l = 0; l < L; l++) {
        lr_mat W = lr_mat_wrap(wbuf, width, dprev);
        LR_TRY(lr_ntk_draw_weights(rng, eps < 0 ? LR_NTK_WEIGHTS_GAUSS : LR_NTK_WEIGHTS_TERNARY, eps < 0 ? 0.0 : eps,
                                   W.data, width * dprev));
        lr_mat Z = l + 1 == L ? F : lr_mat_wrap(buf[l % 2], width, N);
        LR_TRY(lr_gemm('N', 'N', 1.0, W, H, 0.0, Z));
        LR_TRY(lr_ntk_act_map(&acts[l], 0, 1.0, centre[l], 1.0 / sqrt((double)width), Z.data, width * N));
        H = Z, dprev = width;
    }
    return LR_OK;
}

/* Test accuracy of ridge regression on one-hot targets: features F (d x n) with labels,
 * test features Ft (d x nt); lambda relative to tr(F^T F) / n.  a and b are scratch of
 * max(d, n)^2 and max(d, n) K doubles. */
static int ridge_accuracy(lr_mat F, const size_t *labels, lr_mat Ft, const size_t *lt, size_t K, double rel,
                          double offset, double *a, double *b, double *acc)
{
    size_t d = F.rows, n = F.cols, nt = Ft.cols;
    double tr = 0;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < d; i++) tr += LR_AT(F, i, j) * LR_AT(F, i, j);
    /* offset != 0: the kernel F^T F + offset I in the dual (a diagonal the features cannot
     * carry); a ridge that leaves its diagonal no longer positive is no candidate. */
    double lambda = rel * tr / (double)n + offset;
    if (!(lambda > 0)) {
        *acc = NAN;
        return LR_OK;
    }
    int primal = d <= n && offset == 0;
    size_t m = primal ? d : n;
    lr_mat A = lr_mat_wrap(a, m, m), B = lr_mat_wrap(b, m, K);
    LR_TRY(lr_syrk(primal ? 'N' : 'T', 1.0, F, 0.0, A));
    for (size_t i = 0; i < m; i++) LR_AT(A, i, i) += lambda;
    lr_mat_set_zero(B);
    /* Primal: (F F^T + lambda I) beta = F Y^T.  Dual: (F^T F + lambda I) alpha = Y^T. */
    for (size_t j = 0; j < n; j++)
        if (primal)
            for (size_t i = 0; i < d; i++) LR_AT(B, i, labels[j]) += LR_AT(F, i, j);
        else
            LR_AT(B, j, labels[j]) = 1.0;
    lapack_int info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', (lapack_int)m, (lapack_int)K, A.data, (lapack_int)A.ld,
                                    B.data, (lapack_int)B.ld);
    if (info != 0)
        LR_ERRORF(LR_ENUMERIC, "ntk: the ridge system (%s, lambda = %g) is not positive definite (dposv info %d): "
                  "raise ntk.ridge", primal ? "primal" : "dual", lambda, (int)info);
    /* beta = B (primal) or F alpha (dual); the test scores beta^T Ft. */
    double *bb = malloc((d * K + K * nt + 1) * sizeof(double));
    if (!bb) LR_ERROR(LR_ENOMEM, "out of memory");
    lr_mat beta = lr_mat_wrap(bb, d, K), S = lr_mat_wrap(bb + d * K, K, nt);
    int st = primal ? (lr_mat_copy(beta, B), LR_OK) : lr_gemm('N', 'N', 1.0, F, B, 0.0, beta);
    if (st == LR_OK) st = lr_gemm('T', 'N', 1.0, beta, Ft, 0.0, S);
    size_t correct = 0;
    for (size_t j = 0; st == LR_OK && j < nt; j++) {
        size_t best = 0;
        for (size_t k = 1; k < K; k++)
            if (LR_AT(S, k, j) > LR_AT(S, best, j)) best = k;
        correct += best == lt[j];
    }
    free(bb);
    LR_TRY(st);
    *acc = (double)correct / (double)nt;
    return LR_OK;
}

/* The relative ridge of the grid with the best accuracy on a holdout of the training set
 * (every fifth sample, which keeps the classes in proportion since they are grouped),
 * fitted on the other four fifths; ties to the larger ridge.  Then the accuracy on the
 * test set, fitted on every training sample with it.  hold/fit are scratch of n columns. */
static int ridge_select(lr_mat F, const size_t *labels, lr_mat Ft, const size_t *lt, size_t K, const double *grid,
                        size_t ng, double offset, double *a, double *b, double *sel, double *acc)
{
    size_t d = F.rows, n = F.cols, nh = (n + 4) / 5, nf = n - nh;
    double *buf = malloc((d * n + 1) * sizeof(double));
    size_t *lab = malloc((n + 1) * sizeof(size_t));
    if (!buf || !lab) {
        free(buf), free(lab);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    lr_mat Ff = lr_mat_wrap(buf, d, nf), Fh = lr_mat_wrap(buf + d * nf, d, nh);
    size_t *lf = lab, *lh = lab + nf;
    for (size_t j = 0, jf = 0, jh = 0; j < n; j++) {
        lr_mat dst = j % 5 == 4 ? Fh : Ff;
        size_t col = j % 5 == 4 ? jh++ : jf++;
        memcpy(&LR_AT(dst, 0, col), &LR_AT(F, 0, j), d * sizeof(double));
        (j % 5 == 4 ? lh : lf)[col] = labels[j];
    }
    int s = LR_OK;
    double best = -1;
    *sel = NAN;
    for (size_t g = 0; s == LR_OK && g < ng; g++) {
        double h;
        s = ridge_accuracy(Ff, lf, Fh, lh, K, grid[g], offset, a, b, &h);
        if (s == LR_OK && h >= best) best = h, *sel = grid[g]; /* NaN (no candidate) never compares */
    }
    free(buf), free(lab);
    LR_TRY(s);
    if (isnan(*sel)) {
        *acc = NAN;
        return LR_OK;
    }
    return ridge_accuracy(F, labels, Ft, lt, K, *sel, offset, a, b, acc);
}

/* ---- the unit ---- */

typedef struct ntk_ws {
    size_t nn;          /* n x n buffers hold max_n^2 doubles */
    double *ck, *ntk, *kt, *ckc, *emp, *x, *scratch, *fa, *fb;
    size_t *labels;
    size_t nscratch;
} ntk_ws;

static void ntk_ws_free(void *p)
{
    ntk_ws *w = p;
    if (!w) return;
    lr_free(w->ck), lr_free(w->ntk), lr_free(w->kt), lr_free(w->ckc), lr_free(w->emp), lr_free(w->x);
    lr_free(w->scratch), lr_free(w->fa), lr_free(w->fb), free(w->labels);
    free(w);
}

static void *ntk_ws_alloc(const lr_run *run)
{
    const ntk_state *st = run->exp_state;
    ntk_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t n = st->max_n, n2 = n * n, N = st->real ? st->R.n + st->R.n_test : n, wd = st->max_width;
    w->ck = lr_malloc(n2 * sizeof(double)), w->ntk = lr_malloc(n2 * sizeof(double));
    w->kt = lr_malloc(n2 * sizeof(double)), w->ckc = lr_malloc(n2 * sizeof(double));
    w->emp = lr_malloc(n2 * sizeof(double));
    w->x = lr_malloc((st->max_p * N + 1) * sizeof(double));
    w->labels = calloc(N + 1, sizeof(size_t));
    size_t wide = st->max_p > wd ? st->max_p : wd;
    w->nscratch = 2 * wd * N + wd * wide + 1;
    w->scratch = lr_malloc(w->nscratch * sizeof(double));
    size_t m = wd > n ? wd : n;
    w->fa = lr_malloc((wd * N + m * m + 1) * sizeof(double));
    w->fb = lr_malloc((wd * N + m * (st->K + 1) + 1) * sizeof(double));
    if (!w->ck || !w->ntk || !w->kt || !w->ckc || !w->emp || !w->x || !w->labels || !w->scratch || !w->fa || !w->fb) {
        ntk_ws_free(w);
        return NULL;
    }
    return w;
}

/* The exact CK of the network acts (centring constants and scales in *info). */
static int exact_ck(const ntk_state *st, lr_ntk_kernel_plan *kp, lr_mat X, const lr_ntk_act *acts, size_t L,
                    double tau0, lr_mat CK, lr_mat NTK, lr_ntk_kernel_info *info)
{
    return lr_ntk_kernel_exact(kp, X, acts, L, tau0, st->method, CK, NTK, info);
}

/* The empirical CK of `draws` finite networks, averaged, into E; its features of the last
 * draw go to F (width x N over the columns of Xall). */
static int empirical_ck(const ntk_state *st, ntk_ws *w, gsl_rng *rng, const lr_ntk_act *acts, const double *centre,
                        size_t L, size_t width, double eps, lr_mat Xall, size_t n, lr_mat E, lr_mat F)
{
    lr_mat_set_zero(E);
    for (size_t t = 0; t < st->draws; t++) {
        LR_TRY(features(rng, acts, centre, L, width, eps, Xall, F, w->scratch));
        lr_mat Fn = lr_mat_view(F, 0, 0, width, n);
        LR_TRY(lr_syrk('T', 1.0 / (double)st->draws, Fn, 1.0, E));
    }
    lr_mat_symmetrize(E);
    return LR_OK;
}

static int ntk_unit(const lr_run *run, void *wsp, size_t point, size_t trial, gsl_rng *rng, double *rows,
                    double *seconds)
{
    const ntk_state *st = run->exp_state;
    ntk_ws *w = wsp;
    size_t ncols = run->trials->ncols, L = (size_t)lr_config_num(run->cfg, point, "network.depth");
    size_t width = (size_t)lr_config_num(run->cfg, point, "network.width");
    double eps = lr_config_num(run->cfg, point, "network.eps");
    size_t n = st->real ? st->R.n : (size_t)lr_config_num(run->cfg, point, "data.n");
    lr_mat X = lr_mat_wrap(w->x, st->real ? st->R.p : (size_t)lr_config_num(run->cfg, point, "data.p"), n);
    lr_ntk_data *d = lr_ntk_data_alloc(n, st->K);
    lr_ntk_kernel_opts ko = st->kopts;
    lr_ntk_kernel_plan *kp = lr_ntk_kernel_plan_alloc(n, L, &ko);
    lr_ntk_equiv_plan *ep = lr_ntk_equiv_plan_alloc(n, st->K);
    lr_ntk_spec_plan *sp = lr_ntk_spec_plan_alloc(n, st->top);
    double *wv = malloc((2 * n + 2 * st->top + 1) * sizeof(double));
    int s = d && kp && ep && sp && wv ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    if (s == LR_OK) s = lr_ntk_point_data(run, point, rng, &X, w->labels, d);
    lr_mat CK = lr_mat_wrap(w->ck, n, n), NTK = lr_mat_wrap(w->ntk, n, n), Kt = lr_mat_wrap(w->kt, n, n);
    lr_mat CKc = lr_mat_wrap(w->ckc, n, n), E = lr_mat_wrap(w->emp, n, n);
    /* The inputs of the finite networks: the training samples, then (a dump) the test ones. */
    size_t N = st->real ? n + st->R.n_test : n;
    lr_mat Xall = X;
    if (s == LR_OK && st->real) {
        Xall = lr_mat_wrap(w->x, st->R.p, N);
        memcpy(w->x, st->R.X.data, st->R.p * n * sizeof(double));
        memcpy(w->x + st->R.p * n, st->R.Xtest.data, st->R.p * st->R.n_test * sizeof(double));
        X = lr_mat_view(Xall, 0, 0, st->R.p, n);
    }
    for (size_t a = 0; s == LR_OK && a < st->nact; a++) {
        double t0 = lr_wall_seconds();
        double *row = rows + a * ncols;
        lr_run_fill_row(run, row, point, trial, a, 0);
        if (st->real) { /* a dump fixes p and n, whatever data.p and data.n say */
            row[st->c_p] = (double)st->R.p, row[st->c_n] = (double)n;
        }
        lr_ntk_act acts[LR_NTK_MAX_LAYERS], cacts[LR_NTK_MAX_LAYERS];
        lr_ntk_acts(st, a, L, acts);
        lr_ntk_kernel_info info, cinfo;
        int dirac = 0;
        for (size_t l = 0; l < L; l++) dirac |= lr_ntk_act_has_dirac(&acts[l]);
        double tau0 = sqrt(d->tau0sq);
        s = exact_ck(st, kp, X, acts, L, tau0, CK, dirac ? (lr_mat){NULL, 0, 0, 1} : NTK, &info);
        if (s != LR_OK) break;
        lr_ntk_coef coef[LR_NTK_MAX_LAYERS + 1];
        s = lr_ntk_recursion(tau0, info.keyq, L, LR_NTK_TAU_RTOL, coef);
        if (s != LR_OK) break;
        row[st->c_tau0] = tau0;
        row[st->c_tau0_emp] = sqrt(d->tau0sq_emp);
        row[st->c_tauL] = coef[L].tau;
        row[st->c_trunc] = info.trunc_max;
        row[st->c_ntk_defined] = info.ntk_defined;
        double err, normK, rel;
        /* CK: both identity rules; eigenpairs on the matched one. */
        static const lr_ntk_diag diags[2] = {LR_NTK_DIAG_MATCHED, LR_NTK_DIAG_THEORY};
        const int ck_cols[2] = {st->c_ck_err, st->c_ck_err_theory}, ntk_cols[2] = {st->c_ntk_err, st->c_ntk_err_theory};
        for (int g = 0; s == LR_OK && g < 2; g++) {
            s = lr_ntk_equiv_kernel(ep, coef, L, LR_NTK_KIND_CK, diags[g], X, d, Kt);
            if (s == LR_OK) s = lr_ntk_rel_err(sp, CK, Kt, &rel, &err, &normK);
            if (s == LR_OK) row[ck_cols[g]] = rel, row[st->c_ck_norm] = normK;
            if (s == LR_OK && g == 0) {
                double sub;
                s = lr_ntk_eig_align(sp, CK, Kt, st->top, wv, wv + st->top, wv + 2 * st->top, &sub);
                row[st->c_ck_align] = sub, row[st->c_eig1] = wv[0], row[st->c_eig1_equiv] = wv[st->top];
            }
        }
        for (int g = 0; s == LR_OK && g < 2 && info.ntk_defined && isfinite(coef[L].kappa2); g++) {
            s = lr_ntk_equiv_kernel(ep, coef, L, LR_NTK_KIND_NTK, diags[g], X, d, Kt);
            if (s == LR_OK) s = lr_ntk_rel_err(sp, NTK, Kt, &rel, &err, &normK);
            if (s == LR_OK) row[ntk_cols[g]] = rel;
            if (s == LR_OK && g == 0) {
                double sub;
                s = lr_ntk_eig_align(sp, NTK, Kt, st->top, wv, wv + st->top, wv + 2 * st->top, &sub);
                row[st->c_ntk_align] = sub;
            }
        }
        if (s != LR_OK) break;
        /* The compressed network. */
        lr_ntk_compressed_layer cl[LR_NTK_MAX_LAYERS];
        double shift;
        s = lr_ntk_compress_net(acts, L, tau0, &st->mopts, NULL, cl, &shift);
        if (s != LR_OK) break;
        int ok = 1;
        double resid = 0;
        for (size_t l = 0; l < L; l++) {
            cacts[l] = cl[l].m.act;
            ok &= cl[l].m.converged;
            resid = fmax(resid, cl[l].m.resid_max);
        }
        row[st->c_comp_ok] = ok, row[st->c_comp_resid] = resid, row[st->c_comp_shift] = shift;
        row[st->c_comp_last] = (double)cl[L - 1].m.kind;
        s = exact_ck(st, kp, X, cacts, L, tau0, CKc, (lr_mat){NULL, 0, 0, 1}, &cinfo);
        if (s == LR_OK) s = lr_ntk_rel_err(sp, CK, CKc, &rel, &err, &normK);
        if (s == LR_OK) row[st->c_ck_err_comp_noshift] = rel;
        for (size_t i = 0; s == LR_OK && i < n; i++) LR_AT(CKc, i, i) += shift;
        if (s == LR_OK) s = lr_ntk_rel_err(sp, CK, CKc, &rel, &err, &normK);
        if (s == LR_OK) row[st->c_ck_err_comp] = rel;
        for (size_t i = 0; s == LR_OK && i < n; i++) LR_AT(CKc, i, i) -= shift;
        /* Finite networks. */
        if (s == LR_OK && width) {
            lr_mat F = lr_mat_wrap(w->fa, width, N), Fc = lr_mat_wrap(w->fb, width, N);
            s = empirical_ck(st, w, rng, acts, info.centre, L, width, -1.0, Xall, n, E, F);
            if (s == LR_OK) s = lr_ntk_rel_err(sp, CK, E, &rel, &err, &normK);
            if (s == LR_OK) row[st->c_emp_err] = rel;
            if (s == LR_OK) s = empirical_ck(st, w, rng, cacts, cinfo.centre, L, width, eps, Xall, n, E, Fc);
            if (s == LR_OK) s = lr_ntk_rel_err(sp, CKc, E, &rel, &err, &normK);
            if (s == LR_OK) row[st->c_emp_err_comp] = rel;
            double nw = (double)X.rows * (double)width + (double)(L - 1) * (double)width * (double)width;
            lr_ntk_memory mem = lr_ntk_memory_bits(nw, eps);
            row[st->c_bits_dense] = mem.dense_bits, row[st->c_bits_comp] = mem.ternary_bits;
            row[st->c_bits_entropy] = mem.entropy_bits;
            if (s == LR_OK && st->real) {
                /* The ridge systems reuse the n x n buffers (m x m, m = min(width, n) <= n). */
                double acc, sel;
                lr_mat Ft = lr_mat_view(F, 0, n, width, st->R.n_test), Fn = lr_mat_view(F, 0, 0, width, n);
                s = ridge_select(Fn, st->R.labels, Ft, st->R.labels_test, st->K, st->ridge, st->nridge, 0.0, w->kt,
                                 w->emp, &sel, &acc);
                row[st->c_acc_dense] = acc, row[st->c_ridge_dense] = sel;
                Ft = lr_mat_view(Fc, 0, n, width, st->R.n_test), Fn = lr_mat_view(Fc, 0, 0, width, n);
                if (s == LR_OK)
                    s = ridge_select(Fn, st->R.labels, Ft, st->R.labels_test, st->K, st->ridge, st->nridge, 0.0, w->kt,
                                     w->emp, &sel, &acc);
                row[st->c_acc_comp] = acc, row[st->c_ridge_comp] = sel;
                /* The diagnosis of a gap: the compressed kernel with the identity shift put back
                 * (F^T F + shift I, the limit's K_CK). */
                if (s == LR_OK)
                    s = ridge_select(Fn, st->R.labels, Ft, st->R.labels_test, st->K, st->ridge, st->nridge, shift, w->kt,
                                     w->emp, &sel, &acc);
                row[st->c_acc_comp_shifted] = acc;
            }
        }
        row[st->c_eig_fallback] = (double)(lr_ntk_spec_dsyevd_fallbacks(sp) + lr_ntk_spec_plan_fallbacks(sp));
        seconds[a] = lr_wall_seconds() - t0;
    }
    free(wv);
    lr_ntk_spec_plan_free(sp);
    lr_ntk_equiv_plan_free(ep);
    lr_ntk_kernel_plan_free(kp);
    lr_ntk_data_free(d);
    return s;
}

const lr_experiment lr_experiment_ntk = {
    .name = "ntk",
    .description = "\"lossless\" ternary compression (Gu et al. 2022): exact CK/NTK kernels, their random-matrix "
                   "equivalents, the compressed network's kernel, finite networks and a ridge head",
    .schema = lr_ntk_schema,
    .includes = NULL,
    .summaries = 0,
    .prepare = lr_ntk_prepare,
    .ws_alloc = ntk_ws_alloc,
    .ws_free = ntk_ws_free,
    .unit = ntk_unit,
    .release = lr_ntk_release,
    .write_results = lr_ntk_write_results,
    .report = lr_ntk_report,
    .verdict = lr_ntk_verdict,
    .plot = lr_ntk_plot,
};
