/* HDF5 helpers for lrlab's results files: tables as compound datasets, and attributes.
 *
 * A table becomes a one-dimensional compound dataset, one member per column: int32 for
 * integers, int8 for flags (1 held, 0 violated, -1 not applicable), float64 for reals
 * and a fixed-length UTF-8 string for names.  The dataset carries a `columns` attribute
 * with a "name: description" line per column, so the file explains itself.  String
 * attributes are variable-length UTF-8 (h5py reads them as str); the readers also take
 * the fixed-length strings of older files.  HDF5's own error printing is switched off;
 * every failure becomes one lrlab message. */
#ifndef LR_IO_H5_H
#define LR_IO_H5_H

#include <hdf5.h>
#include <stdint.h>

#include "run/table.h"

/* Switch HDF5's automatic error stack printing off (once, at start-up). */
void lr_h5_quiet(void);
/* H5Fcreate in the HDF5 1.8 format (attributes of any size); -1 on failure. */
hid_t lr_h5_create(const char *path, unsigned flags);
/* Why the HDF5 call that just failed failed, for a message: the system's error text (a
 * full disk, an I/O error) that HDF5 recorded on its error stack, or a generic phrase.
 * Call it before any other HDF5 call, which would clear the stack. */
const char *lr_h5_error_reason(void);

/* An integer column's missing value (a NaN cell of the table): INT32_MIN in the file. */
#define LR_H5_INT_MISSING INT32_MIN

int lr_h5_write_table(hid_t loc, const lr_table *t, const char *doc);
/* Read a compound dataset back into a table (columns typed from the file; names of fixed
 * or variable length, ASCII or UTF-8; LR_H5_INT_MISSING cells of an integer column as NaN). */
int lr_h5_read_table(hid_t loc, const char *name, lr_table **out);

/* A string attribute is written variable-length UTF-8. */
int lr_h5_attr_str(hid_t obj, const char *name, const char *value);
int lr_h5_attr_i64(hid_t obj, const char *name, long long value);
int lr_h5_attr_f64(hid_t obj, const char *name, double value);
/* Read a string attribute, variable or fixed length (malloc'd, caller frees); NULL if
 * absent or not a string. */
char *lr_h5_get_attr_str(hid_t obj, const char *name);
int lr_h5_get_attr_f64(hid_t obj, const char *name, double *value);

/* Write a 1-D float64 dataset. */
int lr_h5_write_vector(hid_t loc, const char *name, const double *v, size_t n);

#endif
