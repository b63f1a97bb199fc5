/* Between the dump reader (dump.c) and its isolating probe (dump_probe.c). */
#ifndef LR_IO_DUMP_IMPL_H
#define LR_IO_DUMP_IMPL_H

#include "dump.h"

/* lr_dump_open without the probe: the validating open, in this process. */
int lr_dump_open_here(const char *path, lr_dump **out);

/* Called after every layer the open reads and every block lr_dump_touch_all reads (the
 * probe's heartbeat); NULL for none. */
void lr_dump_set_beat(void (*beat)(void));

/* Read every dataset of an opened dump once, in blocks of at most 1 MiB, values dropped. */
int lr_dump_touch_all(const lr_dump *d, void (*beat)(void));

/* Variable-length string attributes: the probe's child records what it read
 * (lr_dump_vlen_record, then lr_dump_vlen_record_data: a buffer of len bytes), the parent
 * replays that record instead of reading them (lr_dump_vlen_replay copies it), and
 * lr_dump_vlen_clear ends either. */
void lr_dump_vlen_record(void);
const char *lr_dump_vlen_record_data(size_t *len);
int lr_dump_vlen_replay(const char *data, size_t len);
void lr_dump_vlen_clear(void);

/* Read the dump at path in a child process (dump_probe.c); LR_OK if it read whole, else
 * the child's refusal or why the child died. */
int lr_dump_probe(const char *path);

#endif
