/* Descriptors of the candidate structs (candidate/candidate.h): for every field the name the
 * contract gives it, its kind, its place in the struct and the column or child table that keeps
 * it. Ingest uses them to canonicalize names and check lexical types, adapters to build and fill
 * the default schema. schema.c must agree with wsdl/ehrbridge.wsdl; a unit test checks that. */
#ifndef EB_SCHEMA_H
#define EB_SCHEMA_H

#include <stddef.h>
#include <string.h>

enum eb_kind {
    EB_KIND_STR,   /* xsd:string: const char * */
    EB_KIND_DATE,  /* a date or time in one of the vendor's formats: const char * */
    EB_KIND_INT,   /* xsd:long: struct eb_i64 */
    EB_KIND_DEC,   /* xsd:decimal, kept as its text: const char * */
    EB_KIND_BOOL,  /* xsd:boolean: int, EB_BOOL_UNSET / 0 / 1 */
    EB_KIND_ANY,   /* xsd:anyType: text, or JSON text for structured values: const char * */
    EB_KIND_OBJ,   /* a nested object: pointer to the struct of `type`, NULL when absent */
    EB_KIND_ARR,   /* an array of objects: pointer to `type` structs + size_t count */
    EB_KIND_STRARR /* an array of strings: const char ** + size_t count */
};

struct eb_type;

struct eb_field {
    const char *xml;     /* element name in the contract (canonical spelling) */
    const char *column;  /* scalars: column; OBJ: column prefix; ARR/STRARR: child table suffix */
    enum eb_kind kind;   /* what the field holds */
    size_t offset;       /* offset of the value in the parent struct */
    size_t count_offset; /* ARR, STRARR: offset of the size_t element count */
    const struct eb_type *type; /* OBJ, ARR: the element type; NULL otherwise */
};

struct eb_type {
    const char *name;              /* complexType name in the contract */
    size_t size;                   /* sizeof the C struct */
    const struct eb_field *fields; /* in contract order */
    size_t n_fields;               /* number of fields */
};

extern const struct eb_type eb_type_person;
extern const struct eb_type eb_type_manager;
extern const struct eb_type eb_type_owner;
extern const struct eb_type eb_type_name_value;
extern const struct eb_type eb_type_talent_pool;
extern const struct eb_type eb_type_source;
extern const struct eb_type eb_type_education;
extern const struct eb_type eb_type_experience;
extern const struct eb_type eb_type_award;
extern const struct eb_type eb_type_job;
extern const struct eb_type eb_type_subject;
extern const struct eb_type eb_type_feedback_item;
extern const struct eb_type eb_type_interviewer;
extern const struct eb_type eb_type_job_rank;
extern const struct eb_type eb_type_headcount;
extern const struct eb_type eb_type_custom_field;
extern const struct eb_type eb_type_offer_creator;
extern const struct eb_type eb_type_offer_attachment;
extern const struct eb_type eb_type_offer;
extern const struct eb_type eb_type_attachment;
extern const struct eb_type eb_type_link;
extern const struct eb_type eb_type_exam_report;
extern const struct eb_type eb_type_exam_attachment;
extern const struct eb_type eb_type_project;
extern const struct eb_type eb_type_language;
extern const struct eb_type eb_type_label;
extern const struct eb_type eb_type_remark;
extern const struct eb_type eb_type_survey_attachment;
extern const struct eb_type eb_type_survey;
extern const struct eb_type eb_type_practice;
extern const struct eb_type eb_type_candidate;
/* pushCandidate(id, event, triggeredAt, data): fields in that order (EB_PUSH_FIELD_*). */
enum { EB_PUSH_FIELD_ID, EB_PUSH_FIELD_EVENT, EB_PUSH_FIELD_TRIGGERED_AT, EB_PUSH_FIELD_DATA };
extern const struct eb_type eb_type_push;

/* 1 when name[0..len) equals the NUL-terminated canonical name ignoring ASCII case, '_' and '-'
 * ("applicationid", "CandidateId", "application_id" all equal "applicationId"). The one
 * comparison of the vendor's names, in XML and JSON alike. Allocates nothing. */
int eb_schema_name_is(const char *name, size_t len, const char *canon);

/* The field of type t whose contract name matches name ignoring ASCII case, '_' and '-'
 * ("applicationid", "CandidateId", "employee_id" all match). NULL when none does. */
const struct eb_field *eb_schema_find(const struct eb_type *t, const char *name, size_t len);

/* The kind's name as used in messages ("number", "boolean", "date", ...). */
const char *eb_kind_name(enum eb_kind k);

/* The pointer stored at p: a member of any pointer type of a domain struct, read through the
 * byte offsets of its descriptor. */
static inline const char *eb_field_ptr(const char *p)
{
    const char *r;
    memcpy(&r, p, sizeof r);
    return r;
}

#endif
