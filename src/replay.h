/* `ehrbridge replay`: re-runs pushes recorded in push_log through the current ingest, mapping,
 * validation and adapter (after a database outage, or after an upgrade that accepts more). */
#ifndef EB_REPLAY_H
#define EB_REPLAY_H

#include "adapters/adapter.h"
#include "config.h"

/* What to replay, from the command line. */
struct eb_replay_opts {
    struct eb_push_filter filter; /* which push_log rows */
    int all;                      /* --all: no filter was given on purpose */
    int dry_run;                  /* --dry-run: print what would happen, write nothing */
    const char *since;            /* --since text (argv), read in the EHR's zone at run */
    const char *until;            /* --until text (argv) */
};

/* Takes the replay options (--push-id ID, --outcome stored|rejected|failed, --since TIME,
 * --until TIME, --all, --dry-run; TIME as the date grammar reads it, util/date.h) out of
 * argv[0..*argc), leaving the other arguments in order for the configuration. Returns 0, or 2
 * after printing a one-line error. */
int eb_replay_args(int *argc, char **argv, struct eb_replay_opts *o);

/* Replays the rows o selects; prints one line per push and a summary. Idempotent: a push
 * already stored from the same data stays stored; a push whose candidate has been replaced by a
 * later push is skipped ("superseded"). Returns the exit status (0 ok, 1 failures). */
int eb_replay_run(const struct eb_config *cfg, const struct eb_replay_opts *o);

/* What became of one push replayed by eb_replay_row. */
struct eb_replay_result {
    enum eb_outcome outcome; /* the outcome recorded afterwards (unchanged when skipped/failed) */
    int superseded;          /* 1: a later push holds the candidate; nothing was written */
    int skipped;             /* 1: not replayable (another event, nothing kept, no longer reads) */
    int failed;              /* 1: the database failed */
    char message[256];       /* the recorded message of a rejected push ("" when none) */
    char line[512];          /* the line `ehrbridge replay` prints for it, without newline */
};

/* Replays one push_log row exactly as eb_replay_run does for each row it lists (ingest, bind,
 * map, validate, eb_adapter_replay_push on writer), without printing: *res says what became of
 * it. Returns 0 when the push was replayed (stored, rejected or superseded), 1 otherwise. */
int eb_replay_row(struct eb_adapter *writer, const struct eb_logged_push *row,
                  struct eb_replay_result *res);

#endif
