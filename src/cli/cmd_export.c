/* `lrlab export FILE TABLE [COLUMN ...]`: one table of an HDF5 file (/trials, /points,
 * /fits, /bounds, /layers, ... any compound dataset) as tab-separated text with a header
 * line, for awk, a spreadsheet or pandas.read_csv(sep="\t").  Names print as text,
 * integers and flags as integers, reals with the fewest digits that read back to the same
 * double (15 to 17), NaN as "nan".  With COLUMNs, only those, in that order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "cli/cli.h"
#include "core/error.h"
#include "io/h5.h"
#include "run/table.h"

static const char export_help[] =
    "usage: lrlab export FILE TABLE [COLUMN ...]\n"
    "\n"
    "Print a table of an HDF5 file (e.g. trials, points, fits, bounds; a real_layers file\n"
    "also has layers and accuracy) as tab-separated text: a header line with the column\n"
    "names, then one line per row.  With COLUMNs, only those, in that order.\n"
    "Example: lrlab export results/thm1.h5 points compressor k_target sigma err_fro_median\n";

/* "/trials, /points, ...": the compound datasets at the file's root. */
static void list_tables(hid_t file, char *buf, size_t len)
{
    H5G_info_t info;
    size_t used = 0;
    buf[0] = '\0';
    if (H5Gget_info(file, &info) < 0) return;
    for (hsize_t i = 0; i < info.nlinks && used < len; i++) {
        char name[256];
        if (H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0)
            continue;
        hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
        if (obj < 0) continue;
        if (H5Iget_type(obj) == H5I_DATASET) {
            hid_t t = H5Dget_type(obj);
            if (H5Tget_class(t) == H5T_COMPOUND)
                used += (size_t)snprintf(buf + used, len - used, "%s/%s", used ? ", " : "", name);
            H5Tclose(t);
        }
        H5Oclose(obj);
    }
    if (used >= len && len > 4) snprintf(buf + len - 4, 4, "...");
}

/* x with the fewest significant digits (15..17) that read back as x. */
static void print_real(double x)
{
    if (isnan(x)) {
        fputs("nan", stdout);
        return;
    }
    char buf[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, x);
        if (strtod(buf, NULL) == x) break;
    }
    fputs(buf, stdout);
}

static void print_cell(const lr_table *t, size_t row, int c)
{
    double v = lr_table_row(t, row)[c];
    switch (t->cols[c].type) {
    case LR_COL_NAME: fputs(lr_table_name_at(t, row, (size_t)c), stdout); break;
    case LR_COL_REAL: print_real(v); break;
    case LR_COL_INT:
    case LR_COL_FLAG:
        if (isnan(v)) fputs("nan", stdout);
        else printf("%.0f", v);
        break;
    }
}

/* Open the file and read the table; LR_EDATA with a message naming what is missing. */
static int read_export_table(const char *path, const char *name, lr_table **t)
{
    *t = NULL;
    if (H5Fis_hdf5(path) <= 0) LR_ERRORF(LR_EDATA, "%s: not an HDF5 file (or cannot be read)", path);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) LR_ERRORF(LR_EIO, "%s: cannot open", path);
    int status = LR_OK;
    if (!name[0] || H5Lexists(file, name, H5P_DEFAULT) <= 0 || H5Oexists_by_name(file, name, H5P_DEFAULT) <= 0) {
        char tables[2048];
        list_tables(file, tables, sizeof tables);
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: no table /%s (its tables: %s)", path, name,
                          tables[0] ? tables : "none");
    } else if (lr_h5_read_table(file, name, t) != LR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lr_last_error());
        status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: %s", path, msg);
    }
    H5Fclose(file);
    return status;
}

int lr_cmd_export(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(export_help, stdout);
            return 0;
        }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "lrlab export: unknown option '%s'\n%s", argv[i], export_help);
            return 2;
        }
    if (argc < 3) {
        fputs(export_help, stderr);
        return 2;
    }
    const char *path = argv[1], *name = argv[2];
    while (*name == '/') name++;
    lr_table *t = NULL;
    if (read_export_table(path, name, &t) != LR_OK) return lr_cli_fail();
    size_t ncols = argc > 3 ? (size_t)(argc - 3) : t->ncols;
    int *cols = malloc((ncols ? ncols : 1) * sizeof *cols);
    int status = cols ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    for (size_t j = 0; status == LR_OK && j < ncols; j++) {
        cols[j] = argc > 3 ? lr_table_col(t, argv[3 + j]) : (int)j;
        if (cols[j] < 0) {
            char names[4096];
            size_t used = 0;
            for (size_t c = 0; c < t->ncols && used < sizeof names; c++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", c ? " " : "", t->cols[c].name);
            status = lr_error(LR_EDATA, __FILE__, __LINE__, "%s: /%s has no column '%s' (its columns: %s)", path,
                              name, argv[3 + j], names);
        }
    }
    for (size_t j = 0; status == LR_OK && j < ncols; j++) printf("%s%s", j ? "\t" : "", t->cols[cols[j]].name);
    if (status == LR_OK) putchar('\n');
    for (size_t i = 0; status == LR_OK && i < t->nrows; i++) {
        for (size_t j = 0; j < ncols; j++) {
            if (j) putchar('\t');
            print_cell(t, i, cols[j]);
        }
        putchar('\n');
    }
    if (status == LR_OK && (fflush(stdout) != 0 || ferror(stdout)))
        status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot write the table to standard output");
    free(cols);
    lr_table_free(t);
    return status == LR_OK ? 0 : lr_cli_fail();
}
