/* `lrlab export FILE [TABLE] [COLUMN ...] [--format F] [--out PATH] [--digits N]`: the
 * tables of an HDF5 file (/trials, /points, /fits, /bounds, /layers, ... any compound
 * dataset at its root) as text for awk, pandas, a spreadsheet or a paper.
 *
 *   tsv       one table, tab-separated with a header line (the default; the e2e tests and
 *             awk scripts read it).  Names print as they are.
 *   csv       one table, or with no TABLE every table, each to <stem>_<table>.csv; RFC 4180
 *             quoting (a field holding a comma, a double quote or a line break is quoted,
 *             its quotes doubled), LF line ends as pandas and R write them.
 *   latex     one table (default /points) as a plain tabular with \hline rules: booktabs
 *   markdown  is not in Debian's texlive-latex-base, so \toprule would not compile on a
 *             minimal TeX; a pipe table (GitHub, pandoc) for markdown.
 *
 * Numbers: integers and flags as integers; reals in tsv and csv with the fewest digits
 * (15 to 17) that read back to the same double, so pandas gets the file's values exactly,
 * "nan" and "inf" as pandas reads them; in latex and markdown with --digits significant
 * digits (default 4), for reading.  A file is written under a temporary name in its
 * directory and renamed when complete: a failed export leaves no half-written file. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/text.h"
#include "io/h5.h"
#include "run/table.h"

static const char export_help[] =
    "usage: lrlab export FILE [TABLE] [COLUMN ...] [--format tsv|csv|latex|markdown]\n"
    "                    [--out PATH] [--digits N]\n"
    "\n"
    "Write a table of a results file (trials, points, fits, bounds, compressors, timings,\n"
    "shape; a real_layers file also has layers and accuracy, an alds file alds_grid and\n"
    "alds_trace) as text.  With COLUMNs, only those, in that order.\n"
    "\n"
    "  --format tsv       tab-separated, a header line then one line per row (default;\n"
    "                     needs a TABLE)\n"
    "  --format csv       comma-separated, RFC 4180 quoting; with no TABLE, every table\n"
    "                     to DIR/<stem>_<table>.csv (DIR: --out, or the file's directory)\n"
    "  --format latex     a LaTeX tabular (plain \\hline rules, no packages needed)\n"
    "  --format markdown  a Markdown pipe table\n"
    "                     latex and markdown default to TABLE points and, with no COLUMNs\n"
    "                     there, to compressor, k_target, the swept keys, err_fro_median\n"
    "                     and each bound's coverage\n"
    "  -o, --out PATH     write to the file PATH (default: standard output), or into the\n"
    "                     directory PATH as <stem>_<table>.<tsv|csv|tex|md>; written under\n"
    "                     a temporary name and renamed when complete\n"
    "  --digits N         significant digits of reals in latex and markdown (1 to 17,\n"
    "                     default 4); tsv and csv print every digit that reads back to the\n"
    "                     same double (pandas.read_csv(..., float_precision=\"round_trip\"))\n"
    "\n"
    "Examples:\n"
    "  lrlab export results/thm1.h5 points compressor k_target sigma err_fro_median\n"
    "  lrlab export results/thm1.h5 --format csv          # results/thm1_<table>.csv\n"
    "  lrlab export results/thm1.h5 --format latex -o thm1.tex\n"
    "  lrlab export results/thm1.h5 points compressor sigma r err_fro_median --format markdown\n";

typedef enum { FMT_TSV, FMT_CSV, FMT_LATEX, FMT_MARKDOWN } export_format;
static const char *const format_names[] = {"tsv", "csv", "latex", "markdown"};
static const char *const format_ext[] = {"tsv", "csv", "tex", "md"};

#define MAX_TABLES 256

/* ---- the file's tables ---- */

/* The names of the compound datasets at the file's root, in HDF5's name order. */
static size_t table_names(hid_t file, char names[][256], size_t max)
{
    H5G_info_t info;
    size_t n = 0;
    if (H5Gget_info(file, &info) < 0) return 0;
    for (hsize_t i = 0; i < info.nlinks && n < max; i++) {
        if (H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, names[n], 256, H5P_DEFAULT) < 0)
            continue;
        hid_t obj = H5Oopen(file, names[n], H5P_DEFAULT);
        if (obj < 0) continue;
        int table = 0;
        if (H5Iget_type(obj) == H5I_DATASET) {
            hid_t t = H5Dget_type(obj);
            table = H5Tget_class(t) == H5T_COMPOUND;
            H5Tclose(t);
        }
        H5Oclose(obj);
        n += table;
    }
    return n;
}

/* "/trials, /points, ...": for messages. */
static void list_tables(hid_t file, char *buf, size_t len)
{
    static char names[MAX_TABLES][256];
    size_t n = table_names(file, names, MAX_TABLES), used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s/%s", i ? ", " : "", names[i]);
    if (used >= len && len > 4) snprintf(buf + len - 4, 4, "...");
}

static int open_results(const char *path, hid_t *file)
{
    *file = -1;
    if (H5Fis_hdf5(path) <= 0) LR_ERRORF(LR_EDATA, "%s: not an HDF5 file (or cannot be read)", path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0) LR_ERRORF(LR_EIO, "%s: cannot open", path);
    return LR_OK;
}

static int has_table(hid_t file, const char *name)
{
    return name[0] && H5Lexists(file, name, H5P_DEFAULT) > 0 && H5Oexists_by_name(file, name, H5P_DEFAULT) > 0;
}

/* Read the table; LR_EDATA with a message naming what is missing. */
static int read_export_table(hid_t file, const char *path, const char *name, lr_table **t)
{
    *t = NULL;
    if (!has_table(file, name)) {
        char tables[2048];
        list_tables(file, tables, sizeof tables);
        LR_ERRORF(LR_EDATA, "%s: no table /%s (its tables: %s)", path, name, tables[0] ? tables : "none");
    }
    if (lr_h5_read_table(file, name, t) != LR_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", lr_last_error());
        LR_ERRORF(LR_EDATA, "%s: %s", path, msg);
    }
    return LR_OK;
}

static int no_column(const char *path, const lr_table *t, const char *col)
{
    char names[4096];
    size_t used = 0;
    for (size_t c = 0; c < t->ncols && used < sizeof names; c++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", c ? " " : "", t->cols[c].name);
    LR_ERRORF(LR_EDATA, "%s: /%s has no column '%s' (its columns: %s)", path, t->name, col, names);
}

/* The columns a paper's table of /points shows when none are named: what identifies a row
 * (compressor, target rank, the swept keys from /axes), the median error, and the coverage
 * of each bound that is not a prediction (from /bounds). */
static size_t default_point_columns(hid_t file, const lr_table *t, int *cols, size_t max)
{
    size_t n = 0;
#define ADD(c)                                                                             \
    do {                                                                                   \
        int c_ = (c), dup_ = 0;                                                            \
        for (size_t j_ = 0; j_ < n; j_++) dup_ |= cols[j_] == c_;                          \
        if (c_ >= 0 && !dup_ && n < max) cols[n++] = c_;                                   \
    } while (0)
    ADD(lr_table_col(t, "compressor"));
    ADD(lr_table_col(t, "k_target"));
    for (int a = 0; a < 1000; a++) {
        char name[32];
        snprintf(name, sizeof name, "axes/%d", a);
        if (H5Lexists(file, "axes", H5P_DEFAULT) <= 0 || H5Lexists(file, name, H5P_DEFAULT) <= 0) break;
        hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
        if (ds < 0) break;
        char *col = lr_h5_get_attr_str(ds, "column");
        H5Dclose(ds);
        if (col && col[0]) ADD(lr_table_col(t, col));
        free(col);
    }
    ADD(lr_table_col(t, "err_fro_median"));
    lr_table *b = NULL;
    if (has_table(file, "bounds") && lr_h5_read_table(file, "bounds", &b) == LR_OK) {
        int cn = lr_table_col(b, "name"), ck = lr_table_col(b, "kind");
        for (size_t i = 0; cn >= 0 && i < b->nrows; i++) {
            if (ck >= 0 && !strcmp(lr_table_name_at(b, i, (size_t)ck), "prediction")) continue;
            char col[300];
            snprintf(col, sizeof col, "%s_coverage", lr_table_name_at(b, i, (size_t)cn));
            ADD(lr_table_col(t, col));
        }
    }
    lr_table_free(b);
#undef ADD
    return n;
}

/* ---- cells ---- */

/* x with the fewest significant digits (15..17) that read back as x. */
static void real_exact(double x, char *buf, size_t len)
{
    if (isnan(x)) {
        snprintf(buf, len, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, len, "%s", x > 0 ? "inf" : "-inf");
        return;
    }
    lr_text_real(x, buf, len);
}

/* x with `digits` significant digits; in LaTeX 1.2e-05 becomes $1.2\times10^{-5}$. */
static void real_sig(double x, int digits, export_format fmt, char *buf, size_t len)
{
    if (isnan(x)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(x)) {
        snprintf(buf, len, "%s", fmt == FMT_LATEX ? (x > 0 ? "$\\infty$" : "$-\\infty$") : (x > 0 ? "inf" : "-inf"));
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*g", digits, x);
    char *e = strchr(tmp, 'e');
    if (fmt != FMT_LATEX || !e) {
        snprintf(buf, len, "%s", tmp);
        return;
    }
    *e = '\0';
    int ex = atoi(e + 1);
    if (!strcmp(tmp, "1")) snprintf(buf, len, "$10^{%d}$", ex);
    else if (!strcmp(tmp, "-1")) snprintf(buf, len, "$-10^{%d}$", ex);
    else snprintf(buf, len, "$%s\\times10^{%d}$", tmp, ex);
}

/* The text of a number cell (names are escaped by the writer of each format). */
static void number_cell(const lr_table *t, size_t row, int c, export_format fmt, int digits, char *buf, size_t len)
{
    double v = lr_table_row(t, row)[c];
    if (t->cols[c].type == LR_COL_REAL) {
        if (fmt == FMT_TSV || fmt == FMT_CSV) real_exact(v, buf, len);
        else real_sig(v, digits, fmt, buf, len);
    } else if (isnan(v)) {
        snprintf(buf, len, fmt == FMT_TSV || fmt == FMT_CSV ? "nan" : "NaN");
    } else {
        snprintf(buf, len, "%.0f", v);
    }
}

/* A name in LaTeX text mode: the ten special characters, and < > | which the default
 * OT1 font encoding prints as other glyphs. */
static void latex_escape(lr_strbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '\\': lr_strbuf_puts(b, "\\textbackslash{}"); break;
        case '~': lr_strbuf_puts(b, "\\textasciitilde{}"); break;
        case '^': lr_strbuf_puts(b, "\\textasciicircum{}"); break;
        case '<': lr_strbuf_puts(b, "\\textless{}"); break;
        case '>': lr_strbuf_puts(b, "\\textgreater{}"); break;
        case '|': lr_strbuf_puts(b, "\\textbar{}"); break;
        case '&': case '%': case '$': case '#': case '_': case '{': case '}':
            lr_strbuf_putn(b, "\\", 1);
            lr_strbuf_putn(b, s, 1);
            break;
        case '\n': case '\r': case '\t': lr_strbuf_putn(b, " ", 1); break;
        default: lr_strbuf_putn(b, s, 1);
        }
    }
}

static int is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* A name in a Markdown table cell: the pipe would end the cell, and * ` [ ] < > \ ~ $
 * would start markup (GitHub strikes through ~text~ and typesets $math$); an underscore
 * only where it could (not inside a word: dd_rank stays). */
static void markdown_escape(lr_strbuf *b, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (c == '\n' || c == '\r' || c == '\t') {
            lr_strbuf_putn(b, " ", 1);
            continue;
        }
        int special = strchr("|*`[]<>\\~$", c) != NULL ||
                      (c == '_' && !(i > 0 && is_alnum(s[i - 1]) && is_alnum(s[i + 1])));
        if (special) lr_strbuf_putn(b, "\\", 1);
        lr_strbuf_putn(b, &c, 1);
    }
}

/* A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
static void csv_field(lr_strbuf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        lr_strbuf_puts(b, s);
        return;
    }
    lr_strbuf_putn(b, "\"", 1);
    for (; *s; s++) {
        if (*s == '"') lr_strbuf_putn(b, "\"", 1);
        lr_strbuf_putn(b, s, 1);
    }
    lr_strbuf_putn(b, "\"", 1);
}

/* Display width of UTF-8 text: its code points (continuation bytes do not count). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* ---- writers ---- */

/* TSV and CSV, streamed row by row. */
static int write_delimited(FILE *f, const lr_table *t, const int *cols, size_t ncols, export_format fmt)
{
    lr_strbuf line = {0};
    char num[64];
    const char *sep = fmt == FMT_CSV ? "," : "\t";
    for (size_t i = 0; i <= t->nrows && !line.failed; i++) {
        line.len = 0;
        for (size_t j = 0; j < ncols; j++) {
            if (j) lr_strbuf_puts(&line, sep);
            int c = cols[j];
            const char *text;
            if (i == 0) text = t->cols[c].name;
            else if (t->cols[c].type == LR_COL_NAME) text = lr_table_name_at(t, i - 1, (size_t)c);
            else {
                number_cell(t, i - 1, c, fmt, 0, num, sizeof num);
                text = num;
            }
            if (fmt == FMT_CSV) csv_field(&line, text);
            else lr_strbuf_puts(&line, text);
        }
        lr_strbuf_puts(&line, "\n");
        if (!line.failed && fwrite(line.s, 1, line.len, f) != line.len) break;
    }
    int status = line.failed ? lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory writing /%s", t->name) : LR_OK;
    free(line.s);
    return status;
}

/* LaTeX and Markdown: every cell formatted first, so that the columns line up in the
 * source too. */
static int write_aligned(FILE *f, const lr_table *t, const int *cols, size_t ncols, export_format fmt, int digits,
                         const char *path)
{
    size_t ncells = (t->nrows + 1) * ncols;
    char **cell = calloc(ncells ? ncells : 1, sizeof *cell);
    size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
    int status = cell && width ? LR_OK : LR_ENOMEM;
    char num[96];
    for (size_t i = 0; status == LR_OK && i <= t->nrows; i++)
        for (size_t j = 0; status == LR_OK && j < ncols; j++) {
            int c = cols[j];
            lr_strbuf b = {0};
            const char *text = i == 0 ? t->cols[c].name : NULL;
            if (!text && t->cols[c].type == LR_COL_NAME) text = lr_table_name_at(t, i - 1, (size_t)c);
            if (text && fmt == FMT_LATEX) latex_escape(&b, text);
            else if (text) markdown_escape(&b, text);
            else {
                number_cell(t, i - 1, c, fmt, digits, num, sizeof num);
                lr_strbuf_puts(&b, num);
            }
            if (!b.s && !b.failed) lr_strbuf_puts(&b, ""); /* an empty name */
            if (b.failed) {
                free(b.s);
                status = LR_ENOMEM;
                break;
            }
            cell[i * ncols + j] = b.s;
            size_t w = text_width(b.s);
            if (w > width[j]) width[j] = w;
        }
    if (status == LR_OK && fmt == FMT_MARKDOWN)
        for (size_t j = 0; j < ncols; j++)
            if (width[j] < 3) width[j] = 3; /* the rule needs ---, or :-- and --: */
    if (status == LR_OK) {
        if (fmt == FMT_LATEX) {
            fprintf(f, "%% /%s of %s (lrlab export), %zu rows\n\\begin{tabular}{", t->name, path, t->nrows);
            for (size_t j = 0; j < ncols; j++) fputc(t->cols[cols[j]].type == LR_COL_NAME ? 'l' : 'r', f);
            fputs("}\n\\hline\n", f);
        }
        for (size_t i = 0; i <= t->nrows; i++) {
            if (fmt == FMT_MARKDOWN) fputs("|", f);
            for (size_t j = 0; j < ncols; j++) {
                const char *s = cell[i * ncols + j];
                int left = t->cols[cols[j]].type == LR_COL_NAME || i == 0;
                size_t pad = width[j] - text_width(s);
                if (fmt == FMT_LATEX && j) fputs(" & ", f);
                if (fmt == FMT_MARKDOWN) fputs(" ", f);
                if (!left) fprintf(f, "%*s", (int)pad, "");
                fputs(s, f);
                if (left && (j + 1 < ncols || fmt == FMT_MARKDOWN)) fprintf(f, "%*s", (int)pad, "");
                if (fmt == FMT_MARKDOWN) fputs(" |", f);
            }
            fputs(fmt == FMT_LATEX ? " \\\\\n" : "\n", f);
            if (i == 0 && fmt == FMT_LATEX) fputs("\\hline\n", f);
            if (i == 0 && fmt == FMT_MARKDOWN) {
                fputs("|", f);
                for (size_t j = 0; j < ncols; j++) {
                    int name = t->cols[cols[j]].type == LR_COL_NAME;
                    fputs(name ? " :" : " ", f);
                    for (size_t k = 0; k + 1 < width[j]; k++) fputc('-', f);
                    fputs(name ? " |" : ": |", f);
                }
                fputs("\n", f);
            }
        }
        if (fmt == FMT_LATEX) fputs("\\hline\n\\end{tabular}\n", f);
    }
    for (size_t k = 0; cell && k < ncells; k++) free(cell[k]);
    free(cell);
    free(width);
    if (status != LR_OK) LR_ERRORF(LR_ENOMEM, "out of memory writing /%s", t->name);
    return LR_OK;
}

static int write_table(FILE *f, const lr_table *t, const int *cols, size_t ncols, export_format fmt, int digits,
                       const char *path)
{
    return fmt == FMT_TSV || fmt == FMT_CSV ? write_delimited(f, t, cols, ncols, fmt)
                                            : write_aligned(f, t, cols, ncols, fmt, digits, path);
}

/* ---- output files: a temporary name, renamed when complete ---- */

typedef struct out_file {
    char *final, *tmp;
    FILE *f;
} out_file;

static int out_open(out_file *o, const char *final)
{
    memset(o, 0, sizeof *o);
    size_t len = strlen(final) + 40;
    o->final = strdup(final);
    o->tmp = malloc(len);
    if (!o->final || !o->tmp) {
        free(o->final), free(o->tmp);
        memset(o, 0, sizeof *o);
        LR_ERROR(LR_ENOMEM, "out of memory");
    }
    snprintf(o->tmp, len, "%s.tmp%ld", final, (long)getpid());
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    o->f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!o->f) {
        int err = errno;
        if (fd >= 0) close(fd), unlink(o->tmp);
        lr_error(LR_EIO, __FILE__, __LINE__, "cannot create %s: %s", o->tmp, strerror(err));
        free(o->final), free(o->tmp);
        memset(o, 0, sizeof *o);
        return LR_EIO;
    }
    return LR_OK;
}

/* Close the temporary file; LR_EIO (and the file removed) if any write to it failed.
 * fsync before the rename: without it a crash soon after could leave the final name on an
 * empty file (ext4's delayed allocation), and a full disk may only show here. */
static int out_close(out_file *o)
{
    int bad = ferror(o->f) != 0;
    int err = bad ? EIO : 0;
    if (fflush(o->f) != 0 && !err) err = errno, bad = 1;
    if (!bad && fsync(fileno(o->f)) != 0) err = errno, bad = 1;
    if (fclose(o->f) != 0 && !err) err = errno, bad = 1;
    o->f = NULL;
    if (bad) {
        unlink(o->tmp);
        LR_ERRORF(LR_EIO, "cannot write %s: %s", o->tmp, strerror(err ? err : EIO));
    }
    return LR_OK;
}

static int out_commit(out_file *o)
{
    if (rename(o->tmp, o->final) != 0) {
        int err = errno;
        unlink(o->tmp);
        LR_ERRORF(LR_EIO, "cannot rename %s to %s: %s", o->tmp, o->final, strerror(err));
    }
    return LR_OK;
}

static void out_discard(out_file *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    free(o->final), free(o->tmp);
    memset(o, 0, sizeof *o);
}

static int is_dir(const char *p)
{
    struct stat sb;
    return p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* DIR/<stem>_<table>.<ext>, stem the results file's name without ".h5". */
static char *output_name(const char *dir, const char *results, const char *table, export_format fmt)
{
    const char *base = strrchr(results, '/');
    base = base ? base + 1 : results;
    size_t stem = strlen(base);
    if (stem > 3 && !strcmp(base + stem - 3, ".h5")) stem -= 3;
    else if (stem > 5 && !strcmp(base + stem - 5, ".hdf5")) stem -= 5;
    size_t len = strlen(dir) + stem + strlen(table) + 16;
    char *out = malloc(len);
    if (out) snprintf(out, len, "%s/%.*s_%s.%s", dir, (int)stem, base, table, format_ext[fmt]);
    return out;
}

/* The directory of the results file ("." if it names none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* ---- arguments ---- */

typedef struct export_args {
    const char *path;
    char **pos; /* TABLE and COLUMNs */
    int npos;
    export_format fmt;
    const char *out;
    int digits, digits_set;
} export_args;

static int usage_error(const char *fmt, const char *arg)
{
    fputs("lrlab export: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(see lrlab export --help)\n", stderr);
    return 2;
}

/* -1: go on; else the exit status (0 for --help, 2 for a usage error). */
static int parse_args(int argc, char **argv, export_args *a, char **pos)
{
    memset(a, 0, sizeof *a);
    a->digits = 4;
    a->pos = pos;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *val = NULL;
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(export_help, stdout);
            return 0;
        }
        int opt = !strncmp(s, "--format", 8) ? 'f' : !strncmp(s, "--out", 5) ? 'o'
                  : !strncmp(s, "--digits", 8) ? 'd' : !strcmp(s, "-o") ? 'o' : 0;
        size_t optlen = opt == 'f' ? 8 : opt == 'd' ? 8 : opt == 'o' && s[1] == '-' ? 5 : 2;
        if (opt && s[optlen] == '=') val = s + optlen + 1;
        else if (opt && s[optlen] != '\0') opt = 0; /* --formats, --output: unknown */
        if (!opt && s[0] == '-' && s[1]) {
            fprintf(stderr, "lrlab export: unknown option '%s' (known: --format, -o/--out, --digits)\n%s", s,
                    export_help);
            return 2;
        }
        if (!opt) {
            if (!a->path) a->path = s;
            else a->pos[a->npos++] = argv[i];
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", s);
            val = argv[++i];
        }
        if (opt == 'f') {
            int k = -1;
            for (int j = 0; j < 4; j++)
                if (!strcmp(val, format_names[j])) k = j;
            if (k < 0) return usage_error("unknown format '%s' (known: tsv, csv, latex, markdown)", val);
            a->fmt = (export_format)k;
        } else if (opt == 'o') {
            a->out = val;
        } else {
            char *end;
            long d = strtol(val, &end, 10);
            if (!*val || *end || d < 1 || d > 17)
                return usage_error("--digits '%s': give a number of significant digits from 1 to 17", val);
            a->digits = (int)d;
            a->digits_set = 1;
        }
    }
    if (!a->path) {
        fputs(export_help, stderr);
        return 2;
    }
    if (a->digits_set && (a->fmt == FMT_TSV || a->fmt == FMT_CSV))
        return usage_error("--digits applies to latex and markdown; %s prints every digit that reads back "
                           "to the same double", format_names[a->fmt]);
    return -1;
}

/* ---- the command ---- */

/* Every table of the file as DIR/<stem>_<table>.csv: all written, then all renamed. */
static int export_all(hid_t file, const export_args *a)
{
    static char names[MAX_TABLES][256];
    size_t n = table_names(file, names, MAX_TABLES);
    if (n == 0) LR_ERRORF(LR_EDATA, "%s: no tables", a->path);
    char *dir = a->out ? strdup(a->out) : dir_of(a->path);
    if (!dir) LR_ERROR(LR_ENOMEM, "out of memory");
    if (!is_dir(dir)) {
        int s = lr_error(LR_EIO, __FILE__, __LINE__,
                         "--out '%s' is not a directory: with no TABLE every table goes to its own file "
                         "DIR/<stem>_<table>.csv (name a TABLE to write one file)", dir);
        free(dir);
        return s;
    }
    out_file *outs = calloc(n, sizeof *outs);
    size_t *rows = calloc(n, sizeof *rows);
    int status = outs && rows ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    for (size_t k = 0; status == LR_OK && k < n; k++) {
        lr_table *t = NULL;
        int *cols = NULL;
        char *final = output_name(dir, a->path, names[k], a->fmt);
        if (!final) status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        if (status == LR_OK) status = read_export_table(file, a->path, names[k], &t);
        if (status == LR_OK && !(cols = malloc((t->ncols ? t->ncols : 1) * sizeof *cols)))
            status = lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        for (size_t j = 0; status == LR_OK && j < t->ncols; j++) cols[j] = (int)j;
        if (status == LR_OK) status = out_open(&outs[k], final);
        if (status == LR_OK) status = write_table(outs[k].f, t, cols, t->ncols, a->fmt, a->digits, a->path);
        if (status == LR_OK) status = out_close(&outs[k]);
        if (status == LR_OK) rows[k] = t->nrows;
        free(final);
        free(cols);
        lr_table_free(t);
    }
    for (size_t k = 0; status == LR_OK && k < n; k++) {
        status = out_commit(&outs[k]);
        if (status == LR_OK) fprintf(stderr, "lrlab: wrote %s (%zu rows)\n", outs[k].final, rows[k]);
    }
    for (size_t k = 0; outs && k < n; k++) {
        if (status != LR_OK && outs[k].tmp) unlink(outs[k].tmp);
        if (outs[k].f) fclose(outs[k].f);
        free(outs[k].final), free(outs[k].tmp);
    }
    free(outs);
    free(rows);
    free(dir);
    return status;
}

/* One table, to standard output or to --out. */
static int export_one(hid_t file, const export_args *a)
{
    const char *name = a->npos ? a->pos[0] : "points";
    char *const *colv = a->pos + (a->npos ? 1 : 0);
    int ncolv = a->npos ? a->npos - 1 : 0;
    while (*name == '/') name++;
    /* latex and markdown default to /points: `--format latex compressor sigma` names
     * columns of /points when its first word is no table of the file. */
    if (a->npos && (a->fmt == FMT_LATEX || a->fmt == FMT_MARKDOWN) && !has_table(file, name) &&
        has_table(file, "points")) {
        lr_table *p = NULL;
        int col = lr_h5_read_table(file, "points", &p) == LR_OK ? lr_table_col(p, name) : -1;
        lr_table_free(p);
        if (col >= 0) name = "points", colv = a->pos, ncolv = a->npos;
    }
    lr_table *t = NULL;
    LR_TRY(read_export_table(file, a->path, name, &t));
    int cap = ncolv ? ncolv : (int)t->ncols;
    int *cols = malloc((size_t)(cap ? cap : 1) * sizeof *cols);
    size_t ncols = 0;
    int status = cols ? LR_OK : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
    for (int j = 0; status == LR_OK && j < ncolv; j++) {
        cols[ncols] = lr_table_col(t, colv[j]);
        status = cols[ncols] >= 0 ? LR_OK : no_column(a->path, t, colv[j]);
        ncols++;
    }
    if (status == LR_OK && !ncolv && !strcmp(name, "points") && (a->fmt == FMT_LATEX || a->fmt == FMT_MARKDOWN))
        ncols = default_point_columns(file, t, cols, (size_t)cap);
    if (status == LR_OK && !ncols)
        for (size_t j = 0; j < t->ncols; j++) cols[ncols++] = (int)j;
    if (status == LR_OK && !a->out) {
        status = write_table(stdout, t, cols, ncols, a->fmt, a->digits, a->path);
        if (status == LR_OK && (fflush(stdout) != 0 || ferror(stdout)))
            status = lr_error(LR_EIO, __FILE__, __LINE__, "cannot write the table to standard output");
    } else if (status == LR_OK) {
        char *final = is_dir(a->out) ? output_name(a->out, a->path, name, a->fmt) : strdup(a->out);
        out_file o = {0};
        status = final ? out_open(&o, final) : lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        if (status == LR_OK) status = write_table(o.f, t, cols, ncols, a->fmt, a->digits, a->path);
        if (status == LR_OK) status = out_close(&o);
        if (status == LR_OK) status = out_commit(&o);
        if (status == LR_OK) fprintf(stderr, "lrlab: wrote %s (%zu rows)\n", final, t->nrows);
        out_discard(&o);
        free(final);
    }
    free(cols);
    lr_table_free(t);
    return status;
}

int lr_cmd_export(int argc, char **argv)
{
    char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
    if (!pos) {
        lr_error(LR_ENOMEM, __FILE__, __LINE__, "out of memory");
        return lr_cli_fail();
    }
    export_args a;
    int rc = parse_args(argc, argv, &a, pos);
    if (rc >= 0) {
        free(pos);
        return rc;
    }
    hid_t file = -1;
    int status = open_results(a.path, &file);
    if (status == LR_OK && a.npos == 0 && a.fmt == FMT_TSV) {
        char tables[2048];
        list_tables(file, tables, sizeof tables);
        fprintf(stderr,
                "lrlab export: name a TABLE for tab-separated output (%s's tables: %s), or give --format csv "
                "for every table\n(see lrlab export --help)\n",
                a.path, tables[0] ? tables : "none");
        H5Fclose(file);
        free(pos);
        return 2;
    }
    if (status == LR_OK) status = a.npos == 0 && a.fmt == FMT_CSV ? export_all(file, &a) : export_one(file, &a);
    if (file >= 0) H5Fclose(file);
    free(pos);
    return status == LR_OK ? 0 : lr_cli_fail();
}
