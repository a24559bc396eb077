/* Tests of candidate/area: the vendor's area code table compiled from data/moka-area-codes.txt
 * (every pair of the attachment, sorted, no duplicate) and the lookups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/area.h"
#include "check.h"

/* The number of "code": "name" lines of the attachment, counted here independently. */
static size_t count_pairs(void)
{
    char path[1024], line[512];
    const char *src = getenv("EB_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/data/moka-area-codes.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = line + strspn(line, " \t");
        if (p[0] == '"' && p[1] >= '0' && p[1] <= '9' && strstr(p, "\": \""))
            n++;
    }
    fclose(f);
    return n;
}

int main(void)
{
    CHECK(eb_area_table_n == 3709);
    CHECK(eb_area_table_n == count_pairs());
    int sorted = 1;
    for (size_t i = 1; i < eb_area_table_n; i++)
        sorted &= eb_area_table[i - 1].code < eb_area_table[i].code;
    CHECK(sorted);
    /* the first, the last, the two lines indented differently in the attachment */
    CHECK_STR(eb_area_name(110000), "北京City");
    CHECK_STR(eb_area_name(820109), "澳门新城");
    CHECK_STR(eb_area_name(130671), "保定高新技术产业开发District");
    CHECK_STR(eb_area_name(230321), "鸡东县");
    /* the vendor's sample record: nativePlaceCode 310107 */
    CHECK_STR(eb_area_name(310107), "普陀District");
    CHECK_STR(eb_area_province(310107), "上海City");
    CHECK(eb_area_city(310107) == NULL); /* a municipality has no city level */
    CHECK_STR(eb_area_city(410322), "洛阳City");
    CHECK_STR(eb_area_province(410322), "河南");
    CHECK(eb_area_name(3) == NULL); /* the sample's nationalityCode: not in this table */
    CHECK(eb_area_name(0) == NULL && eb_area_name(-110000) == NULL);
    CHECK(eb_area_name(999999) == NULL && eb_area_name(10000000000LL) == NULL);
    CHECK(eb_area_province(42) == NULL && eb_area_city(1234567) == NULL);
    /* every name is non-empty UTF-8 text */
    int named = 1;
    for (size_t i = 0; i < eb_area_table_n; i++)
        named &= eb_area_table[i].name && eb_area_table[i].name[0] != '\0';
    CHECK(named);
    return check_report("test_area");
}
