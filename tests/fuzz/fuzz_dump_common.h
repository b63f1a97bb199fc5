/* What the dump fuzz targets share: where the file goes, and reading it as a run does. */
#ifndef LR_FUZZ_DUMP_COMMON_H
#define LR_FUZZ_DUMP_COMMON_H

/* A file path private to this process (in $TMPDIR, else /dev/shm, else /tmp). */
const char *lr_fuzz_dump_path(void);

/* Open the dump at path and read everything a run reads; returns lrlab's status. */
int lr_fuzz_dump_read(const char *path);

#endif
