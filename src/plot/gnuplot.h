/* A small layer over gnuplot for lrlab's figures (`lrlab plot`, the experiments' plot hooks).
 *
 * A figure is drawn by one of the scripts in plots/ from plain-text data files: the caller
 * opens a session (a temporary directory for the data), fills curve sets (one data block
 * per curve: rows "x y lo hi colour" sorted by x, under a header line whose first field is
 * the curve's legend title, read by gnuplot's columnheader(1), and the second its key), writes them into the
 * session, collects the script's variables and runs gnuplot on the script.  gnuplot is
 * started without a shell (posix_spawn), with the variables as one -e argument; its output
 * becomes the error message when it fails.  Nothing here keeps state at file scope: the
 * session, the curve sets, name lists and variables are structs the caller owns, so two
 * figures (or two threads) never share anything.
 *
 * Errors: every fallible function returns LR_OK or a status with lr_last_error() set.  The
 * builders (lr_gp_vars_*, lr_gp_curves_*, lr_gp_names_index) record an allocation failure
 * in their struct's `status` instead (sticky, like ferror), which lr_gp_run and
 * lr_gp_curves_write report, so a figure's code need not check every append. */
#ifndef LR_PLOT_GNUPLOT_H
#define LR_PLOT_GNUPLOT_H

#include <stddef.h>
#include <stdio.h>

/* The directory of lrlab's gnuplot scripts: $LRLAB_PLOTS_DIR, the source tree's plots/ or
 * the installed ones, the first that holds the script `probe` (e.g. "error.gp").  LR_EIO
 * with a message saying how to set it when none does. */
int lr_gp_plots_dir(const char *probe, char *buf, size_t len);

/* A temporary directory /tmp/lrlab-plot-XXXXXX for one figure set's data files. */
typedef struct lr_gp_session {
    char dir[64];
} lr_gp_session;

int lr_gp_session_open(lr_gp_session *s);
/* Remove the directory and every file in it (nothing else is ever written there). */
void lr_gp_session_close(lr_gp_session *s);
/* Create (truncate) the data file `name` in the session; NULL with LR_EIO set on failure. */
FILE *lr_gp_session_fopen(const lr_gp_session *s, const char *name);

/* A script's variables, "name='text'; n=3; ...", in the order set. */
typedef struct lr_gp_vars {
    char *text;
    size_t len, cap;
    int status; /* LR_OK, or LR_ENOMEM after a failed append */
} lr_gp_vars;

void lr_gp_vars_init(lr_gp_vars *v);
void lr_gp_vars_free(lr_gp_vars *v);
/* Empty the list for the next figure (keeps the buffer). */
void lr_gp_vars_clear(lr_gp_vars *v);
/* name='value' as a gnuplot single-quoted string (a ' in value is doubled, gnuplot's
 * escape inside single quotes; nothing else is special there). */
void lr_gp_vars_str(lr_gp_vars *v, const char *name, const char *value);
/* name=<printf(fmt, ...)>, unquoted: numbers, e.g. lr_gp_vars_num(v, "ylo", "%g", y). */
void lr_gp_vars_num(lr_gp_vars *v, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Run gnuplot on plots_dir/script with the variables set first.  LR_EIO with gnuplot's
 * output (or that it could not be started) when it fails. */
int lr_gp_run(const char *plots_dir, const char *script, const lr_gp_vars *v);

/* lrlab's line colours: 16 of them, index taken modulo 16. */
const char *lr_gp_colour(int i);
/* The colour index (for lr_gp_colour) of a compressor, or an ALDS variant, by name: a fixed
 * map, so a compressor has one colour in every figure of every experiment and its bounds are
 * drawn in that colour; a name not in the map hashes into the palette. */
int lr_gp_compressor_colour(const char *name);
/* "c1 c2 ..." : the colours of a space-separated list of compressor names, for the scripts'
 * word() (real_*.gp, alds_*.gp); cut to cap. */
void lr_gp_compressor_colours(const char *names, char *out, size_t cap);

/* The figure keys every plot hook reads: the plot.* keys of the run's resolved config (the
 * text stored in the results file, with `lrlab plot FILE plot.k=v` overrides applied). */
typedef struct lr_plot_style {
    char y[32];      /* plot.y: the y metric of the recovery error figures ("err_fro", ...) */
    char legend[16]; /* plot.legend: below | inside | outside | none */
    double width, height; /* plot.width, plot.height in inches; 0: the figure's default */
    double font;     /* plot.font, points */
} lr_plot_style;

/* Read the plot.* keys from a config text; absent keys (results written before the keys
 * existed) take the schema's defaults. */
void lr_plot_style_read(const char *config_text, lr_plot_style *st);
/* The variables plots/style.gp reads (plotsdir, pw, ph, fs, legend). */
void lr_gp_vars_style(lr_gp_vars *v, const lr_plot_style *st, const char *plots_dir);

/* Write a figure's data files of the session as one tab-separated file at `path`, so the
 * figure can be redrawn with other tools (matplotlib): a first line "# what", then the
 * header "file<TAB>series<TAB>columns" (columns: tab-separated names with units, those of
 * every data row of the files), then one line per data row: the data file's name without
 * .dat, the title of its block (the quoted line that starts each block) and the row's
 * numbers.  Written to path.tmp and renamed, so a failed write leaves no half file. */
int lr_gp_export_tsv(const lr_gp_session *gs, const char *const *files, size_t nfiles, const char *what,
                     const char *columns, const char *path);

/* One figure of a session, the steps every experiment's figure takes: the data files
 * `files` to STEM_FIG.tsv (lr_gp_export_tsv, with `what` and `columns`), then the script
 * SCRIPT.gp drawn as STEM_FIG.pdf and STEM_FIG.png with the style's variables, dir, out, fmt
 * and title set, followed by the figure's own variables `own` (NULL: none), and
 * "lrlab: wrote STEM_FIG.{pdf,png,tsv}" on log (NULL: silent). */
int lr_gp_figure(const lr_gp_session *gs, const char *plots_dir, const lr_plot_style *style, const char *script,
                 const char *stem, const char *fig, const char *title, const char *const *files, size_t nfiles,
                 const char *what, const char *columns, const lr_gp_vars *own, FILE *log);

/* Tic marks at a set of x values: their distinct values, sorted, as "1 2 4 8" (%g) in out,
 * for the scripts' xtl variable (error.gp, coverage.gp).  Empty when there are more than
 * `max` distinct values or they do not fit in cap (the script then keeps gnuplot's tics). */
void lr_gp_tics(const double *x, size_t n, size_t max, char *out, size_t cap);

/* A list of distinct names in first-seen order (legend groups, compressors). */
typedef struct lr_gp_names {
    char **v;
    size_t n, cap;
    int status;
} lr_gp_names;

/* Index of name in the list, appended if new; -1 (and status LR_ENOMEM) on failure. */
int lr_gp_names_index(lr_gp_names *l, const char *name);
void lr_gp_names_free(lr_gp_names *l);

/* One curve: a legend title, a colour index, a point type and rows (x, y, lo, hi, colour). */
typedef struct lr_gp_curve {
    char key[512], title[512];
    double *rows; /* 5 per row */
    size_t n, cap;
    int colour, point_type;
} lr_gp_curve;

/* The curves of one data file, found by key.  At most `max` - 1 curves (more would not be
 * legible); 0 means 256. */
typedef struct lr_gp_curves {
    lr_gp_curve *c;
    size_t n, cap, max;
    int status;
} lr_gp_curves;

/* The curve for key, created with title, colour and point type if new; NULL when the set
 * is full (or on allocation failure, with status set). */
lr_gp_curve *lr_gp_curves_get(lr_gp_curves *s, const char *key, const char *title, int colour,
                              int point_type);
/* Whether a curve's key starts with prefix followed by '|' (keys "name|group"). */
int lr_gp_curves_has_prefix(const lr_gp_curves *s, const char *prefix);
/* Append a row (x, y, lo, hi) to curve c of s. */
void lr_gp_curve_add(lr_gp_curves *s, lr_gp_curve *c, double x, double y, double lo, double hi);
/* Sort a curve's rows by x. */
void lr_gp_curve_sort(lr_gp_curve *c);
/* Write every curve (rows sorted by x) as one block of the session's data file `name`. */
int lr_gp_curves_write(const lr_gp_session *gs, const char *name, lr_gp_curves *s);
/* The variable name='c1 c2 ...' with each curve's colour (lr_gp_colour), or with
 * `points` its point type, for the scripts' word(); one placeholder word when empty
 * (gnuplot parses an empty loop's style too). */
void lr_gp_vars_curve_words(lr_gp_vars *v, const char *name, const lr_gp_curves *s, int points);
/* Drop every curve (keeps the set for the next figure). */
void lr_gp_curves_clear(lr_gp_curves *s);
void lr_gp_curves_free(lr_gp_curves *s);

#endif
