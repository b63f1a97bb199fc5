#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];
static lr_error_handler_t *current_handler = NULL;

int lr_error(int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    if (current_handler) current_handler(last_message, file, line, code);
    return code;
}

lr_error_handler_t *lr_set_error_handler(lr_error_handler_t *handler)
{
    lr_error_handler_t *previous = current_handler;
    current_handler = handler;
    return previous;
}

const char *lr_last_error(void) { return last_message; }
void lr_clear_error(void) { last_message[0] = '\0'; }

const char *lr_strerror(int code)
{
    switch (code) {
    case LR_OK: return "success";
    case LR_EINVAL: return "invalid argument";
    case LR_ENOMEM: return "out of memory";
    case LR_ECONV: return "no convergence";
    case LR_EIO: return "input/output error";
    case LR_ECONFIG: return "bad configuration";
    case LR_ENUMERIC: return "numerical failure";
    case LR_EEXIST: return "output exists";
    case LR_ELAPACK: return "illegal LAPACK argument";
    case LR_EDATA: return "malformed data";
    case LR_ESINGULAR: return "singular or indefinite matrix";
    default: return "unknown error";
    }
}
