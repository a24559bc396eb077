/* libFuzzer harness of the direct path (ingest/direct.c): every input goes through both paths
 * of eb_ingest and, when the direct path reads it, through the generated bindings over the body
 * (what the server binds for it) and over the canonical document (tests/unit/oneparse_diff.h).
 * The same canonical document, push log payload, strings, warnings and struct eb_push, or the
 * same refusal, or the direct path declining; anything else aborts with the difference. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/oneparse_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    char why[300];
    if (!ready) {
        eb_ingest_global_init();
        ready = 1;
    }
    if (oneparse_diff((const char *)data, size, why, sizeof why) == ONEPARSE_DIFFERENT) {
        fprintf(stderr, "fuzz_oneparse: the paths differ: %s\n", why);
        abort();
    }
    return 0;
}
