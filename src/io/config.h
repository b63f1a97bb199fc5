/* Experiment configuration: libconfig files checked against a schema, with sweeps.
 *
 * A config is a libconfig file.  Every key an experiment accepts is declared in a schema
 * (an array of lr_key terminated by an entry with path == NULL).  Validation is strict:
 * an unknown key, a wrong type, a value out of range or not among the choices stops the
 * run before any work with one message naming the file, the line and the key, and for
 * an unknown key the nearest valid key.
 *
 * Any key declared `sweepable` may hold, instead of a scalar,
 *   a list            [a, b, c]                 (explicit values)
 *   a geometric axis  { geom = [lo, hi, n]; }   (n values, log-spaced, ends included)
 *   a linear axis     { lin  = [lo, hi, n]; }   (n values, evenly spaced, ends included)
 *   explicit values   { list = [a, b, c]; }     (the list in group form)
 * and each group form may add  zip = "name";  to move together with the other axes of that
 * zip: e.g.  problem.N0 = { lin = [100.0, 400.0, 4.0]; zip = "size"; };  with
 * problem.N1 = { list = [50, 100, 150, 200]; zip = "size"; };  sweeps 4 shapes, not 16.
 * The axes of a zip must have the same length.  Every swept key is an axis (in schema
 * order); the axes of one zip form a group, every other axis is a group of its own.
 * Groups combine as a Cartesian product; sweep points are numbered in mixed radix over
 * the groups, ordered by each group's first axis in schema order, the last group varying
 * fastest (without zips: over the axes, the last axis fastest).
 *
 * Command-line overrides "key.sub=value" are applied on top of the file before
 * validation; the value uses libconfig syntax (so "problem.r=[2,4]" makes an axis and
 * "name=\"x\"" a string; a bare word that is not a number is taken as a string).
 * Errors in an override name the override instead of a file line.
 *
 * After validation every schema key with a default is present in the tree, so
 * lr_config_text() returns the full resolved configuration. */
#ifndef LR_IO_CONFIG_H
#define LR_IO_CONFIG_H

#include <stddef.h>

typedef enum {
    LR_KEY_INT,         /* integer scalar (sweepable if .sweepable) */
    LR_KEY_REAL,        /* real scalar; an integer literal is accepted (sweepable if .sweepable) */
    LR_KEY_BOOL,
    LR_KEY_STRING,      /* if .names or .choices is set, one of the allowed words */
    LR_KEY_INT_LIST,    /* a list of integers, not a sweep: [0, 2, 4] */
    LR_KEY_STRING_LIST, /* a list of strings; each checked against .names or .choices */
    LR_KEY_GROUP,       /* a group; needs no entry unless it should be documented */
    LR_KEY_REAL_LIST    /* a list of reals, not a sweep: [0.1, 0.25, 1.0] or (0.1, 1) */
} lr_key_type;

typedef struct lr_key {
    const char *path;    /* dotted path from the root, e.g. "problem.noise.sigma" */
    lr_key_type type;
    int sweepable;       /* numeric scalar that may be a list or an axis */
    int required;        /* no default: must be given */
    double def;          /* default of a numeric or bool key */
    const char *def_str; /* default of a string key; for lists, default in libconfig syntax,
                            e.g. "[0]" or "[\"svd_w\", \"dd_rank\"]" */
    double min, max;     /* inclusive range of numeric values (and of each list element) */
    const char *choices; /* allowed words of a string key, "a|b|c"; NULL for any */
    const char *doc;     /* one line for `lrlab list` and error messages */
    /* The allowed words of a string or string-list key, from a registry: the i-th name,
     * NULL past the end.  Used instead of .choices when set. */
    const char *(*names)(size_t i);
    /* A sweepable key that is not a scale parameter (a shape such as Student t's degrees
     * of freedom, a correlation, an exponent): /fits still fits a log-log slope of the
     * error along it, but no power law in it is expected, and a run sweeping it is warned
     * (lr_run_warn). */
    int not_scale;
} lr_key;

typedef struct lr_config lr_config;

/* Read a config file and apply overrides (each "path=value").  Only syntax is checked
 * here; on error returns LR_ECONFIG (or LR_EIO) with the message in lr_last_error(),
 * e.g. "configs/a.cfg:12: syntax error". */
int lr_config_read(lr_config **out, const char *path, const char *const *overrides,
                   size_t noverrides);
/* Same, from a string (tests); `name` stands for the file name in messages. */
int lr_config_read_string(lr_config **out, const char *text, const char *name,
                          const char *const *overrides, size_t noverrides);
void lr_config_free(lr_config *cfg);

/* Check every setting against `schema` (NULL-terminated; may be the concatenation of
 * several schemas passed as an array of arrays: schemas[0..nschemas-1]), fill in
 * defaults, expand sweep axes.  On error returns LR_ECONFIG with a message such as
 *   "configs/a.cfg:7: key 'problem.nosie' is not known (did you mean 'problem.noise'?)"
 *   "configs/a.cfg:9: key 'problem.r' must be an integer, got a string"
 *   "configs/a.cfg:9: key 'problem.noise.sigma' = -1 is out of range [0, inf)"
 *   "command line 'trials=0': key 'trials' = 0 is out of range [1, 1e+09]" */
int lr_config_validate(lr_config *cfg, const lr_key *const *schemas, size_t nschemas);

/* The string value of a key at the root level, before validation (used to pick the
 * experiment's schema).  NULL if absent or not a string. */
const char *lr_config_peek_string(const lr_config *cfg, const char *path);

/* ---- after validation ---- */
size_t lr_config_npoints(const lr_config *cfg);      /* product of group lengths (1 if none) */
size_t lr_config_naxes(const lr_config *cfg);
const char *lr_config_axis_path(const lr_config *cfg, size_t axis);
size_t lr_config_axis_len(const lr_config *cfg, size_t axis);
double lr_config_axis_value(const lr_config *cfg, size_t axis, size_t index);
/* Index along `axis` of sweep point `point`. */
size_t lr_config_axis_index(const lr_config *cfg, size_t axis, size_t point);
/* The sweep's groups: the axes of one zip share a group, an un-zipped axis is a group of
 * its own.  Groups are numbered 0.. in point order (group 0 varies slowest); the group of
 * an axis is SIZE_MAX if there is no such axis.  lr_config_npoints is the product of the
 * groups' lengths. */
size_t lr_config_ngroups(const lr_config *cfg);
size_t lr_config_axis_group(const lr_config *cfg, size_t axis);
/* The zip tag of an axis, or NULL if it is not zipped. */
const char *lr_config_axis_zip(const lr_config *cfg, size_t axis);
/* Axis number of a path, or -1 if that key is not swept. */
int lr_config_axis_of(const lr_config *cfg, const char *path);

/* Numeric value (int, real or bool as 0/1) of a key at a sweep point (axis value if
 * swept, else the scalar, else the default). */
double lr_config_num(const lr_config *cfg, size_t point, const char *path);
const char *lr_config_str(const lr_config *cfg, const char *path);
/* List values; the arrays are owned by cfg.  Return the length. */
size_t lr_config_int_list(const lr_config *cfg, const char *path, const long **values);
size_t lr_config_str_list(const lr_config *cfg, const char *path, const char *const **values);
size_t lr_config_real_list(const lr_config *cfg, const char *path, const double **values);
/* Whether the key was given explicitly (in the file or an override). */
int lr_config_given(const lr_config *cfg, const char *path);

/* "file:line: key 'path'" or "command line 'path=v': key 'path'" for cross-field
 * messages from experiments; writes into buf. */
const char *lr_config_where(const lr_config *cfg, const char *path, char *buf, size_t len);

/* The resolved configuration (file + overrides + defaults) in libconfig syntax.
 * Owned by cfg; stable after validation. */
const char *lr_config_text(const lr_config *cfg);
const char *lr_config_filename(const lr_config *cfg);

/* The range of a numeric key as the messages and `lrlab list` print it: "[1, 1000]",
 * "[0, inf)" or "(-inf, 4]" (a bound of magnitude >= 1e300 means none; each end with the
 * fewest digits that read back exactly); "" for a key without a range.  Writes into buf
 * (cut to len) and returns it. */
const char *lr_key_range_text(const lr_key *k, char *buf, size_t len);

/* Whether `word` is an allowed value of string key `k`: one of k->names if set, else of
 * k->choices if set, else any word. */
int lr_key_allows(const lr_key *k, const char *word);
/* The allowed words of `k` as "a|b|c" (from .names, else .choices), as the messages and
 * `lrlab list` print them, cut to len; NULL if the key takes any word. */
const char *lr_key_choices_text(const lr_key *k, char *buf, size_t len);

/* The schema key nearest to `word` by edit distance (for messages), or NULL. */
const char *lr_config_nearest_key(const lr_key *const *schemas, size_t nschemas,
                                  const char *word);

#endif
