/* A tidy table of results: named, typed columns over rows of doubles.
 *
 * Every value is held as a double in memory (integers, flags and the index of a name in
 * the column's dictionary are exact there), which keeps the trial loop free of per-type
 * code; the HDF5 writer turns each column into its own type (int32, int8, float64 or a
 * fixed-length string) in a compound dataset that pandas reads in one line. */
#ifndef LR_RUN_TABLE_H
#define LR_RUN_TABLE_H

#include <stddef.h>

typedef enum { LR_COL_INT, LR_COL_REAL, LR_COL_FLAG, LR_COL_NAME } lr_col_type;

typedef struct lr_column {
    char *name;
    lr_col_type type;
    char *doc;
    char **dict; /* names of a LR_COL_NAME column; values index this */
    size_t ndict;
} lr_column;

typedef struct lr_table {
    char *name;
    size_t ncols, nrows, cap;
    lr_column *cols;
    double *data; /* row-major: row i is data + i * ncols */
    /* Set when a column or a name could not be allocated (SQLite's mallocFailed): the
     * indices handed out may be -1, so appending to the table and writing it then fail
     * with LR_ENOMEM instead of storing rows built from them. */
    int failed;
} lr_table;

lr_table *lr_table_alloc(const char *name);
void lr_table_free(lr_table *t);
/* Returns the new column's index, or -1 (out of memory). */
int lr_table_add_column(lr_table *t, const char *name, lr_col_type type, const char *doc);
/* Index of `name` in the dictionary of column c, added if new; -1 on failure. */
int lr_table_dict_index(lr_table *t, size_t c, const char *name);
int lr_table_col(const lr_table *t, const char *name); /* -1 if absent */
int lr_table_reserve(lr_table *t, size_t nrows);
/* Append a row of ncols values (copied); returns LR_OK or LR_ENOMEM. */
int lr_table_append(lr_table *t, const double *row);
static inline double *lr_table_row(const lr_table *t, size_t i) { return t->data + i * t->ncols; }
/* The name stored in a LR_COL_NAME cell. */
const char *lr_table_name_at(const lr_table *t, size_t row, size_t c);

#endif
