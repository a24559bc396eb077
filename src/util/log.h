/* Logging: one line per event, text or JSON lines, to stderr. Callers never pass personal data
 * (names, phones, emails, citizen ids): log ids, counts, outcomes and field names only. */
#ifndef EB_LOG_H
#define EB_LOG_H

#include <stdint.h>

enum eb_log_level { EB_LOG_DEBUG = 0, EB_LOG_INFO, EB_LOG_WARN, EB_LOG_ERROR };
enum eb_log_format { EB_LOG_TEXT = 0, EB_LOG_JSON };

/* Sets the minimum level and the format; call before threads start. */
void eb_log_setup(enum eb_log_level min, enum eb_log_format fmt);

/* Logs one line: msg followed by key=value pairs given as alternating const char * keys and
 * values, terminated by NULL. Values are escaped; a NULL value is written as "-".
 * Example: eb_log(EB_LOG_INFO, "push", "push_id", id, "outcome", "stored", NULL); Thread-safe. */
void eb_log(enum eb_log_level level, const char *msg, ...) __attribute__((sentinel));

/* Sets the id of the request the calling thread is handling (0: none). While it is set, every
 * line this thread logs carries it as "request" right after the message, so that all the lines
 * of one request (the service's, the bridge's, the adapter's) can be found together. */
void eb_log_set_request(uint64_t id);

/* The id set on the calling thread by eb_log_set_request (0: none). */
uint64_t eb_log_request(void);

#endif
