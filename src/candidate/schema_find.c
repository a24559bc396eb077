/* Lookups on the descriptors of schema.c: a field by a name spelled in any case with or without
 * '_' and '-' (eb_schema_find, on the one comparison of such names, eb_schema_name_is), and the names of the kinds for messages (eb_kind_name). */
#include "candidate/schema.h"

static int fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int ignored(unsigned char c)
{
    return c == '_' || c == '-';
}

int eb_schema_name_is(const char *name, size_t len, const char *canon)
{
    size_t i = 0;
    const unsigned char *q = (const unsigned char *)canon;
    for (;;) {
        while (i < len && ignored((unsigned char)name[i]))
            i++;
        while (*q && ignored(*q))
            q++;
        if (i == len || !*q)
            return i == len && !*q;
        if (fold((unsigned char)name[i]) != fold(*q))
            return 0;
        i++;
        q++;
    }
}

const struct eb_field *eb_schema_find(const struct eb_type *t, const char *name, size_t len)
{
    if (!t || !name)
        return NULL;
    for (size_t k = 0; k < t->n_fields; k++)
        if (eb_schema_name_is(name, len, t->fields[k].xml))
            return &t->fields[k];
    return NULL;
}

const char *eb_kind_name(enum eb_kind k)
{
    switch (k) {
    case EB_KIND_STR:
        return "string";
    case EB_KIND_DATE:
        return "date";
    case EB_KIND_INT:
        return "number";
    case EB_KIND_DEC:
        return "decimal";
    case EB_KIND_BOOL:
        return "boolean";
    case EB_KIND_ANY:
        return "value";
    case EB_KIND_OBJ:
        return "object";
    case EB_KIND_ARR:
        return "array";
    case EB_KIND_STRARR:
        return "string array";
    }
    return "value";
}
