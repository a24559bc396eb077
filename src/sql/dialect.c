/* The SQL dialects the generator writes for (sql/sqlgen.h): SQLite's and PostgreSQL's; the ODBC
 * adapter describes its driver's at run time. */
#include "sql/sqlgen.h"

const struct eb_sql_dialect eb_sql_dialect_sqlite = {
    .name = "sqlite",
    .int_type = "INTEGER",
    .text_type = "TEXT",
    .real_type = "REAL",
    .blob_type = "BLOB",
    .numbered_params = 0,
    .has_upsert = 1,
    .child_table_options = " WITHOUT ROWID",
    .byte_collate = "",
};

const struct eb_sql_dialect eb_sql_dialect_postgres = {
    .name = "postgres",
    .int_type = "BIGINT",
    .text_type = "TEXT",
    .real_type = "DOUBLE PRECISION",
    .blob_type = "BYTEA",
    .numbered_params = 1,
    .has_upsert = 1,
    .child_table_options = "",
    .byte_collate = " COLLATE \"C\"",
    .any_array = 1,
};
