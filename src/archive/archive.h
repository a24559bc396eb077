/* The archive of the record's download links: a fetcher thread that claims queued links from
 * the database (table attachment, a lease per fetch so that replicas fetch each link once),
 * downloads them with libcurl under the rules of archive/policy.h, and keeps the files in the
 * database (in chunks) or a content-addressed directory; and the `ehrbridge attachments`
 * command that lists and writes them out. */
#ifndef EB_ARCHIVE_H
#define EB_ARCHIVE_H

#include "util/err.h"

struct eb_config;
struct eb_mapping;
struct eb_archive;

/* 1 when cfg asks for links to be queued and fetched (--attachments is not "off"). */
int eb_archive_enabled(const struct eb_config *cfg);

/* Starts the fetcher thread for cfg (the database of --db, opened by the thread itself with
 * mapping, which must outlive the archive). With --attachments off *out is NULL and nothing
 * runs. Pending fetches left by an earlier process resume once their lease lapses. cfg must
 * outlive the archive. Caller stops with eb_archive_stop(). */
eb_rc eb_archive_start(const struct eb_config *cfg, const struct eb_mapping *mapping,
                       struct eb_archive **out, struct eb_err *err);

/* Stops the thread (a download in progress is abandoned and stays pending) and frees.
 * NULL-safe. */
void eb_archive_stop(struct eb_archive *a);

/* `ehrbridge attachments [--status S] [--application-id ID] [OPTIONS]` and
 * `ehrbridge attachments get ID -o FILE [OPTIONS]`: argv[0..argc) are the arguments after the
 * command. Returns the exit status (0, 1 failure, 2 usage). */
int eb_archive_command(int argc, char **argv, char **envp);

#endif
