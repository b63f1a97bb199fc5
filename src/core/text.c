#include "core/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lr_strbuf_putn(lr_strbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void lr_strbuf_puts(lr_strbuf *b, const char *s) { lr_strbuf_putn(b, s, strlen(s)); }

void lr_text_real(double x, char *buf, size_t len)
{
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) return;
    }
}
