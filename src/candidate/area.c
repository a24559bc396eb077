/* Lookups in the vendor's area code table (candidate/area.h): a binary search over the table
 * generated from data/moka-area-codes.txt. */
#include "candidate/area.h"

const char *eb_area_name(int64_t code)
{
    size_t lo = 0, hi = eb_area_table_n;
    if (code <= 0 || code > INT32_MAX)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (eb_area_table[mid].code < code)
            lo = mid + 1;
        else if (eb_area_table[mid].code > code)
            hi = mid;
        else
            return eb_area_table[mid].name;
    }
    return NULL;
}

const char *eb_area_province(int64_t code)
{
    if (code < 100000 || code > 999999)
        return NULL;
    return eb_area_name(code / 10000 * 10000);
}

const char *eb_area_city(int64_t code)
{
    if (code < 100000 || code > 999999)
        return NULL;
    return eb_area_name(code / 100 * 100);
}
