/* libFuzzer target: the layer-dump reader on byte-mutated files (issue 11).
 *
 * An input is the bytes of an HDF5 file.  They are written to a private file and read the
 * way `lrlab run` reads a dump: lr_dump_open (format, version, every layer's attributes and
 * shapes), every layer checked (W, b, X, Y streamed, Y = X W^T + b), its row index read,
 * the inputs and labels read, and, for a sequential dump, the network built and run on a
 * few inputs.  Every input must end in LR_OK or a clean error with a message; a crash, a
 * leak, a sanitizer report, a timeout or a memory blow-up is a finding.  HDF5 itself is not
 * instrumented: what is measured is what lrlab lets a damaged file reach.  Seeds: the test
 * dumps tests/mkdump writes (tests/fuzz/dump_seeds after `make fuzz`).
 *
 * The structured twin, fuzz_dump_fields.c, starts from a valid dump and makes one field
 * wrong; this one finds what HDF5's own parsing lets through. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>

#include "fuzz_dump_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = lr_fuzz_dump_path();
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    if (fclose(f) != 0) abort();
    lr_fuzz_dump_read(path);
    return 0;
}
