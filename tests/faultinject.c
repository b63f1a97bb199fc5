/* Write-failure injection for the e2e sweep (issue 11, "Reliability"): an LD_PRELOAD
 * shim that makes a running lrlab's file writes fail from a chosen moment on.
 *
 * The model: a disk that fills up (ENOSPC) or a device that starts failing (EIO) at one
 * moment of a run, and stays that way.  Number 1, 2, 3, ... the calls the process makes,
 * in order, that write to a file under the directory $LR_FAULT_DIR (the "eligible" calls:
 * write, pwrite, pwrite64, writev, pwritev, pwritev64, pwritev2, fsync, fdatasync,
 * ftruncate, ftruncate64 on a descriptor whose /proc/self/fd link names a path there).
 * With LR_FAULT_AT = k, calls 1 .. k-1 go through and call k and every later one write
 * nothing and return -1 with errno $LR_FAULT_ERRNO (ENOSPC, EIO or a number; ENOSPC if
 * unset).  A run that makes N eligible calls is so tested at each of its N writes by
 * k = 1 .. N (k = N + 1 is the uninterrupted run).  Calls on other descriptors (stdout,
 * stderr, the config, files elsewhere) are never counted nor failed.
 *
 * Why a shim: the writes that matter are HDF5's (libhdf5 is a shared library, so its
 * calls to pwrite, write and ftruncate go through the PLT and reach this shim first) and
 * lrlab's checkpoint log (its own writev).  Writes made through stdio are not seen:
 * glibc's stdio calls its internal __write, which cannot be interposed.
 *
 * LR_FAULT_COUNT = path: at exit, the number of eligible calls made is written there.
 * LR_FAULT_TRACE = path: one line per eligible call, "NUMBER FUNCTION PATH [failed]", to
 * tell the checkpoint log's writes from the results file's.
 *
 * Eligibility is decided afresh at every call (descriptors are reused, so a cached answer
 * could go stale); the counter is atomic, as a run with -j N writes from several threads.
 * Built as a plain shared object without the project's CFLAGS (Makefile.am): a sanitized
 * shim would need the sanitizer runtime loaded before it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char fault_dir[PATH_MAX]; /* realpath of $LR_FAULT_DIR; empty: nothing is eligible */
static size_t fault_dir_len;
static unsigned long fault_at;   /* 0: never fail */
static int fault_errno = ENOSPC;
static int trace_fd = -1;
static atomic_ulong eligible_calls;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off64_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off64_t);

static void init(void)
{
    real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_pwrite = (ssize_t(*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = (ssize_t(*)(int, const void *, size_t, off64_t))dlsym(RTLD_NEXT, "pwrite64");
    real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(RTLD_NEXT, "writev");
    real_pwritev = (ssize_t(*)(int, const struct iovec *, int, off_t))dlsym(RTLD_NEXT, "pwritev");
    real_pwritev64 = (ssize_t(*)(int, const struct iovec *, int, off64_t))dlsym(RTLD_NEXT, "pwritev64");
    real_pwritev2 = (ssize_t(*)(int, const struct iovec *, int, off_t, int))dlsym(RTLD_NEXT, "pwritev2");
    real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    real_ftruncate = (int (*)(int, off_t))dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = (int (*)(int, off64_t))dlsym(RTLD_NEXT, "ftruncate64");

    const char *dir = getenv("LR_FAULT_DIR");
    if (dir && *dir && realpath(dir, fault_dir)) {
        fault_dir_len = strlen(fault_dir);
        while (fault_dir_len > 1 && fault_dir[fault_dir_len - 1] == '/') fault_dir[--fault_dir_len] = '\0';
    } else {
        fault_dir[0] = '\0';
        fault_dir_len = 0;
    }
    const char *at = getenv("LR_FAULT_AT");
    fault_at = at ? strtoul(at, NULL, 10) : 0;
    const char *e = getenv("LR_FAULT_ERRNO");
    if (e && !strcmp(e, "EIO")) fault_errno = EIO;
    else if (e && !strcmp(e, "ENOSPC")) fault_errno = ENOSPC;
    else if (e && atoi(e) > 0) fault_errno = atoi(e);
    const char *trace = getenv("LR_FAULT_TRACE");
    if (trace && *trace) trace_fd = open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

__attribute__((constructor)) static void faultinject_start(void) { pthread_once(&init_once, init); }

/* At exit (lrlab returns from main), the number of eligible calls made. */
__attribute__((destructor)) static void faultinject_stop(void)
{
    pthread_once(&init_once, init);
    const char *path = getenv("LR_FAULT_COUNT");
    if (path && *path && real_write) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            char line[32];
            int n = snprintf(line, sizeof line, "%lu\n", atomic_load(&eligible_calls));
            real_write(fd, line, (size_t)n);
            close(fd);
        }
    }
}

/* Whether fd names a file under the fault directory, now; its path in path. */
static int under_fault_dir(int fd, char *path, size_t len)
{
    if (fd < 0 || fault_dir_len == 0) return 0;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, len - 1);
    if (n <= 0) return 0;
    path[n] = '\0';
    return (size_t)n > fault_dir_len && !strncmp(path, fault_dir, fault_dir_len) && path[fault_dir_len] == '/';
}

/* Count an eligible call; 1 if it is to fail (errno is then set). */
static int should_fail(int fd, const char *function)
{
    int saved = errno;
    pthread_once(&init_once, init);
    char path[PATH_MAX];
    if (!under_fault_dir(fd, path, sizeof path)) {
        errno = saved;
        return 0;
    }
    unsigned long k = atomic_fetch_add(&eligible_calls, 1) + 1;
    int fail = fault_at > 0 && k >= fault_at;
    if (trace_fd >= 0 && real_write) {
        char line[PATH_MAX + 96];
        int n = snprintf(line, sizeof line, "%lu %s %s%s\n", k, function, path, fail ? " failed" : "");
        if (n > 0) real_write(trace_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    errno = fail ? fault_errno : saved;
    return fail;
}

/* The real function, or ENOSYS where this libc lacks it. */
#define REAL(fn, ...)                                                                      \
    do {                                                                                   \
        pthread_once(&init_once, init);                                                    \
        if (!real_##fn) {                                                                  \
            errno = ENOSYS;                                                                \
            return -1;                                                                     \
        }                                                                                  \
        return real_##fn(__VA_ARGS__);                                                     \
    } while (0)

ssize_t write(int fd, const void *buf, size_t n)
{
    if (should_fail(fd, "write")) return -1;
    REAL(write, fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (should_fail(fd, "pwrite")) return -1;
    REAL(pwrite, fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    if (should_fail(fd, "pwrite64")) return -1;
    REAL(pwrite64, fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    if (should_fail(fd, "writev")) return -1;
    REAL(writev, fd, iov, iovcnt);
}

ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    if (should_fail(fd, "pwritev")) return -1;
    REAL(pwritev, fd, iov, iovcnt, off);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
    if (should_fail(fd, "pwritev64")) return -1;
    REAL(pwritev64, fd, iov, iovcnt, off);
}

ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
    if (should_fail(fd, "pwritev2")) return -1;
    REAL(pwritev2, fd, iov, iovcnt, off, flags);
}

int fsync(int fd)
{
    if (should_fail(fd, "fsync")) return -1;
    REAL(fsync, fd);
}

int fdatasync(int fd)
{
    if (should_fail(fd, "fdatasync")) return -1;
    REAL(fdatasync, fd);
}

int ftruncate(int fd, off_t len)
{
    if (should_fail(fd, "ftruncate")) return -1;
    REAL(ftruncate, fd, len);
}

int ftruncate64(int fd, off64_t len)
{
    if (should_fail(fd, "ftruncate64")) return -1;
    REAL(ftruncate64, fd, len);
}
