/* push_warning's statement text and row values (see warning_sql.h). */
#include "adapters/warning_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/candidate.h"

eb_rc eb_warning_sql_build(const struct eb_sql_dialect *d, struct eb_warning_sql *s,
                           struct eb_err *err)
{
    char buf[512];
    const char *key = d->key_text_type ? d->key_text_type : d->text_type;
    memset(s, 0, sizeof *s);
    snprintf(buf, sizeof buf,
             "CREATE TABLE IF NOT EXISTS \"push_warning\" (\"push_id\" %s NOT NULL, \"seq\" %s "
             "NOT NULL, \"field\" %s NOT NULL, \"value\" %s, \"reason\" %s NOT NULL, PRIMARY KEY "
             "(\"push_id\", \"seq\"))",
             key, d->int_type, d->text_type, d->text_type, d->text_type);
    s->ddl = strdup(buf);
    snprintf(buf, sizeof buf,
             "INSERT INTO \"push_warning\" (\"push_id\", \"seq\", \"field\", \"value\", "
             "\"reason\") VALUES (%s)",
             d->numbered_params ? "$1, $2, $3, $4, $5" : "?, ?, ?, ?, ?");
    s->insert = strdup(buf);
    snprintf(buf, sizeof buf, "DELETE FROM \"push_warning\" WHERE \"push_id\" = %s",
             d->numbered_params ? "$1" : "?");
    s->remove = strdup(buf);
    if (!s->ddl || !s->insert || !s->remove) {
        eb_warning_sql_free(s);
        return eb_err_set(err, EB_ERR_NOMEM, "push_warning: out of memory");
    }
    return EB_OK;
}

void eb_warning_sql_free(struct eb_warning_sql *s)
{
    free(s->ddl);
    free(s->insert);
    free(s->remove);
    memset(s, 0, sizeof *s);
}

void eb_warning_sql_values(const struct eb_push *p, const char *push_id, size_t i,
                           struct eb_sql_value *v)
{
    const struct eb_warning *w = &p->warnings[i];
    const char *text[] = {push_id, NULL, w->field, w->value, w->reason};
    memset(v, 0, EB_WARNING_SQL_COLUMNS * sizeof *v);
    for (size_t k = 0; k < EB_WARNING_SQL_COLUMNS; k++) {
        if (k == 1) {
            v[k].type = EB_SQL_VINT;
            v[k].i = (int64_t)i;
        } else {
            v[k].type = EB_SQL_VTEXT;
            v[k].s = text[k];
            v[k].len = strlen(text[k]);
        }
    }
}
