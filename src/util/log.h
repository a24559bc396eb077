/* Logging: one line per event, text or JSON lines, to stderr. Callers never pass personal data
 * (names, phones, emails, citizen ids): log ids, counts, outcomes and field names only. */
#ifndef EB_LOG_H
#define EB_LOG_H

enum eb_log_level { EB_LOG_DEBUG = 0, EB_LOG_INFO, EB_LOG_WARN, EB_LOG_ERROR };
enum eb_log_format { EB_LOG_TEXT = 0, EB_LOG_JSON };

/* Sets the minimum level and the format; call before threads start. */
void eb_log_setup(enum eb_log_level min, enum eb_log_format fmt);

/* Logs one line: msg followed by key=value pairs given as alternating const char * keys and
 * values, terminated by NULL. Values are escaped; a NULL value is written as "-".
 * Example: eb_log(EB_LOG_INFO, "push", "push_id", id, "outcome", "stored", NULL); Thread-safe. */
void eb_log(enum eb_log_level level, const char *msg, ...) __attribute__((sentinel));

#endif
