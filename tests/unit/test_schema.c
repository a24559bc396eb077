/* The schema descriptors (src/candidate/schema.c) agree with the contract (wsdl/ehrbridge.wsdl):
 * the same fields, in the same order, with matching kinds; and the descriptor lookups. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include "candidate/schema.h"
#include "check.h"

static const struct eb_type *all_types[] = {
    &eb_type_person,
    &eb_type_manager,
    &eb_type_owner,
    &eb_type_name_value,
    &eb_type_talent_pool,
    &eb_type_source,
    &eb_type_education,
    &eb_type_experience,
    &eb_type_award,
    &eb_type_job,
    &eb_type_subject,
    &eb_type_feedback_item,
    &eb_type_interviewer,
    &eb_type_job_rank,
    &eb_type_headcount,
    &eb_type_custom_field,
    &eb_type_offer_creator,
    &eb_type_offer_attachment,
    &eb_type_offer,
    &eb_type_attachment,
    &eb_type_link,
    &eb_type_exam_report,
    &eb_type_exam_attachment,
    &eb_type_project,
    &eb_type_language,
    &eb_type_label,
    &eb_type_remark,
    &eb_type_survey_attachment,
    &eb_type_survey,
    &eb_type_practice,
    &eb_type_candidate,
};

static xmlNode *find_complex_type(xmlNode *schema, const char *name)
{
    for (xmlNode *n = schema->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "complexType"))
            continue;
        xmlChar *nm = xmlGetProp(n, (const xmlChar *)"name");
        int hit = nm && !strcmp((const char *)nm, name);
        xmlFree(nm);
        if (hit)
            return n;
    }
    return NULL;
}

static xmlNode *first_elem(xmlNode *n, const char *name)
{
    for (n = n ? n->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name))
            return n;
    return NULL;
}

/* The XSD type an element of kind k must have (for OBJ/ARR the referenced type's name). */
static void expected_type(const struct eb_field *f, char *out, size_t n)
{
    switch (f->kind) {
    case EB_KIND_STR:
    case EB_KIND_DATE:
        snprintf(out, n, "xsd:string");
        break;
    case EB_KIND_INT:
        snprintf(out, n, "xsd:long");
        break;
    case EB_KIND_DEC:
        snprintf(out, n, "xsd:decimal");
        break;
    case EB_KIND_BOOL:
        snprintf(out, n, "xsd:boolean");
        break;
    case EB_KIND_ANY:
        snprintf(out, n, "xsd:anyType");
        break;
    case EB_KIND_OBJ:
        snprintf(out, n, "tns:%s", f->type->name);
        break;
    case EB_KIND_ARR:
        snprintf(out, n, "tns:%sList", f->type->name);
        break;
    case EB_KIND_STRARR:
        snprintf(out, n, "tns:StringList");
        break;
    }
}

static void check_type(xmlNode *schema, const struct eb_type *t)
{
    xmlNode *ct = find_complex_type(schema, t->name);
    CHECK(ct != NULL);
    if (!ct) {
        fprintf(stderr, "complexType %s missing from the WSDL\n", t->name);
        return;
    }
    xmlNode *seq = first_elem(ct, "sequence");
    size_t i = 0;
    for (xmlNode *e = seq ? seq->children : NULL; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE)
            continue;
        xmlChar *name = xmlGetProp(e, (const xmlChar *)"name");
        xmlChar *type = xmlGetProp(e, (const xmlChar *)"type");
        char want[128];
        if (i < t->n_fields) {
            expected_type(&t->fields[i], want, sizeof want);
            int ok = name && type && !strcmp((const char *)name, t->fields[i].xml) &&
                     !strcmp((const char *)type, want);
            CHECK(ok);
            if (!ok)
                fprintf(stderr, "%s field %zu: WSDL %s:%s, descriptor %s:%s\n", t->name, i, name,
                        type, t->fields[i].xml, want);
        }
        xmlFree(name);
        xmlFree(type);
        i++;
    }
    CHECK(i == t->n_fields);
}

int main(void)
{
    const char *src = getenv("EB_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/wsdl/ehrbridge.wsdl", src ? src : ".");
    xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    CHECK(doc != NULL);
    if (!doc)
        return check_report("test_schema");
    xmlNode *types = first_elem(xmlDocGetRootElement(doc), "types");
    xmlNode *schema = first_elem(types, "schema");
    CHECK(schema != NULL);
    for (size_t i = 0; schema && i < sizeof all_types / sizeof all_types[0]; i++)
        check_type(schema, all_types[i]);
    xmlFreeDoc(doc);

    /* lookups ignore case, '_' and '-' */
    const struct eb_field *f = eb_schema_find(&eb_type_candidate, "applicationid", 13);
    CHECK(f && !strcmp(f->xml, "applicationId"));
    f = eb_schema_find(&eb_type_candidate, "CandidateId", 11);
    CHECK(f && !strcmp(f->xml, "candidateId"));
    f = eb_schema_find(&eb_type_owner, "employee_id", 11);
    CHECK(f && !strcmp(f->xml, "employeeId"));
    f = eb_schema_find(&eb_type_candidate, "movedAt", 7);
    CHECK(f && !strcmp(f->xml, "moved_at"));
    CHECK(eb_schema_find(&eb_type_candidate, "nosuchfield", 11) == NULL);
    /* no two fields of one type collide under that matching */
    for (size_t i = 0; i < sizeof all_types / sizeof all_types[0]; i++) {
        const struct eb_type *t = all_types[i];
        for (size_t k = 0; k < t->n_fields; k++) {
            const struct eb_field *g =
                eb_schema_find(t, t->fields[k].xml, strlen(t->fields[k].xml));
            CHECK(g == &t->fields[k]);
        }
    }
    return check_report("test_schema");
}
