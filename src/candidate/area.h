/* The vendor's administrative area codes (the attachment the record's nativePlaceCode and
 * nationalityCode refer to; data/moka-area-codes.txt, compiled in by cmake/area_codes.cmake):
 * code -> name. Codes are six digits: PPCCDD, province PP0000, city PPCC00, district PPCCDD. */
#ifndef EB_AREA_H
#define EB_AREA_H

#include <stddef.h>
#include <stdint.h>

/* One entry of the vendor's table. */
struct eb_area {
    int32_t code;     /* e.g. 310107 */
    const char *name; /* UTF-8, as the vendor writes it, e.g. "普陀District" */
};

/* The table, sorted by code (generated at build time). */
extern const struct eb_area eb_area_table[];
extern const size_t eb_area_table_n;

/* The name of code, or NULL when the table has no such code. Static storage; thread-safe. */
const char *eb_area_name(int64_t code);

/* The name of the province (PP0000) of code, or NULL when that code is not in the table. */
const char *eb_area_province(int64_t code);

/* The name of the city (PPCC00) of code, or NULL when that code is not in the table (the four
 * municipalities have no city level: their districts give NULL). */
const char *eb_area_city(int64_t code);

#endif
