/* Experiment `real_layers`, its own results tables: /layers (one row per layer: shapes,
 * checks, ranks), /spectra (singular values of W, X and XW per layer) and /accuracy (the
 * network stages per budget).  Everything derives from /trials and from what prepare
 * computed, so that a resumed run writes the same file. */
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
#include "real_layers.h"
#include "run/run.h"

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

int lr_rl_write_results(const lr_run *run, long long fileid)
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
