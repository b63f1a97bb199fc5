/* `lrlab report` for a `real_layers` results file (the experiment's report hook): per layer, how the dump was checked,
 * the noise-level estimate and how dd_rank, whiten and act_scaled compare with svd_w on
 * the layer error at every rank; Theorem 2(a); then accuracy against parameter ratio. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/h5.h"
#include "io/results_file.h"
#include "report_plot.h"

int lr_real_layers_report(const lr_results_file *rf, FILE *out)
{
    lr_table *T = NULL, *Ly = NULL, *A = NULL;
    int status = lr_h5_read_table(rf->file, "trials", &T);
    if (status == LR_OK) status = lr_h5_read_table(rf->file, "layers", &Ly);
    if (status != LR_OK) {
        lr_table_free(T);
        return status;
    }
    if (lr_h5_read_table(rf->file, "accuracy", &A) != LR_OK) A = NULL;
    char *note = lr_h5_get_attr_str(rf->file, "network_note"), *dump = lr_h5_get_attr_str(rf->file, "dump_path");
    fprintf(out, "dump %s\n%s\n\n", dump ? dump : "?", note ? note : "");
    fprintf(out, "%-22s %-6s %5s %5s %7s %9s %9s %9s %5s %10s\n", "layer", "kind", "N0", "N1", "m", "check", "fwd X",
                 "fwd Y", "q", "sigma_hat");
    int cs = lr_table_col(T, "stage"), cl = lr_table_col(T, "layer_index"), cc = lr_table_col(T, "compressor");
    int cley = lr_table_col(T, "le_svd_w_y");
    int cle = lr_table_col(T, "le_svd_w"), ch = lr_table_col(T, "thm2a_held"), chh = lr_table_col(T, "thm2a_hat_held");
    for (size_t l = 0; l < Ly->nrows; l++) {
        double q = NAN, sh = NAN;
        for (size_t i = 0; i < T->nrows; i++) {
            const double *r = lr_table_row(T, i);
            if ((int)r[cs] == 0 && (size_t)r[cl] == l) {
                q = lr_rf_num(T, i, "q");
                sh = lr_rf_num(T, i, "sigma_hat");
                break;
            }
        }
        fprintf(out, "%-22.22s %-6s %5.0f %5.0f %7.0f %9.2e %9.2e %9.2e %5.0f %10.3e\n", lr_rf_str(Ly, l, "layer"),
                     lr_rf_str(Ly, l, "kind"), lr_rf_num(Ly, l, "N0"), lr_rf_num(Ly, l, "N1"), lr_rf_num(Ly, l, "m_stored"),
                     lr_rf_num(Ly, l, "check_rel"), lr_rf_num(Ly, l, "forward_rel_x"), lr_rf_num(Ly, l, "forward_rel_y"), q, sh);
    }
    fprintf(out, "\nLayer stage (X~ = X), against svd_w's at the same rank: the layer error ||X M - X W||_F\n"
                 "(<= svd_w, only within svd_w's + 2||PG||_F, worse) and the error against the fitted Y\n"
                 "(layers.target), ||X M - Y||_F, which dd_rank minimises exactly (Y: <= svd_w):\n");
    fprintf(out, "%-22s %-11s %6s %8s %10s %8s %12s   %s\n", "layer", "compressor", "ranks", "<= svd_w", "within 2PG", "worse",
                 "Y: <= svd_w", "thm2a held (thm2a_hat held)");
    for (size_t l = 0; l < Ly->nrows; l++)
        for (size_t c = 0; c < T->cols[cc].ndict; c++) {
            size_t n = 0, le = 0, slack = 0, worse = 0, h = 0, hn = 0, hh = 0, hhn = 0, ley = 0;
            for (size_t i = 0; i < T->nrows; i++) {
                const double *r = lr_table_row(T, i);
                if ((int)r[cs] != 0 || (size_t)r[cl] != l || (size_t)r[cc] != c) continue;
                n++;
                le += r[cle] == 1;
                slack += r[cle] == 2;
                worse += r[cle] == 0;
                ley += cley >= 0 && r[cley] == 1;
                if (r[ch] >= 0) hn++, h += r[ch] > 0;
                if (r[chh] >= 0) hhn++, hh += r[chh] > 0;
            }
            if (!n || !strcmp(T->cols[cc].dict[c], "svd_w")) continue;
            fprintf(out, "%-22.22s %-11s %6zu %8zu %10zu %8zu %12zu", lr_rf_str(Ly, l, "layer"), T->cols[cc].dict[c], n, le,
                         slack, worse, ley);
            if (hn) fprintf(out, "   %zu/%zu (%zu/%zu)", h, hn, hh, hhn);
            fprintf(out, "\n");
        }
    if (A && A->nrows) {
        fprintf(out, "\nNetwork: test accuracy after sequential compression (dense %.4f)\n", lr_rf_num(A, 0, "accuracy_dense"));
        fprintf(out, "%-8s %-11s", "budget", "ratio");
        int ac = lr_table_col(A, "compressor");
        for (size_t c = 0; c < A->cols[ac].ndict; c++) fprintf(out, " %11s", A->cols[ac].dict[c]);
        fprintf(out, "\n");
        for (size_t i = 0; i < A->nrows; i++) {
            if (lr_table_row(A, i)[ac] != 0) continue;
            double b = lr_rf_num(A, i, "budget");
            fprintf(out, "%-8.4g %-11.4f", b, lr_rf_num(A, i, "param_ratio"));
            for (size_t c = 0; c < A->cols[ac].ndict; c++)
                for (size_t j = 0; j < A->nrows; j++)
                    if ((size_t)lr_table_row(A, j)[ac] == c && lr_rf_num(A, j, "budget") == b &&
                        lr_rf_num(A, j, "point") == lr_rf_num(A, i, "point"))
                        fprintf(out, " %11.4f", lr_rf_num(A, j, "accuracy"));
            fprintf(out, "\n");
        }
    }
    free(note);
    free(dump);
    lr_table_free(T);
    lr_table_free(Ly);
    lr_table_free(A);
    return LR_OK;
}
