"""MariaDB through ODBC (Debian's odbc-mariadb) beyond what the odbc-mariadb runs of the whole
suite show: a connection string without OPTION=2 (FOUND_ROWS) is refused with a clear error, since
an UPDATE that changes nothing would count no row and a replayed candidate would be inserted twice.
Needs EB_MARIADB_ODBC (tools/mariadb.sh; skipped without it outside CI, as the odbc-mariadb runs)."""
import re

from conftest import mariadb_database, mariadb_odbc, odbc_driver, odbc_url, run_cli


def without_option(url):
    return ";".join(p for p in url.split(";") if not re.match(r"(?i)OPTIONS?=", p))


def test_a_connection_that_counts_changed_rows_is_refused(tmp_path):
    mariadb_odbc()
    odbc_driver("odbc-mariadb")
    url = odbc_url("odbc-mariadb", mariadb_database(tmp_path))
    assert re.search(r"(?i);OPTIONS?=2(;|$)", url), url
    r = run_cli("check", "--db", without_option(url))
    assert r.returncode != 0, (r.stdout, r.stderr)
    assert ("odbc: MySQL/MariaDB counts changed rows, not matched rows: add OPTION=2 (FOUND_ROWS) "
            "to the connection string") in r.stderr, r.stderr
    assert mariadb_odbc()["PWD"] not in r.stderr
    r = run_cli("check", "--db", url)
    assert r.returncode == 0 and "odbc database ready" in r.stdout, (r.stdout, r.stderr)
