/* Private to src/io/config_read.c, config_schema.c and config_sweep.c: the lr_config
 * object and the helpers the three parts share.  Nothing outside src/io/config_*.c
 * includes this header; the public interface is io/config.h. */
#ifndef LR_IO_CONFIG_IMPL_H
#define LR_IO_CONFIG_IMPL_H

#include "io/config.h"

#include <libconfig.h>
#include <stddef.h>

typedef struct {
    char *path; /* dotted path the override set */
    char *text; /* the override as given, for messages */
} ovr_rec;

typedef struct {
    char *path;
    size_t n;
    double *v;
    char *zip;     /* tag of the zip this axis moves with, or NULL */
    size_t group;  /* axes of one zip share a group; groups numbered in point order */
    size_t stride; /* points between consecutive values: product of later groups' lengths */
} axis_rec;

typedef struct {
    char *path;
    size_t n;
    long *iv;
    const char **sv; /* strings owned by the libconfig tree */
    double *rv;      /* LR_KEY_REAL_LIST */
} list_rec;

struct lr_config {
    config_t lc;
    char *name; /* file name used in messages */
    ovr_rec *ovr;
    size_t novr;
    char **defaulted; /* paths filled from schema defaults */
    size_t ndefaulted;
    axis_rec *axes;
    size_t naxes;
    size_t ngroups;
    size_t npoints;
    list_rec *lists;
    size_t nlists;
    char *text;
    int validate_called;
    int validated;
};

/* Validation state; kept out of lr_config because it only lives during the call. */
typedef struct {
    lr_config *cfg;
    const lr_key **keys; /* all schema entries flattened, in schema order */
    size_t nkeys;
    const lr_key *const *schemas;
    size_t nschemas;
    axis_rec *slots; /* axis found for keys[i], if any */
} vctx;

/* ---- config_read.c ---- */
char *lr_cfg_strdup(const char *s);
char *lr_cfg_strndup(const char *s, size_t n);
/* "prefix.name", or "name" for an empty prefix; malloc'd. */
char *lr_cfg_join_path(const char *prefix, const char *name);
int lr_cfg_is_num_type(int t);
/* The value of an int, int64, float or bool setting as a double; NaN for others. */
double lr_cfg_setting_num(const config_setting_t *s);
/* "an integer", "a string", ... for "must be X, got Y" messages. */
const char *lr_cfg_type_desc(const config_setting_t *s);
/* The value as the user wrote it, for "key 'x' = <value> ..." messages. */
void lr_cfg_format_value(const config_setting_t *s, char *buf, size_t len);
/* "file:line", "command line 'k=v'" or "file": where the setting at `path` came from. */
void lr_cfg_locate(const lr_config *cfg, const char *path, const config_setting_t *s,
                   char *buf, size_t len);
/* Parse a value in libconfig syntax; the caller destroys `scratch`.  Returns the parsed
 * setting or NULL with libconfig's error text in `why`. */
const config_setting_t *lr_cfg_parse_value(config_t *scratch, const char *value,
                                           const char **why);
/* Copy `src` to `path` in the main tree, creating groups on the way and replacing what
 * was there.  `what` names the source of the value in messages. */
int lr_cfg_set_path(lr_config *cfg, const char *path, const config_setting_t *src,
                    const char *what);
/* Write the tree into cfg->text. */
int lr_cfg_make_text(lr_config *cfg);
/* Drop what validation derived (axes, lists, text). */
void lr_cfg_free_derived(lr_config *cfg);

/* ---- config_schema.c ---- */
size_t lr_cfg_levenshtein(const char *a, size_t la, const char *b, size_t lb);
/* Range check of one numeric value of key `k`; `what` names it ("key 'x' element 2"),
 * `shown` is the value as written. */
int lr_cfg_check_range(const lr_key *k, double v, const char *loc, const char *what,
                       const char *shown);
/* One numeric value (a scalar, or an element of a list or axis) of an INT/REAL/INT_LIST
 * key.  `as_int` asks for an integer. */
int lr_cfg_check_number(const lr_key *k, const config_setting_t *e, int as_int,
                        const char *loc, const char *what, double *out);

/* ---- config_sweep.c ---- */
/* Whether `s` has the shape of a sweep (a list, an array or an axis group). */
int lr_cfg_is_sweep_shape(const config_setting_t *s);
/* Expand the sweep value `s` (list or axis group) of sweepable key `k` into `ax`. */
int lr_cfg_expand_sweep(const lr_key *k, const char *path, const config_setting_t *s,
                        const char *loc, axis_rec *ax);
/* Move the axes found during validation (c->slots) into cfg, group the zipped ones and
 * number the points. */
int lr_cfg_collect_axes(vctx *c);
/* Free what an axis record owns and zero it. */
void lr_cfg_axis_release(axis_rec *ax);

#endif
