/*
 * log.h - the library's diagnostics: one line per event on stderr, prefixed
 * "feast-otel:", at most once per cause per minute. Silent by default except
 * for errors (FEAST_OTEL_LOG_LEVEL raises it). Never allocates; writes with
 * the real write(2) so our own hooks never see it.
 */
#ifndef FO_LOG_H
#define FO_LOG_H

enum fo_log_level { FO_LOG_ERROR = 0, FO_LOG_WARN = 1, FO_LOG_INFO = 2, FO_LOG_DEBUG = 3 };

/* Current threshold; messages above it are discarded. Default FO_LOG_ERROR. */
extern int fo_log_level;

/*
 * Writes "feast-otel: <message>\n" to stderr when level <= fo_log_level and
 * the cause (any static string naming the kind of event) has not been logged
 * in the last 60 s. Messages are truncated at 512 bytes. Thread-safe.
 */
/* Causes shared by several files: one pointer, one rate limit. */
extern const char fo_log_loss[]; /* telemetry is being dropped */

void fo_log(int level, const char *cause, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
