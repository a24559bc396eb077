/* libFuzzer harness of the mapping file parser (mapping/mapping.c): the input is a mapping
 * file; what parses is turned into statement text for both SQL dialects. */
#include <stddef.h>
#include <stdint.h>

#include "mapping/mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eb_mapping *m = NULL;
    struct eb_mapping_sql *s = NULL;
    struct eb_err err = {0};
    if (eb_mapping_parse("fuzz", (const char *)data, size, &m, &err) == EB_OK) {
        if (eb_mapping_sql_build(m, &eb_sql_dialect_sqlite, &s, &err) == EB_OK)
            eb_mapping_sql_free(s);
        s = NULL;
        if (eb_mapping_sql_build(m, &eb_sql_dialect_postgres, &s, &err) == EB_OK)
            eb_mapping_sql_free(s);
    }
    eb_mapping_free(m);
    return 0;
}
