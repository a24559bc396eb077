/* The PostgreSQL adapter's carried rows: in a transaction without savepoints (a batch's first
 * try), the rows of every candidate written as new are not sent one statement per row and push
 * but kept, per table, until the commit (or until a read needs them), and then sent as one
 * INSERT ... SELECT FROM unnest(one array per column) per table, with one DELETE of the
 * pushes' earlier push_warning rows: a batch of small pushes costs the database a few
 * statements for all of its candidates instead of five or six for each.
 *
 * The carried values are copied; the texts they borrow belong to the records being written,
 * which live until their writes complete, after the commit. A failure of the carried rows is
 * read by the commit: the bridge writes the batch again with savepoints, where nothing is
 * carried (eb_pg_candidate_write). */

#include "adapters/postgres_int.h"

/* Room kept from one transaction to the next, in values per table. */
#define CARRY_KEEP 4096

/* eb_sqlgen_row_fn: appends a row of t to its table's carried rows. */
static eb_rc carry_row(void *ctx, const struct eb_sql_table *t, const struct eb_sql_value *v,
                       struct eb_err *err)
{
    struct pg_adapter *g = ctx;
    struct pg_carry *c = &g->carry[t->index];
    if (!eb_pg_rows_add(&c->v, &c->cap, c->n, v, t->n_columns))
        return eb_err_set(err, EB_ERR_NOMEM, "postgres: out of memory");
    c->n++;
    return EB_OK;
}

int eb_pg_carried(const struct pg_adapter *g, int64_t app)
{
    for (size_t i = 0; i < g->n_carry_app; i++)
        if (g->carry_app[i] == app)
            return 1;
    return 0;
}

eb_rc eb_pg_carry(struct pg_adapter *g, const struct eb_push *p, const char *push_id, int64_t at,
                  struct eb_err *err)
{
    eb_rc rc;
    if (g->n_carry_app == PG_CARRY_APPS && (rc = eb_pg_carry_flush(g, err)))
        return rc;
    if (!g->carry && !(g->carry = calloc(g->schema->n_tables, sizeof *g->carry)))
        return eb_err_set(err, EB_ERR_NOMEM, "postgres: out of memory");
    /* a failure leaves rows of this record carried: the transaction is rolled back then */
    if ((rc = eb_sqlgen_walk(g->schema, p->data, push_id, at, carry_row, g, err)))
        return rc;
    g->carry_app[g->n_carry_app] = p->data->application_id.v;
    g->carry_wrm[g->n_carry_app++] = p->keep_warnings ? NULL : push_id;
    return EB_OK;
}

/* Sends one DELETE of the push_warning rows of every carried push id (that keeps none). */
static eb_rc send_warning_deletes(struct pg_adapter *g, struct eb_err *err)
{
    struct eb_buf b;
    size_t n = 0;
    for (size_t i = 0; i < g->n_carry_app; i++)
        n += g->carry_wrm[i] != NULL;
    if (!n)
        return EB_OK;
    eb_buf_init(&b, 0x7fffffff);
    /* a text[] in binary: ndim, has-null, element type, length, lower bound, then elements */
    int ok = eb_pg_put32(&b, 1) && eb_pg_put32(&b, 0) && eb_pg_put32(&b, TEXTOID) &&
             eb_pg_put32(&b, (uint32_t)n) && eb_pg_put32(&b, 1);
    for (size_t i = 0; ok && i < g->n_carry_app; i++) {
        const char *id = g->carry_wrm[i];
        size_t len = id ? strlen(id) : 0;
        ok = !id || (eb_pg_put32(&b, (uint32_t)len) && eb_buf_append(&b, id, len) == EB_OK);
    }
    if (ok) {
        g->pv[0] = b.data;
        g->pl[0] = (int)b.len;
        g->pf[0] = 1;
        ok = eb_pg_send_prepared(g, "eb_wrm_many", 1);
    } else {
        eb_pg_note_fail(g, NULL, "binding", "out of memory");
    }
    eb_buf_free(&b);
    return ok ? EB_OK : eb_pg_fail_rc(g, err);
}

eb_rc eb_pg_carry_flush(struct pg_adapter *g, struct eb_err *err)
{
    eb_rc rc = EB_OK;
    if (!g->n_carry_app)
        return EB_OK;
    const struct eb_sql_schema *sc = g->schema;
    /* the candidates' rows first: the tables in the order they were created */
    for (size_t i = sc->candidate; !rc && g->carry && i < sc->n_tables; i++) {
        struct pg_carry *c = &g->carry[i];
        const struct eb_sql_table *t = &sc->tables[i];
        if (!c->n)
            continue;
        if (c->n < 2 || !g->many_sql[i]) {
            for (size_t r = 0; !rc && r < c->n; r++) {
                g->fresh = t->role == EB_SQL_ROLE_CANDIDATE; /* a plain INSERT: never purged */
                rc = eb_pg_send_one_row(g, t, c->v + r * t->n_columns, err);
            }
            g->fresh = 0;
        } else {
            rc = eb_pg_send_many(g, t, c->v, c->n, err);
        }
        c->n = 0;
    }
    if (!rc)
        rc = send_warning_deletes(g, err);
    /* their results are read by the next sync; a taken key there is the one candidate's when
     * it was alone (tx_fail_after) */
    g->pending = 1;
    g->pending_fresh = g->n_carry_app == 1;
    g->pending_app = g->carry_app[0];
    eb_pg_carry_reset(g);
    return rc;
}

void eb_pg_carry_reset(struct pg_adapter *g)
{
    g->n_carry_app = 0;
    for (size_t i = 0; g->carry && g->schema && i < g->schema->n_tables; i++) {
        struct pg_carry *c = &g->carry[i];
        c->n = 0;
        if (c->cap > CARRY_KEEP) { /* a large record's: not kept for the next transaction */
            free(c->v);
            c->v = NULL;
            c->cap = 0;
        }
    }
}

void eb_pg_carry_free(struct pg_adapter *g)
{
    for (size_t i = 0; g->carry && g->schema && i < g->schema->n_tables; i++)
        free(g->carry[i].v);
    free(g->carry);
    g->carry = NULL;
    g->n_carry_app = 0;
}
