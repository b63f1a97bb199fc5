/* libFuzzer target: the config reader with overrides and validation (issue 11).
 *
 * An input is a config text, optionally followed by lines "\n--\nkey=value" each giving
 * one command-line override.  The text is read with lr_config_read_string, the overrides
 * applied, and the result validated against the common schema and, when the text names a
 * registered experiment, that experiment's schemas (as `lrlab run` does).  Every input
 * must end in LR_OK or a clean error with a message; a crash, a leak, a sanitizer report
 * or a timeout is a finding.  Built by `make fuzz` with clang (-fsanitize=fuzzer,address,
 * undefined); seeds: configs/ and tests/fuzz/config_seeds, dictionary config.dict. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "core/error.h"
#include "io/config.h"
#include "run/run.h"

#define MAX_OVERRIDES 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        gsl_set_error_handler_off();
        init = 1;
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strlen(text) != size) { /* an embedded NUL: libconfig reads C strings */
        free(text);
        return 0;
    }
    /* The config, then one override per "\n--\n"-separated part. */
    const char *ov[MAX_OVERRIDES];
    size_t nov = 0;
    for (char *p = text; nov < MAX_OVERRIDES && (p = strstr(p, "\n--\n"));) {
        *p = '\0';
        p += 4;
        ov[nov++] = p;
    }
    for (size_t i = 0; i < nov; i++) {
        char *o = (char *)ov[i], *end = strstr(o, "\n--\n");
        size_t l = end ? (size_t)(end - o) : strlen(o);
        if (l && o[l - 1] == '\n') o[l - 1] = '\0';
    }
    lr_config *cfg = NULL;
    if (lr_config_read_string(&cfg, text, "fuzz.cfg", ov, nov) == LR_OK) {
        const lr_experiment *exp = lr_experiment_find(lr_config_peek_string(cfg, "experiment"));
        const lr_key *schemas[32];
        size_t n = lr_run_schemas(exp, schemas, 32);
        if (lr_config_validate(cfg, schemas, n) == LR_OK) {
            /* Read what a run reads: every point's value of every swept key. */
            for (size_t p = 0; p < lr_config_npoints(cfg) && p < 64; p++)
                for (size_t a = 0; a < lr_config_naxes(cfg); a++)
                    (void)lr_config_num(cfg, p, lr_config_axis_path(cfg, a));
            (void)lr_config_text(cfg);
        } else if (!lr_last_error()[0]) {
            abort(); /* an error without a message */
        }
        lr_config_free(cfg);
    } else if (!lr_last_error()[0]) {
        abort();
    }
    lr_clear_error();
    free(text);
    return 0;
}
