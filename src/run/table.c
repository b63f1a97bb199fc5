#include "table.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/mat.h"

lr_table *lr_table_alloc(const char *name)
{
    lr_table *t = calloc(1, sizeof *t);
    if (!t) LR_ERROR_NULL(LR_ENOMEM, "out of memory for the table %s", name);
    t->name = strdup(name);
    if (!t->name) {
        free(t);
        LR_ERROR_NULL(LR_ENOMEM, "out of memory for the table %s", name);
    }
    return t;
}

static int table_oom(lr_table *t, const char *what)
{
    t->failed = 1;
    lr_error(LR_ENOMEM, __FILE__, __LINE__, "table %s: out of memory for %s", t->name, what);
    return -1;
}

void lr_table_free(lr_table *t)
{
    if (!t) return;
    for (size_t c = 0; c < t->ncols; c++) {
        free(t->cols[c].name);
        free(t->cols[c].doc);
        for (size_t d = 0; d < t->cols[c].ndict; d++) free(t->cols[c].dict[d]);
        free(t->cols[c].dict);
    }
    free(t->cols);
    free(t->data);
    free(t->name);
    free(t);
}

int lr_table_add_column(lr_table *t, const char *name, lr_col_type type, const char *doc)
{
    if (t->nrows) return -1; /* the row layout is fixed once rows exist */
    lr_column *c = realloc(t->cols, (t->ncols + 1) * sizeof *c);
    if (!c) return table_oom(t, "a column");
    t->cols = c;
    lr_column *col = &t->cols[t->ncols];
    memset(col, 0, sizeof *col);
    col->name = strdup(name);
    col->doc = strdup(doc ? doc : "");
    col->type = type;
    if (!col->name || !col->doc) {
        free(col->name);
        free(col->doc);
        return table_oom(t, "a column's name");
    }
    return (int)t->ncols++;
}

int lr_table_dict_index(lr_table *t, size_t c, const char *name)
{
    if (c >= t->ncols) { /* a column whose allocation failed (-1) */
        t->failed = 1;
        return -1;
    }
    lr_column *col = &t->cols[c];
    for (size_t d = 0; d < col->ndict; d++)
        if (!strcmp(col->dict[d], name)) return (int)d;
    char **dict = realloc(col->dict, (col->ndict + 1) * sizeof *dict);
    if (!dict) return table_oom(t, "a name");
    col->dict = dict;
    if (!(dict[col->ndict] = strdup(name))) return table_oom(t, "a name");
    return (int)col->ndict++;
}

int lr_table_col(const lr_table *t, const char *name)
{
    for (size_t c = 0; c < t->ncols; c++)
        if (!strcmp(t->cols[c].name, name)) return (int)c;
    return -1;
}

int lr_table_reserve(lr_table *t, size_t nrows)
{
    if (nrows <= t->cap) return LR_OK;
    double *d = realloc(t->data, nrows * (t->ncols ? t->ncols : 1) * sizeof(double));
    if (!d) LR_ERRORF(LR_ENOMEM, "table %s: out of memory for %zu rows", t->name, nrows);
    t->data = d;
    t->cap = nrows;
    return LR_OK;
}

int lr_table_append(lr_table *t, const double *row)
{
    if (t->failed) LR_ERRORF(LR_ENOMEM, "table %s: out of memory for its columns or names", t->name);
    if (t->nrows == t->cap) LR_TRY(lr_table_reserve(t, t->cap ? 2 * t->cap : 64));
    memcpy(t->data + t->nrows * t->ncols, row, t->ncols * sizeof(double));
    t->nrows++;
    return LR_OK;
}

const char *lr_table_name_at(const lr_table *t, size_t row, size_t c)
{
    double v = lr_table_row(t, row)[c];
    if (v < 0 || (size_t)v >= t->cols[c].ndict) return "";
    return t->cols[c].dict[(size_t)v];
}
