/* Small text helpers shared by the parts that print numbers and build strings: the
 * configuration messages (src/io/), `lrlab export` (src/cli/) and `lrlab compare`
 * (src/run/compare.c). */
#ifndef LR_CORE_TEXT_H
#define LR_CORE_TEXT_H

#include <stddef.h>

/* A growing NUL-terminated string.  Start from {0}; an allocation failure sets `failed`,
 * after which appends do nothing (check it once at the end); free(b.s) when done. */
typedef struct lr_strbuf {
    char *s;
    size_t len, cap;
    int failed;
} lr_strbuf;

void lr_strbuf_putn(lr_strbuf *b, const char *s, size_t n);
void lr_strbuf_puts(lr_strbuf *b, const char *s);

/* x with the fewest significant digits (%.6g up to %.17g) that read back as x:
 * 0.9999999 prints as 0.9999999, not as 1, and 0.1 as 0.1.  (Below 6 digits %g prints the
 * same string, its trailing zeros dropped.)  Non-finite values print as printf's. */
void lr_text_real(double x, char *buf, size_t len);

#endif
