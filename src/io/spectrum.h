/* Reading a measured singular-value spectrum (docs/theory.md section 3, Theorem 2: "a spectrum
 * measured on a real layer") from a plain text or an HDF5 file. */
#ifndef LR_IO_SPECTRUM_H
#define LR_IO_SPECTRUM_H

#include <stddef.h>

/* Read the values into a malloc'd array (caller frees).  An HDF5 file (recognised by its
 * signature, not its name) is read from the 1-D dataset `dataset` ("spectrum" when NULL
 * or empty); any other file is text: numbers separated by white space or commas, '#'
 * starting a comment.  The values must be finite and >= 0; they are sorted descending,
 * since a spectrum has no order of its own. */
int lr_spectrum_read(const char *path, const char *dataset, double **values, size_t *n);

#endif
