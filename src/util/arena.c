/* A bump allocator: blocks chained, freed or reset at once; a hard maximum in total. */
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MIN  (64 * 1024)
#define BLOCK_KEEP (1024 * 1024) /* largest first block a reset keeps */

struct block {
    struct block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    alignas(max_align_t) unsigned char mem[];
};

struct eb_arena {
    struct block *head; /* current block; the first block is last in the chain */
    size_t total;       /* bytes handed out */
    size_t max;         /* hard maximum of total */
};

struct eb_arena *eb_arena_new(size_t max)
{
    struct eb_arena *a = calloc(1, sizeof *a);
    if (a)
        a->max = max;
    return a;
}

void *eb_arena_alloc(struct eb_arena *a, size_t n)
{
    const size_t al = alignof(max_align_t);
    n = (n + al - 1) & ~(al - 1);
    if (n == 0)
        n = al;
    if (n > a->max || a->total > a->max - n)
        return NULL;
    struct block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > BLOCK_MIN ? n : BLOCK_MIN;
        if (b && b->size * 2 > size && b->size < 4 * 1024 * 1024)
            size = b->size * 2;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->next = a->head;
        b->size = size;
        b->used = 0;
        a->head = b;
    }
    void *p = b->mem + b->used;
    b->used += n;
    a->total += n;
    return p;
}

void *eb_arena_zalloc(struct eb_arena *a, size_t n)
{
    void *p = eb_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *eb_arena_strndup(struct eb_arena *a, const char *s, size_t n)
{
    char *p = eb_arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

const char *eb_arena_strdup(struct eb_arena *a, const char *s, int *failed)
{
    if (!s)
        return NULL;
    const char *c = eb_arena_strndup(a, s, strlen(s));
    if (!c)
        *failed = 1;
    return c;
}

void eb_arena_reset(struct eb_arena *a)
{
    struct block *b = a->head;
    while (b && b->next) { /* keep only the first (oldest) block */
        struct block *next = b->next;
        free(b);
        b = next;
    }
    if (b && b->size > BLOCK_KEEP) { /* made for one large allocation: not kept */
        free(b);
        b = NULL;
    }
    a->head = b;
    if (b)
        b->used = 0;
    a->total = 0;
}

void eb_arena_free(struct eb_arena *a)
{
    if (!a)
        return;
    struct block *b = a->head;
    while (b) {
        struct block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}
