/* A bump allocator for everything one request builds; freed or reset in one call. */
#ifndef EB_ARENA_H
#define EB_ARENA_H

#include <stddef.h>

struct eb_arena;

/* Creates an arena that hands out at most max bytes in total. NULL on allocation failure.
 * Caller frees with eb_arena_free(). */
struct eb_arena *eb_arena_new(size_t max);

/* Returns n bytes aligned for any type, or NULL when the arena's maximum or memory is exhausted. */
void *eb_arena_alloc(struct eb_arena *a, size_t n);

/* As eb_arena_alloc(), zero-filled. */
void *eb_arena_zalloc(struct eb_arena *a, size_t n);

/* Copies n bytes of s and a terminating NUL into the arena. NULL on exhaustion. */
char *eb_arena_strndup(struct eb_arena *a, const char *s, size_t n);

/* A copy of the NUL-terminated s in the arena; NULL stays NULL. When the arena is exhausted it
 * returns NULL and sets *failed to 1 (*failed is never cleared), so that a caller copying
 * several strings checks once. */
const char *eb_arena_strdup(struct eb_arena *a, const char *s, int *failed);

/* Forgets every allocation, keeping the first block for reuse unless it is larger than 1 MiB. */
void eb_arena_reset(struct eb_arena *a);

/* Frees the arena and everything in it (NULL-safe). */
void eb_arena_free(struct eb_arena *a);

#endif
