/* Experiment `ntk`: its config keys, the checks across them, the real data, and the
 * /trials columns.  The unit is in ntk.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/dump.h"
#include "ntk.h"

static const char *preset_names(size_t i) { return lr_gmm_preset_name_at(i); }

const lr_key lr_ntk_schema[] = {
    {.path = "data.source", .type = LR_KEY_STRING, .def = NAN, .def_str = "gmm", .choices = "gmm|dump",
     .doc = "a K-class Gaussian mixture (data.preset), or the inputs and labels of a layer dump (data.dump)"},
    {.path = "data.preset", .type = LR_KEY_STRING, .def = NAN, .def_str = "gu22", .names = preset_names,
     .doc = "the mixture: gu22 (means 8 e_{8a+1}, covariances (1 + 8a/sqrt p) I), gu22_mean, gu22_cov"},
    {.path = "data.classes", .type = LR_KEY_INT, .def = 2, .min = 1, .max = 64,
     .doc = "classes K of the mixture (equal proportions)"},
    {.path = "data.p", .type = LR_KEY_INT, .sweepable = 1, .def = 256, .min = 2, .max = 1e5,
     .doc = "dimension p of the mixture (zip it with data.n for a fixed p / n)"},
    {.path = "data.n", .type = LR_KEY_INT, .sweepable = 1, .def = 512, .min = 4, .max = 2e4,
     .doc = "samples n (a dump: at most this many training samples, every class in proportion)"},
    {.path = "data.norms", .type = LR_KEY_STRING, .def = NAN, .def_str = "theory", .choices = "theory|with_means",
     .doc = "tau_0, t and psi as docs/theory.md writes them, or with the means' share ||mu_a||^2 / p put back"},
    {.path = "data.dump", .type = LR_KEY_STRING, .def = NAN, .def_str = "",
     .doc = "data.source = \"dump\": a layer dump with /inputs and labels (data/README.md)"},
    {.path = "data.keep_classes", .type = LR_KEY_INT_LIST, .def = NAN, .def_str = "[0, 1]", .max = 1e6,
     .doc = "data.source = \"dump\": the labels kept, in this order"},
    {.path = "data.n_test", .type = LR_KEY_INT, .def = 0, .max = 1e6,
     .doc = "data.source = \"dump\": at most this many test samples (0: every one of the kept classes)"},
    {.path = "network.depth", .type = LR_KEY_INT, .sweepable = 1, .def = 3, .min = 1, .max = LR_NTK_MAX_LAYERS,
     .doc = "layers L of the fully connected network"},
    {.path = "network.activations", .type = LR_KEY_STRING_LIST, .def = NAN, .def_str = "[\"relu\"]",
     .doc = "one block of rows per activation, every layer the same: relu, leaky_relu(a_minus,a_plus), tanh, erf, "
            "sigmoid, sin, cos, abs, sign, step, linear, quad(c0,c1,c2), sigma_T(a,s1,s2), sigma_Q(b1,b2,r1,r2)"},
    {.path = "network.width", .type = LR_KEY_INT, .sweepable = 1, .def = 0, .max = 1e5,
     .doc = "width of the finite random networks (empirical CK, ridge features); 0: none"},
    {.path = "network.draws", .type = LR_KEY_INT, .def = 1, .min = 1, .max = 1000,
     .doc = "finite networks per trial whose empirical CK is averaged"},
    {.path = "network.eps", .type = LR_KEY_REAL, .sweepable = 1, .def = 0, .min = 0, .max = 0.999,
     .doc = "sparsity of the compressed network's ternary weights: 0 with probability eps"},
    {.path = "ntk.method", .type = LR_KEY_STRING, .def = NAN, .def_str = "auto", .choices = "auto|closed|mehler|reference",
     .doc = "exact kernels: closed forms where known, else Mehler's series (auto), or one method for all"},
    {.path = "ntk.mehler_order", .type = LR_KEY_INT, .def = LR_NTK_KERNEL_ORDER, .min = 2, .max = 4096,
     .doc = "Hermite orders of Mehler's series (its truncation bound is recorded per row)"},
    {.path = "ntk.top", .type = LR_KEY_INT, .def = 4, .min = 1, .max = 256,
     .doc = "top eigenpairs of K and K~ compared (alignment of their eigenvectors)"},
    {.path = "ntk.ridge", .type = LR_KEY_REAL_LIST, .def = NAN, .def_str = "[1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]",
     .min = 1e-12, .max = 1e6,
     .doc = "ridges of the classifier, relative to tr(F^T F) / n; each network takes the best on a holdout of "
            "its training set (every fifth sample)"},
    {.path = "ntk.match.tol", .type = LR_KEY_REAL, .def = 1e-8, .min = 1e-15, .max = 1,
     .doc = "largest scaled residual of a sigma_T / sigma_Q fit that counts as a solution"},
    {.path = "ntk.match.grid", .type = LR_KEY_INT, .def = 81, .min = 3, .max = 2001,
     .doc = "grid points per axis of the fits' starts, u = s / tau in [-4, 4]"},
    {.path = "ntk.match.starts", .type = LR_KEY_INT, .def = 8, .min = 1, .max = 64,
     .doc = "grid points refined by nonlinear least squares"},
    {.path = "ntk.spectra", .type = LR_KEY_BOOL, .def = 1,
     .doc = "store every eigenvalue of K_CK, K~_CK and the compressed CK at the last point (trial 0)"},
    {.path = NULL}};

/* ---- real data ---- */

static void real_free(ntk_real *R)
{
    lr_free(R->X.data), lr_free(R->Xtest.data);
    free(R->labels), free(R->labels_test);
    lr_class_stats_free(R->stats);
    memset(R, 0, sizeof *R);
}

/* Inputs [first, first + N) of the dump, as p x N columns with labels. */
static int read_inputs(const lr_dump *d, size_t first, size_t N, lr_mat *D, size_t *labels)
{
    size_t p = d->input_dim;
    lr_mat x = lr_mat_wrap(lr_malloc(N * p * sizeof(double)), N, p);
    long *lab = lr_malloc(N * sizeof(long));
    *D = lr_mat_wrap(lr_malloc(N * p * sizeof(double)), p, N);
    int s = x.data && lab && D->data ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    if (s == LR_OK) s = lr_dump_read_inputs(d, first, N, x, lab);
    for (size_t j = 0; s == LR_OK && j < N; j++) {
        for (size_t i = 0; i < p; i++) LR_AT(*D, i, j) = LR_AT(x, j, i);
        labels[j] = lab[j] < 0 ? (size_t)-1 : (size_t)lab[j];
    }
    lr_free(x.data), lr_free(lab);
    return s;
}

/* Keep at most nmax columns of D whose labels are among classes, every class in proportion
 * (largest remainder), the first ones of each class: D and labels compacted in place. */
static int subsample(lr_mat *D, size_t *labels, const size_t *classes, size_t K, size_t nmax, size_t *N)
{
    size_t counts[64], keep[64], total;
    LR_TRY(lr_real_select_count(labels, *N, classes, K, counts, &total));
    if (nmax >= total) return LR_OK;
    double pi[64];
    for (size_t k = 0; k < K; k++) pi[k] = (double)counts[k] / (double)total;
    LR_TRY(lr_gmm_counts(pi, K, nmax, keep));
    size_t out = 0, seen[64] = {0};
    for (size_t j = 0; j < *N; j++) {
        size_t k = 0;
        while (k < K && classes[k] != labels[j]) k++;
        if (k == K || seen[k] >= keep[k]) continue;
        seen[k]++;
        if (out != j) {
            memcpy(&LR_AT(*D, 0, out), &LR_AT(*D, 0, j), D->rows * sizeof(double));
            labels[out] = labels[j];
        }
        out++;
    }
    *N = out;
    D->cols = out;
    return LR_OK;
}

static int prepare_real(lr_run *run, ntk_state *st)
{
    const lr_config *c = run->cfg;
    char where[512];
    if (!lr_config_str(c, "data.dump")[0])
        LR_ERRORF(LR_ECONFIG, "%s: data.source = \"dump\" needs data.dump (a layer dump with labelled inputs)",
                  lr_config_where(c, "data.source", where, sizeof where));
    for (size_t a = 0; a < lr_config_naxes(c); a++)
        if (!strcmp(lr_config_axis_path(c, a), "data.p") || !strcmp(lr_config_axis_path(c, a), "data.n"))
            LR_ERRORF(LR_ECONFIG, "%s: a dump's inputs fix p and n: sweep the network instead",
                      lr_config_where(c, lr_config_axis_path(c, a), where, sizeof where));
    LR_TRY(lr_dump_resolve(c, "data.dump", st->dump_path, sizeof st->dump_path));
    lr_dump *d = NULL;
    LR_TRY(lr_dump_open(st->dump_path, &d));
    lr_file_sha256(st->dump_path, st->dump_sha);
    int s = LR_OK;
    if (!d->has_inputs || !d->has_labels || d->n_calib < 2 || d->n_calib >= d->n_inputs)
        s = lr_error(LR_EDATA, __FILE__, __LINE__,
                     "%s: needs /inputs with labels, split into training (the calibration samples) and test samples",
                     st->dump_path);
    const long *kc;
    size_t K = lr_config_int_list(c, "data.keep_classes", &kc), classes[64];
    if (s == LR_OK && (K < 2 || K > 64))
        s = lr_error(LR_ECONFIG, __FILE__, __LINE__, "%s: keep 2 to 64 classes, got %zu",
                     lr_config_where(c, "data.keep_classes", where, sizeof where), K);
    for (size_t k = 0; s == LR_OK && k < K; k++) classes[k] = (size_t)kc[k];
    ntk_real *R = &st->R;
    size_t Ntr = d->n_calib, Nte = d->n_inputs - d->n_calib;
    size_t *ltr = calloc(Ntr, sizeof *ltr), *lte = calloc(Nte, sizeof *lte);
    lr_mat Dtr = {0}, Dte = {0};
    if (s == LR_OK && (!ltr || !lte)) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    if (s == LR_OK) s = read_inputs(d, 0, Ntr, &Dtr, ltr);
    if (s == LR_OK) s = read_inputs(d, d->n_calib, Nte, &Dte, lte);
    if (s == LR_OK) s = subsample(&Dtr, ltr, classes, K, (size_t)lr_config_num(c, 0, "data.n"), &Ntr);
    size_t nte_max = (size_t)lr_config_num(c, 0, "data.n_test");
    if (s == LR_OK) s = subsample(&Dte, lte, classes, K, nte_max ? nte_max : Nte, &Nte);
    size_t counts[64];
    if (s == LR_OK) s = lr_real_select_count(ltr, Ntr, classes, K, counts, &R->n);
    if (s == LR_OK) s = lr_real_select_count(lte, Nte, classes, K, counts, &R->n_test);
    if (s == LR_OK && (R->n < 2 * K || R->n_test < 1))
        s = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: the kept classes have %zu training and %zu test samples",
                     st->dump_path, R->n, R->n_test);
    R->p = d->input_dim, R->K = K;
    if (s == LR_OK) {
        R->X = lr_mat_wrap(lr_malloc(R->p * R->n * sizeof(double)), R->p, R->n);
        R->Xtest = lr_mat_wrap(lr_malloc(R->p * R->n_test * sizeof(double)), R->p, R->n_test);
        R->labels = calloc(R->n, sizeof(size_t)), R->labels_test = calloc(R->n_test, sizeof(size_t));
        R->stats = lr_class_stats_alloc(R->p, K);
        if (!R->X.data || !R->Xtest.data || !R->labels || !R->labels_test || !R->stats)
            s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    }
    if (s == LR_OK) s = lr_real_normalise(Dtr, ltr, classes, K, R->X, R->labels, &R->scale, R->stats);
    /* The test samples with the training set's own centre and scale (its mean, recomputed:
     * lr_real_normalise centres by the mean of the selected training columns). */
    if (s == LR_OK) {
        double *mean = calloc(R->p, sizeof(double));
        if (!mean) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        size_t m = 0;
        for (size_t j = 0; s == LR_OK && j < Ntr; j++) {
            size_t k = 0;
            while (k < K && classes[k] != ltr[j]) k++;
            if (k == K) continue;
            for (size_t i = 0; i < R->p; i++) mean[i] += LR_AT(Dtr, i, j);
            m++;
        }
        size_t out = 0;
        for (size_t j = 0; s == LR_OK && j < Nte; j++) {
            size_t k = 0;
            while (k < K && classes[k] != lte[j]) k++;
            if (k == K) continue;
            for (size_t i = 0; i < R->p; i++) LR_AT(R->Xtest, i, out) = (LR_AT(Dte, i, j) - mean[i] / (double)m) / R->scale;
            R->labels_test[out++] = k;
        }
        free(mean);
    }
    st->K = K;
    lr_free(Dtr.data), lr_free(Dte.data);
    free(ltr), free(lte);
    lr_dump_close(d);
    if (s == LR_OK)
        s = lr_run_note(run, "%s: %zu training and %zu test samples of %zu classes, p = %zu (scaled by 1/%.6g)",
                        st->dump_path, R->n, R->n_test, K, R->p, R->scale);
    return s;
}

/* ---- columns ---- */

static int declare_columns(lr_run *run, ntk_state *st)
{
    static const char *const paths[] = {"data.p", "data.n", "network.depth", "network.width", "network.eps"};
    static const char *const names[] = {"p", "n", "depth", "width", "eps"};
    LR_TRY(lr_run_trial_columns(run, paths, names, 5));
    st->c_p = st->c_n = -1;
    for (size_t i = 0; i < run->nparam_cols; i++) {
        if (!strcmp(run->param_cols[i].path, "data.p")) st->c_p = run->param_cols[i].column;
        if (!strcmp(run->param_cols[i].path, "data.n")) st->c_n = run->param_cols[i].column;
    }
    if (st->c_p < 0 || st->c_n < 0) LR_ERROR(LR_ENOMEM, "ntk: the p and n columns are missing");
    for (size_t a = 0; a < st->nact; a++)
        if (lr_table_dict_index(run->trials, (size_t)run->col.compressor, st->act_name[a]) < 0)
            LR_ERROR(LR_ENOMEM, "out of memory");
    struct {
        int *slot;
        const char *name;
        lr_col_type type;
        const char *doc;
    } cols[] = {
        {&st->c_tau0, "tau0", LR_COL_REAL, "tau_0 of the recursions (data.norms) and of the exact kernels"},
        {&st->c_tau0_emp, "tau0_emp", LR_COL_REAL, "sqrt of the mean squared norm of the samples"},
        {&st->c_tauL, "tauL", LR_COL_REAL, "tau_L, the last layer's scale"},
        {&st->c_ck_norm, "ck_norm", LR_COL_REAL, "||K_CK||_2 of the exact limiting CK"},
        {&st->c_ck_err, "ck_err", LR_COL_REAL,
         "||K_CK - K~_CK||_2 / ||K_CK||_2, identity term matched to the diagonal (tau_L^2 - tau_0^2 alpha_{L,1})"},
        {&st->c_ck_err_theory, "ck_err_theory", LR_COL_REAL,
         "the same with docs/theory.md's identity term (also - tau_0^4 alpha_{L,3})"},
        {&st->c_ntk_err, "ntk_err", LR_COL_REAL, "||K_NTK - K~_NTK||_2 / ||K_NTK||_2, matched identity term (NaN: no NTK)"},
        {&st->c_ntk_err_theory, "ntk_err_theory", LR_COL_REAL, "the same with docs/theory.md's identity term"},
        {&st->c_ck_align, "ck_align", LR_COL_REAL, "||U^T U~||_F^2 / m of the top ntk.top eigenvectors of K_CK and K~_CK"},
        {&st->c_ntk_align, "ntk_align", LR_COL_REAL, "the same for the NTK"},
        {&st->c_eig1, "ck_eig1", LR_COL_REAL, "largest eigenvalue of K_CK"},
        {&st->c_eig1_equiv, "ck_eig1_equiv", LR_COL_REAL, "largest eigenvalue of K~_CK (matched)"},
        {&st->c_ntk_defined, "ntk_defined", LR_COL_FLAG, "0: some sigma' holds a Dirac mass, the NTK does not exist"},
        {&st->c_comp_ok, "comp_converged", LR_COL_FLAG, "every layer's sigma_T / sigma_Q fit reached ntk.match.tol"},
        {&st->c_comp_resid, "comp_resid", LR_COL_REAL, "largest scaled residual of the fits over the layers"},
        {&st->c_comp_last, "comp_last_levels", LR_COL_INT, "the last layer's activation: 4 sigma_Q (scale matched), 3 sigma_T"},
        {&st->c_comp_shift, "comp_shift", LR_COL_REAL, "identity shift tau_L^2 - ~tau_L^2 of the compressed network"},
        {&st->c_ck_err_comp, "ck_err_comp", LR_COL_REAL,
         "||K_CK - (K_CK,compressed + shift I)||_2 / ||K_CK||_2, both exact limiting kernels"},
        {&st->c_ck_err_comp_noshift, "ck_err_comp_noshift", LR_COL_REAL, "the same without the shift"},
        {&st->c_emp_err, "emp_err", LR_COL_REAL,
         "||CK_emp - K_CK||_2 / ||K_CK||_2: finite networks of network.width, Gaussian weights (NaN: width 0)"},
        {&st->c_emp_err_comp, "emp_err_comp", LR_COL_REAL,
         "the same for the compressed network (ternary weights, sigma_T / sigma_Q) against its exact CK"},
        {&st->c_acc_dense, "acc_dense", LR_COL_REAL, "dump: test accuracy of the ridge head on the dense random network's features"},
        {&st->c_acc_comp, "acc_comp", LR_COL_REAL, "the same on the compressed network's features"},
        {&st->c_acc_comp_shifted, "acc_comp_shifted", LR_COL_REAL,
         "the compressed network's head on the kernel F^T F + comp_shift I (the identity shift put back; dual form)"},
        {&st->c_ridge_dense, "ridge_dense", LR_COL_REAL, "the relative ridge the dense network's head chose"},
        {&st->c_ridge_comp, "ridge_comp", LR_COL_REAL, "the relative ridge the compressed network's head chose"},
        {&st->c_bits_dense, "bits_dense", LR_COL_REAL, "memory of the finite network's weights, 32 bits each"},
        {&st->c_bits_comp, "bits_comp", LR_COL_REAL, "compressed: (1 - eps) bits per weight (docs/theory.md's count)"},
        {&st->c_bits_entropy, "bits_entropy", LR_COL_REAL, "compressed with the zeros' positions: (H(eps) + 1 - eps) bits per weight"},
        {&st->c_eig_fallback, "eig_fallbacks", LR_COL_INT,
         "spectral calls of the unit so far that fell back: Lanczos to dsyevr (not converged), dsyevr to dsyevd (too few pairs)"},
        {&st->c_trunc, "mehler_trunc", LR_COL_REAL, "largest truncation bound of Mehler's series in the exact kernels (0: closed forms)"},
    };
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        LR_TRY(lr_run_add_column(run, cols[i].slot, cols[i].name, cols[i].type, cols[i].doc));
    return LR_OK;
}

/* ---- prepare ---- */

static int parse_acts(const lr_config *c, ntk_state *st)
{
    const char *const *v;
    char where[512], names[512];
    st->nact = lr_config_str_list(c, "network.activations", &v);
    if (!st->nact || st->nact > NTK_MAX_ACTS)
        LR_ERRORF(LR_ECONFIG, "%s: 1 to %d activations, got %zu", lr_config_where(c, "network.activations", where, sizeof where),
                  NTK_MAX_ACTS, st->nact);
    for (size_t a = 0; a < st->nact; a++) {
        if (lr_ntk_act_parse(v[a], &st->act[a]) != LR_OK)
            LR_ERRORF(LR_ECONFIG, "%s: \"%s\" is not an activation (known: %s)",
                      lr_config_where(c, "network.activations", where, sizeof where), v[a],
                      lr_ntk_act_names(names, sizeof names));
        snprintf(st->act_name[a], sizeof st->act_name[a], "%s", v[a]);
        for (size_t b = 0; b < a; b++)
            if (!strcmp(st->act_name[a], st->act_name[b]))
                LR_ERRORF(LR_ECONFIG, "%s: \"%s\" is listed twice", lr_config_where(c, "network.activations", where, sizeof where),
                          v[a]);
    }
    return LR_OK;
}

int lr_ntk_prepare(lr_run *run, void **state)
{
    const lr_config *c = run->cfg;
    ntk_state *st = calloc(1, sizeof *st);
    *state = st;
    if (!st) LR_ERROR(LR_ENOMEM, "out of memory");
    char where[512];
    LR_TRY(parse_acts(c, st));
    st->real = !strcmp(lr_config_str(c, "data.source"), "dump");
    st->norms = strcmp(lr_config_str(c, "data.norms"), "theory") ? LR_NTK_NORMS_WITH_MEANS : LR_NTK_NORMS_THEORY;
    const char *m = lr_config_str(c, "ntk.method");
    st->method = !strcmp(m, "closed") ? LR_NTK_KERNEL_CLOSED
                 : !strcmp(m, "mehler") ? LR_NTK_KERNEL_MEHLER
                 : !strcmp(m, "reference") ? LR_NTK_KERNEL_REFERENCE
                                           : LR_NTK_KERNEL_AUTO;
    st->kopts = lr_ntk_kernel_defaults();
    st->kopts.mehler_order = (size_t)lr_config_num(c, 0, "ntk.mehler_order");
    st->mopts = lr_ntk_match_defaults();
    st->mopts.tol = lr_config_num(c, 0, "ntk.match.tol");
    st->mopts.grid_n = (size_t)lr_config_num(c, 0, "ntk.match.grid");
    st->mopts.starts = (size_t)lr_config_num(c, 0, "ntk.match.starts");
    st->top = (size_t)lr_config_num(c, 0, "ntk.top");
    st->nridge = lr_config_real_list(c, "ntk.ridge", &st->ridge);
    if (!st->nridge)
        LR_ERRORF(LR_ECONFIG, "%s: give at least one ridge", lr_config_where(c, "ntk.ridge", where, sizeof where));
    st->draws = (size_t)lr_config_num(c, 0, "network.draws");
    if (st->real) {
        LR_TRY(prepare_real(run, st));
    } else {
        int pr = lr_gmm_preset_parse(lr_config_str(c, "data.preset"));
        st->preset = pr;
        st->K = (size_t)lr_config_num(c, 0, "data.classes");
    }
    for (size_t p = 0; p < run->npoints; p++) {
        size_t dim = st->real ? st->R.p : (size_t)lr_config_num(c, p, "data.p");
        size_t n = st->real ? st->R.n : (size_t)lr_config_num(c, p, "data.n");
        size_t L = (size_t)lr_config_num(c, p, "network.depth"), w = (size_t)lr_config_num(c, p, "network.width");
        if (!st->real && dim < 8 * (st->K - 1) + 1)
            LR_ERRORF(LR_ECONFIG, "%s: the preset's means 8 e_{8a+1} need p >= %zu for %zu classes, got %zu at sweep point %zu",
                      lr_config_where(c, "data.p", where, sizeof where), 8 * (st->K - 1) + 1, st->K, dim, p);
        if (!st->real && n < 2 * st->K)
            LR_ERRORF(LR_ECONFIG, "%s: n = %zu is too small for %zu classes at sweep point %zu",
                      lr_config_where(c, "data.n", where, sizeof where), n, st->K, p);
        if (st->top > n)
            LR_ERRORF(LR_ECONFIG, "%s: ntk.top = %zu exceeds n = %zu at sweep point %zu",
                      lr_config_where(c, "ntk.top", where, sizeof where), st->top, n, p);
        if (st->real && !w)
            LR_ERRORF(LR_ECONFIG, "%s: a dump's accuracy needs finite networks: set network.width > 0",
                      lr_config_where(c, "network.width", where, sizeof where));
        if (dim > st->max_p) st->max_p = dim;
        if (n > st->max_n) st->max_n = n;
        if (w > st->max_width) st->max_width = w;
        if (L > st->max_depth) st->max_depth = L;
    }
    if (st->real && st->R.n_test > st->max_n) st->max_n = st->R.n_test;
    st->spectra_point = lr_config_num(c, 0, "ntk.spectra") ? (long)run->npoints - 1 : -1;
    LR_TRY(lr_run_use_own_bounds(run, NULL, 0, "bounds.names"));
    LR_TRY(lr_run_use_rank_offsets(run, NULL, 1));
    LR_TRY(lr_run_set_layout(run, st->nact, 0));
    return declare_columns(run, st);
}

void lr_ntk_release(void *state)
{
    ntk_state *st = state;
    if (!st) return;
    real_free(&st->R);
    free(st);
}

void lr_ntk_acts(const ntk_state *st, size_t a, size_t L, lr_ntk_act *acts)
{
    for (size_t l = 0; l < L; l++) acts[l] = st->act[a];
}

int lr_ntk_point_data(const lr_run *run, size_t point, gsl_rng *rng, lr_mat *X, size_t *labels, lr_ntk_data *d)
{
    const ntk_state *st = run->exp_state;
    if (st->real) {
        *X = st->R.X;
        memcpy(labels, st->R.labels, st->R.n * sizeof *labels);
        return lr_ntk_data_fill(d, st->R.stats, *X, labels, st->norms);
    }
    size_t p = (size_t)lr_config_num(run->cfg, point, "data.p"), n = (size_t)lr_config_num(run->cfg, point, "data.n");
    lr_gmm *g = lr_gmm_alloc(p, st->K, LR_GMM_COV_SCALED);
    lr_class_stats *s = lr_class_stats_alloc(p, st->K);
    int r = g && s ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    if (r == LR_OK) r = lr_gmm_set_preset(g, (lr_gmm_preset)st->preset);
    X->rows = p, X->cols = n, X->ld = p;
    if (r == LR_OK) r = lr_gmm_sample(g, rng, *X, labels);
    if (r == LR_OK) r = lr_gmm_class_stats(g, s);
    if (r == LR_OK) r = lr_ntk_data_fill(d, s, *X, labels, st->norms);
    lr_gmm_free(g);
    lr_class_stats_free(s);
    return r;
}
