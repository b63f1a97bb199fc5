/* Error reporting for lrlab.
 *
 * Every fallible function returns an int status (LR_OK = 0 on success).  Errors are
 * raised through LR_ERROR / LR_ERRORF, which record the reason, source file and line
 * in one hookable function (as GSL's GSL_ERROR does) and return the code.  The last
 * message is kept per thread so that the command line can print it. */
#ifndef LR_CORE_ERROR_H
#define LR_CORE_ERROR_H

enum lr_status {
    LR_OK = 0,
    LR_EINVAL = 1,   /* invalid argument or dimension mismatch */
    LR_ENOMEM = 2,   /* allocation failed */
    LR_ECONV = 3,    /* an iterative LAPACK driver did not converge */
    LR_EIO = 4,      /* file could not be read or written */
    LR_ECONFIG = 5,  /* bad configuration value */
    LR_ENUMERIC = 6, /* NaN, Inf or another numerical failure */
    LR_EEXIST = 7,   /* output exists and --force was not given */
    LR_ELAPACK = 8,  /* LAPACK reported an illegal argument (a bug) */
    LR_EDATA = 9,    /* malformed input data */
    LR_ESINGULAR = 10 /* a factorisation met a singular or indefinite matrix (LAPACK info > 0) */
};

typedef void lr_error_handler_t(const char *reason, const char *file, int line, int code);

/* Record an error and return code.  Never aborts. */
int lr_error(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Install a handler called on every error (NULL restores the silent default).
 * Returns the previous handler. */
lr_error_handler_t *lr_set_error_handler(lr_error_handler_t *handler);

/* The message of the last error raised on this thread ("" if none). */
const char *lr_last_error(void);
void lr_clear_error(void);
const char *lr_strerror(int code);

#define LR_ERRORF(code, ...) return lr_error((code), __FILE__, __LINE__, __VA_ARGS__)
#define LR_ERROR(code, reason) return lr_error((code), __FILE__, __LINE__, "%s", (reason))
/* Record an error and return NULL (GSL's GSL_ERROR_NULL): for allocators, so that the
 * caller can report which allocation failed. */
#define LR_ERROR_NULL(code, ...)                                                           \
    do {                                                                                   \
        lr_error((code), __FILE__, __LINE__, __VA_ARGS__);                                 \
        return NULL;                                                                       \
    } while (0)
/* Propagate a non-zero status. */
#define LR_TRY(expr)                                                                       \
    do {                                                                                   \
        int lr_try_status_ = (expr);                                                       \
        if (lr_try_status_ != LR_OK) return lr_try_status_;                                \
    } while (0)

#endif
