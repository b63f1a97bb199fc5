/* Experiment `ntk`'s own results, all recomputed from /trials and the config (so that a
 * resumed run writes the same file):
 *   /ntk_layers   per point, activation and layer: the key quantities at tau_{l-1}, the
 *                 alpha / beta / tau / kappa recursion, and the compressed network's fit
 *                 (its activation's parameters, residuals, scale);
 *   /ntk_spectra  every eigenvalue of K_CK, K~_CK (matched identity) and the compressed
 *                 network's K_CK + shift I, at the last point, trial 0 (ntk.spectra);
 *   /ntk_fits     log-log slopes of the kernel errors in p, and of the finite networks'
 *                 errors in the width, with 95% intervals, against the theory's -1/2;
 *   root attributes: the data's source (preset or dump path and SHA-256), the norms. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/linalg.h"
#include "core/rng.h"
#include "core/stats.h"
#include "io/h5.h"
#include "ntk.h"

static int add_cols(lr_table *t, const char *const *names, const lr_col_type *types, const char *const *docs, size_t n,
                    int *c)
{
    for (size_t i = 0; i < n; i++) {
        c[i] = lr_table_add_column(t, names[i], types[i], docs[i]);
        if (c[i] < 0) LR_ERROR(LR_ENOMEM, "out of memory");
    }
    return LR_OK;
}

/* The /trials value of column c in the first row of (point, trial 0, activation a). */
static double trial_value(const lr_run *run, size_t point, size_t a, int c)
{
    const ntk_state *st = run->exp_state;
    size_t row = (point * run->ntrials) * st->nact + a;
    return row < run->trials->nrows ? lr_table_row(run->trials, row)[c] : NAN;
}

static int write_layers(const lr_run *run, hid_t file)
{
    const ntk_state *st = run->exp_state;
    enum { NC = 27 };
    static const char *const names[NC] = {"point", "activation", "layer", "tau_in", "mean", "d1", "d2", "sq2", "var",
                                          "d1sq", "alpha1", "alpha2", "alpha3", "alpha4", "beta1", "beta2", "beta3",
                                          "tau", "kappa2", "comp_levels", "comp_p1", "comp_p2", "comp_p3", "comp_p4",
                                          "comp_resid", "comp_converged", "comp_tau_in"};
    static const lr_col_type types[NC] = {LR_COL_INT, LR_COL_NAME, LR_COL_INT, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL,
                                          LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL,
                                          LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL,
                                          LR_COL_REAL, LR_COL_INT, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL, LR_COL_REAL,
                                          LR_COL_REAL, LR_COL_FLAG, LR_COL_REAL};
    static const char *const docs[NC] = {
        "sweep point", "the activation (every layer)", "layer l = 1 .. L", "tau_{l-1}: the scale the quantities are taken at",
        "E sigma(tau xi), the centring constant", "E sigma'", "E sigma''", "E (sigma_c^2)''", "Var sigma",
        "E sigma'^2 (inf: a Dirac mass)", "alpha_{l,1}", "alpha_{l,2}", "alpha_{l,3}", "alpha_{l,4}", "beta_{l,1}",
        "beta_{l,2}", "beta_{l,3}", "tau_l", "kappa_l^2", "compressed activation: 3 sigma_T(a, s1, s2), 4 sigma_Q(b1, b2, r1, r2)",
        "its first parameter", "second", "third", "fourth (sigma_Q)", "largest scaled residual of the fit",
        "1 if the fit reached ntk.match.tol", "~tau_{l-1}: the compressed network's scale"};
    lr_table *t = lr_table_alloc("ntk_layers");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int c[NC];
    int s = add_cols(t, names, types, docs, NC, c);
    double row[NC];
    for (size_t p = 0; s == LR_OK && p < run->npoints; p++) {
        size_t L = (size_t)lr_config_num(run->cfg, p, "network.depth");
        for (size_t a = 0; s == LR_OK && a < st->nact; a++) {
            double tau0 = trial_value(run, p, a, st->c_tau0);
            lr_ntk_act acts[LR_NTK_MAX_LAYERS];
            lr_ntk_acts(st, a, L, acts);
            lr_ntk_keyq kq[LR_NTK_MAX_LAYERS];
            lr_ntk_coef coef[LR_NTK_MAX_LAYERS + 1];
            lr_ntk_compressed_layer cl[LR_NTK_MAX_LAYERS];
            double shift, tau = tau0;
            for (size_t l = 0; s == LR_OK && l < L; l++) {
                s = lr_ntk_keyq_eval(&acts[l], tau, &st->kopts.quad, NULL, &kq[l]);
                tau = sqrt(kq[l].var);
            }
            if (s == LR_OK) s = lr_ntk_recursion(tau0, kq, L, LR_NTK_TAU_RTOL, coef);
            if (s == LR_OK) s = lr_ntk_compress_net(acts, L, tau0, &st->mopts, &st->kopts.quad, cl, &shift);
            int name = lr_table_dict_index(t, (size_t)c[1], st->act_name[a]);
            for (size_t l = 0; s == LR_OK && l < L; l++) {
                const lr_ntk_keyq *q = &kq[l];
                const lr_ntk_coef *k = &coef[l + 1];
                const lr_ntk_match *m = &cl[l].m;
                double v[NC] = {(double)p, name, (double)(l + 1), q->tau, q->mean, q->d1, q->d2, q->sq2, q->var, q->d1sq,
                                k->alpha[0], k->alpha[1], k->alpha[2], k->alpha[3], k->beta[0], k->beta[1], k->beta[2],
                                k->tau, k->kappa2, (double)m->kind, m->act.p[0], m->act.p[1], m->act.p[2],
                                m->kind == LR_NTK_MATCH_Q ? m->act.p[3] : NAN, m->resid_max, m->converged, cl[l].taut_in};
                for (int i = 0; i < NC; i++) row[c[i]] = v[i];
                s = lr_table_append(t, row);
            }
        }
    }
    if (s == LR_OK)
        s = lr_h5_write_table(file, t, "per point, activation and layer: key quantities, recursions, compressed fits");
    lr_table_free(t);
    return s;
}

/* Every eigenvalue of K_CK, K~_CK and K_CK,compressed + shift I at one point (trial 0). */
static int write_spectra(const lr_run *run, hid_t file)
{
    const ntk_state *st = run->exp_state;
    if (st->spectra_point < 0) return LR_OK;
    size_t p = (size_t)st->spectra_point, L = (size_t)lr_config_num(run->cfg, p, "network.depth");
    size_t n = st->real ? st->R.n : (size_t)lr_config_num(run->cfg, p, "data.n");
    size_t dim = st->real ? st->R.p : (size_t)lr_config_num(run->cfg, p, "data.p");
    static const char *const names[4] = {"activation", "kernel", "index", "eigenvalue"};
    static const lr_col_type types[4] = {LR_COL_NAME, LR_COL_NAME, LR_COL_INT, LR_COL_REAL};
    static const char *const docs[4] = {"the activation", "K_CK (exact), K~_CK (equivalent, matched identity) or "
                                        "K_CK_compressed (exact, plus the shift)", "0 = smallest", "eigenvalue"};
    lr_table *t = lr_table_alloc("ntk_spectra");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int c[4];
    int s = add_cols(t, names, types, docs, 4, c);
    gsl_rng *rng = lr_rng_alloc_kind(run->rng_kind);
    double *x = lr_malloc(dim * n * sizeof(double)), *K = lr_malloc(n * n * sizeof(double)), *w = malloc(n * sizeof(double));
    size_t *labels = calloc(n, sizeof *labels);
    lr_ntk_data *d = lr_ntk_data_alloc(n, st->K);
    lr_ntk_kernel_plan *kp = lr_ntk_kernel_plan_alloc(n, L, &st->kopts);
    lr_ntk_equiv_plan *ep = lr_ntk_equiv_plan_alloc(n, st->K);
    lr_eig_plan *eg = lr_eig_plan_alloc(n);
    if (s == LR_OK && (!rng || !x || !K || !w || !labels || !d || !kp || !ep || !eg))
        s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    lr_mat X = lr_mat_wrap(x, dim, n), KM = lr_mat_wrap(K, n, n), none = {NULL, 0, 0, 1};
    /* The unit's stream draws the data first, so the same seed gives the same X. */
    if (s == LR_OK) lr_run_seed_unit(run, rng, p, 0);
    if (s == LR_OK) s = lr_ntk_point_data(run, p, rng, &X, labels, d);
    for (size_t a = 0; s == LR_OK && a < st->nact; a++) {
        lr_ntk_act acts[LR_NTK_MAX_LAYERS], cacts[LR_NTK_MAX_LAYERS];
        lr_ntk_acts(st, a, L, acts);
        double tau0 = sqrt(d->tau0sq), shift;
        lr_ntk_kernel_info info;
        lr_ntk_coef coef[LR_NTK_MAX_LAYERS + 1];
        lr_ntk_compressed_layer cl[LR_NTK_MAX_LAYERS];
        int name = lr_table_dict_index(t, (size_t)c[0], st->act_name[a]);
        for (int k = 0; s == LR_OK && k < 3; k++) {
            static const char *const kn[3] = {"K_CK", "K~_CK", "K_CK_compressed"};
            if (k == 0) s = lr_ntk_kernel_exact(kp, X, acts, L, tau0, st->method, KM, none, &info);
            if (k == 1) {
                s = lr_ntk_recursion(tau0, info.keyq, L, LR_NTK_TAU_RTOL, coef);
                if (s == LR_OK) s = lr_ntk_equiv_kernel(ep, coef, L, LR_NTK_KIND_CK, LR_NTK_DIAG_MATCHED, X, d, KM);
            }
            if (k == 2) {
                s = lr_ntk_compress_net(acts, L, tau0, &st->mopts, &st->kopts.quad, cl, &shift);
                for (size_t l = 0; l < L; l++) cacts[l] = cl[l].m.act;
                if (s == LR_OK) s = lr_ntk_kernel_exact(kp, X, cacts, L, tau0, st->method, KM, none, NULL);
                for (size_t i = 0; s == LR_OK && i < n; i++) LR_AT(KM, i, i) += shift;
            }
            if (s == LR_OK) s = lr_eig_sym(eg, KM, w, none);
            int kname = lr_table_dict_index(t, (size_t)c[1], kn[k]);
            for (size_t i = 0; s == LR_OK && i < n; i++) {
                double row[4];
                row[c[0]] = name, row[c[1]] = kname, row[c[2]] = (double)i, row[c[3]] = w[i];
                s = lr_table_append(t, row);
            }
        }
    }
    if (s == LR_OK) s = lr_h5_write_table(file, t, "every eigenvalue of the kernels at the last sweep point, trial 0");
    gsl_rng_free(rng);
    lr_free(x), lr_free(K), free(w), free(labels);
    lr_ntk_data_free(d);
    lr_ntk_kernel_plan_free(kp);
    lr_ntk_equiv_plan_free(ep);
    lr_eig_plan_free(eg);
    lr_table_free(t);
    return s;
}

/* The /trials column of a parameter path, or -1. */
static int param_col(const lr_run *run, const char *path)
{
    for (size_t i = 0; i < run->nparam_cols; i++)
        if (!strcmp(run->param_cols[i].path, path)) return run->param_cols[i].column;
    return -1;
}

static int write_fits(const lr_run *run, hid_t file)
{
    const ntk_state *st = run->exp_state;
    static const char *const names[11] = {"activation", "quantity", "axis", "fixed", "slope", "slope_lo", "slope_hi",
                                          "theory", "in_interval", "in_band", "n"};
    static const lr_col_type types[11] = {LR_COL_NAME, LR_COL_NAME, LR_COL_NAME, LR_COL_NAME, LR_COL_REAL, LR_COL_REAL,
                                          LR_COL_REAL, LR_COL_REAL, LR_COL_FLAG, LR_COL_FLAG, LR_COL_INT};
    static const char *const docs[11] = {
        "the activation", "the /trials column fitted", "the swept key along which", "the other swept keys' values",
        "least-squares slope of log(quantity) in log(axis)", "95% interval (HC3 t)", "", "the theory's slope (-1/2)",
        "1 if the interval contains the theory's slope", "1 if the slope lies in [-0.6, -0.4] (issue 13's band)",
        "rows fitted"};
    lr_table *t = lr_table_alloc("ntk_fits");
    if (!t) LR_ERROR(LR_ENOMEM, "out of memory");
    int c[11];
    int s = add_cols(t, names, types, docs, 11, c);
    struct {
        const char *axis;
        int col;
        const char *name;
    } q[] = {{"data.p", st->c_ck_err, "ck_err"},          {"data.p", st->c_ck_err_theory, "ck_err_theory"},
             {"data.p", st->c_ntk_err, "ntk_err"},        {"data.p", st->c_ntk_err_theory, "ntk_err_theory"},
             {"data.p", st->c_ck_err_comp, "ck_err_comp"}, {"network.width", st->c_emp_err, "emp_err"},
             {"network.width", st->c_emp_err_comp, "emp_err_comp"}};
    static const char *const others[5] = {"data.p", "data.n", "network.depth", "network.width", "network.eps"};
    size_t nr = run->trials->nrows;
    double *xs = malloc((nr + 1) * sizeof(double)), *ys = malloc((nr + 1) * sizeof(double));
    char *done = calloc(nr + 1, 1);
    if (s == LR_OK && (!xs || !ys || !done)) s = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    for (size_t qi = 0; s == LR_OK && qi < sizeof q / sizeof q[0]; qi++) {
        int ax = param_col(run, q[qi].axis);
        int swept = 0;
        for (size_t a = 0; a < lr_config_naxes(run->cfg); a++) swept |= !strcmp(lr_config_axis_path(run->cfg, a), q[qi].axis);
        if (ax < 0 || !swept) continue;
        /* Groups: rows of one activation whose other parameters (except the axis and its
         * zipped partner data.n) agree. */
        memset(done, 0, nr);
        for (size_t i = 0; s == LR_OK && i < nr; i++) {
            if (done[i]) continue;
            const double *ri = lr_table_row(run->trials, i);
            size_t m = 0;
            char fixed[256] = "";
            for (size_t j = i; j < nr; j++) {
                const double *rj = lr_table_row(run->trials, j);
                int same = rj[run->col.compressor] == ri[run->col.compressor];
                for (int o = 0; o < 5 && same; o++) {
                    int oc = param_col(run, others[o]);
                    if (oc < 0 || !strcmp(others[o], q[qi].axis) || (!strcmp(q[qi].axis, "data.p") && !strcmp(others[o], "data.n")))
                        continue;
                    same = rj[oc] == ri[oc];
                }
                if (!same) continue;
                done[j] = 1;
                xs[m] = rj[ax], ys[m] = rj[q[qi].col], m++;
            }
            for (int o = 0, used = 0; o < 5; o++) {
                int oc = param_col(run, others[o]);
                if (oc < 0 || !strcmp(others[o], q[qi].axis) || (!strcmp(q[qi].axis, "data.p") && !strcmp(others[o], "data.n")))
                    continue;
                used += snprintf(fixed + used, sizeof fixed - (size_t)used, "%s%s=%g", used ? " " : "", others[o], ri[oc]);
                if (used >= (int)sizeof fixed) break;
            }
            lr_fit f;
            if (lr_fit_loglog(xs, ys, m, 0.95, &f) != LR_OK) {
                lr_clear_error();
                continue;
            }
            double row[11];
            double v[11] = {lr_table_dict_index(t, (size_t)c[0], lr_table_name_at(run->trials, i, (size_t)run->col.compressor)),
                            lr_table_dict_index(t, (size_t)c[1], q[qi].name),
                            lr_table_dict_index(t, (size_t)c[2], q[qi].axis), lr_table_dict_index(t, (size_t)c[3], fixed),
                            f.slope, f.slope_lo, f.slope_hi, -0.5, f.slope_lo <= -0.5 && -0.5 <= f.slope_hi,
                            f.slope >= -0.6 && f.slope <= -0.4, (double)f.n};
            for (int k = 0; k < 11; k++) row[c[k]] = v[k];
            s = lr_table_append(t, row);
        }
    }
    free(xs), free(ys), free(done);
    if (s == LR_OK) s = lr_h5_write_table(file, t, "log-log slopes of the kernel errors in p and of the finite networks' in the width");
    lr_table_free(t);
    return s;
}

int lr_ntk_write_results(const lr_run *run, long long fileid)
{
    const ntk_state *st = run->exp_state;
    hid_t file = (hid_t)fileid;
    if (st->real) {
        LR_TRY(lr_h5_attr_str(file, "ntk_source", st->dump_path));
        LR_TRY(lr_h5_attr_str(file, "dump_sha256", st->dump_sha));
    } else {
        LR_TRY(lr_h5_attr_str(file, "ntk_source", lr_config_str(run->cfg, "data.preset")));
    }
    LR_TRY(lr_h5_attr_str(file, "ntk_norms", st->norms == LR_NTK_NORMS_THEORY ? "theory" : "with_means"));
    LR_TRY(lr_h5_attr_i64(file, "ntk_classes", (long long)st->K));
    LR_TRY(write_layers(run, file));
    LR_TRY(write_spectra(run, file));
    return write_fits(run, file);
}
