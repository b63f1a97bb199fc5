/* The isolating probe: a layer dump is read first in a child process.
 *
 * Why: a dump comes from someone else, and HDF5 1.10 does not survive every damaged file.
 * Byte-mutated dumps crash it (in H5Aexists, H5HG_read, the metadata cache), make it spin
 * for minutes or ask for gigabytes, before lrlab sees any data; lrlab cannot fix HDF5.  So
 * lr_dump_open first runs the whole reader in a forked child: the same validating open and
 * then one pass over every dataset, in blocks, values thrown away.  The child reports its
 * status and message through a pipe and beats on it after every layer and block.  The
 * parent turns the child's death (a signal, an exit without a report), silence (no beat
 * for LR_DUMP_PROBE_IDLE seconds) or a refused allocation (the child's address space is
 * capped at what it had plus LR_DUMP_PROBE_MEMORY) into a clean refusal naming the file.
 * Only a file the child read whole is opened in this process, and HDF5 reads a file the
 * same way every time.
 *
 * The cost is one extra read of the file (for the shipped dumps, a few tens of
 * milliseconds) and a fork.  lr_dump_set_probe(0, 0) turns the probe off (the tests use it
 * to check the reader's own messages in-process). */
#include "dump_impl.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define LR_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LR_UNDER_ASAN 1
#endif
#endif

/* Present only under a sanitizer runtime (the fuzz targets, CI's sanitizer build). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static double probe_idle = LR_DUMP_PROBE_IDLE;
static size_t probe_memory = LR_DUMP_PROBE_MEMORY;

void lr_dump_set_probe(double idle_seconds, size_t memory_bytes)
{
    probe_idle = idle_seconds;
    probe_memory = memory_bytes;
}

/* ---- the child ---- */

static int beat_fd = -1;

/* The child's record of the variable-length strings it read (dump.c) is at most this big. */
#define PROBE_MAX_RECORD (1 << 20)

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void beat(void)
{
    if (beat_fd >= 0 && write_all(beat_fd, "b", 1) != 0) _exit(3);
}

/* The child's address space: what the process has now plus the budget (not under ASan,
 * whose shadow memory is address space; there the fuzzer's own malloc limit applies). */
static void cap_memory(void)
{
#ifndef LR_UNDER_ASAN
    if (!probe_memory) return;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    if (!pages) return;
    rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)probe_memory;
    struct rlimit rl = {cap, cap};
    setrlimit(RLIMIT_AS, &rl);
#endif
}

static _Noreturn void probe_child(const char *path, int fd)
{
    beat_fd = fd;
    /* The default actions, so that a crash in HDF5 ends the child and nothing else. */
    int deadly[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof deadly / sizeof deadly[0]; i++) signal(deadly[i], SIG_DFL);
    /* A sanitizer's report in the child (HDF5 reading out of bounds) ends the child; it must
     * not run a fuzzer's death callback, which would record the input as lrlab's crash. */
    if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NULL);
    cap_memory();
    /* The tests' stand-in for HDF5 looping on a damaged file: a child that never beats. */
    const char *stall = getenv("LRLAB_TEST_PROBE_STALL");
    if (stall && *stall == '1')
        for (;;) pause();
    lr_dump *d = NULL;
    lr_dump_set_beat(beat);
    lr_dump_vlen_record();
    int status = lr_dump_open_here(path, &d);
    if (status == LR_OK) status = lr_dump_touch_all(d, beat);
    lr_dump_close(d);
    const char *msg = status == LR_OK ? "" : lr_last_error();
    size_t vlen = 0;
    const char *vrec = lr_dump_vlen_record_data(&vlen);
    if (vlen > PROBE_MAX_RECORD) vlen = 0, status = lr_error(LR_EDATA, __FILE__, __LINE__,
                                                             "%s: its string attributes exceed %d bytes",
                                                             path, PROBE_MAX_RECORD), msg = lr_last_error();
    int32_t rec[3] = {status, (int32_t)strlen(msg), (int32_t)vlen};
    if (write_all(fd, "R", 1) != 0 || write_all(fd, rec, sizeof rec) != 0 ||
        write_all(fd, msg, (size_t)rec[1]) != 0 || write_all(fd, vrec, vlen) != 0)
        _exit(3);
    _exit(0); /* no atexit handlers: HDF5's belong to the parent */
}

/* ---- the parent ---- */

/* Read exactly n bytes of the report (the beats before it already consumed). */
static int read_exact(int fd, void *p, size_t n)
{
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int lr_dump_probe(const char *path)
{
    lr_dump_vlen_clear();
    if (probe_idle <= 0) return LR_OK;
    int fds[2];
    if (pipe(fds) != 0) LR_ERRORF(LR_EIO, "%s: cannot check the dump (pipe: %s)", path, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        LR_ERRORF(LR_EIO, "%s: cannot check the dump (fork: %s)", path, strerror(errno));
    }
    if (pid == 0) {
        close(fds[0]);
        probe_child(path, fds[1]);
    }
    close(fds[1]);
    int reported = 0, silent = 0, status = LR_OK;
    char msg[1024] = "", *vrec = NULL;
    size_t vlen = 0;
    struct pollfd pf = {fds[0], POLLIN, 0};
    for (;;) {
        int r = poll(&pf, 1, (int)(probe_idle * 1000));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            silent = 1;
            break;
        }
        char c;
        ssize_t got = r > 0 ? read(fds[0], &c, 1) : -1;
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break; /* the child is gone */
        if (c != 'R') continue; /* a beat */
        int32_t rec[3];
        if (read_exact(fds[0], rec, sizeof rec) == 0 && rec[1] >= 0 && (size_t)rec[1] < sizeof msg &&
            rec[2] >= 0 && rec[2] <= PROBE_MAX_RECORD && read_exact(fds[0], msg, (size_t)rec[1]) == 0) {
            msg[rec[1]] = '\0';
            vrec = malloc(rec[2] ? (size_t)rec[2] : 1);
            if (vrec && read_exact(fds[0], vrec, (size_t)rec[2]) == 0) {
                vlen = (size_t)rec[2];
                status = rec[0];
                reported = 1;
            }
        }
        break;
    }
    close(fds[0]);
    if (silent) kill(pid, SIGKILL);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (silent)
        LR_ERRORF(LR_EDATA, "%s: HDF5 made no progress reading this file for %g s (a damaged file can "
                  "make HDF5 1.10 loop): the dump is damaged or not an lrlab layer dump", path, probe_idle);
    if (reported && WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
        /* This process replays the child's variable-length strings (dump.c says why). */
        int s = status == LR_OK ? lr_dump_vlen_replay(vrec, vlen) : lr_error(status, __FILE__, __LINE__, "%s", msg);
        free(vrec);
        return s;
    }
    free(vrec);
    if (WIFSIGNALED(ws))
        LR_ERRORF(LR_EDATA, "%s: HDF5 crashed reading this file (signal %d, %s; lrlab reads every dump "
                  "first in a separate process): the dump is damaged", path, WTERMSIG(ws),
                  strsignal(WTERMSIG(ws)));
    LR_ERRORF(LR_EDATA, "%s: reading this file failed in the checking process (exit status %d, out of "
              "memory above %zu MiB or a crash in HDF5): the dump is damaged", path,
              WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, probe_memory >> 20);
}
