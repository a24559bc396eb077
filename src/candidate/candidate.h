/* The candidate record Moka pushes, as plain C: one struct per complex type of the contract
 * (wsdl/ehrbridge.wsdl). No gSOAP and no database types here. Strings are borrowed from the
 * request arena and live until the request ends; absent values are NULL / unset / -1. */
#ifndef EB_CANDIDATE_H
#define EB_CANDIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* An optional integer (xsd:long). */
struct eb_i64 {
    int64_t v; /* the value when set */
    int set;   /* 1 when the element was present */
};

/* An optional boolean: EB_BOOL_UNSET, 0 or 1. */
#define EB_BOOL_UNSET (-1)

/* Contract type Person. */
struct eb_person {
    const char *name;   /* name */
    const char *email;  /* email */
    const char *phone;  /* phone */
    const char *number; /* number */
};

/* Contract type Manager. */
struct eb_manager {
    const char *name;        /* name */
    const char *phone;       /* phone */
    const char *email;       /* email */
    const char *number;      /* number */
    const char *employee_id; /* employeeId */
};

/* Contract type Owner. */
struct eb_owner {
    const char *name;        /* name */
    const char *phone;       /* phone */
    const char *email;       /* email */
    const char *employee_id; /* employeeId */
};

/* Contract type NameValue. */
struct eb_name_value {
    const char *name;  /* name */
    const char *value; /* value: text, or JSON text for structured values */
    const char *codes; /* codes */
};

/* Contract type TalentPool. */
struct eb_talent_pool {
    struct eb_i64 talent_pool_id; /* talentPoolId */
    const char *name;             /* name */
    const char *description;      /* description */
};

/* Contract type Source. */
struct eb_source {
    struct eb_i64 id; /* id */
    const char *name; /* name */
    int is_builtin;   /* isBuiltin: EB_BOOL_UNSET, 0 or 1 */
};

/* Contract type Education. */
struct eb_education {
    const char *start_date;      /* startDate */
    const char *end_date;        /* endDate */
    int now;                     /* now: EB_BOOL_UNSET, 0 or 1 */
    const char *school;          /* school */
    const char *speciality;      /* speciality */
    const char *academic_degree; /* academicDegree */
};

/* Contract type Experience. */
struct eb_experience {
    const char *start_date;         /* startDate */
    const char *end_date;           /* endDate */
    int now;                        /* now: EB_BOOL_UNSET, 0 or 1 */
    const char *company;            /* company */
    const char *title;              /* title */
    const char *department;         /* department */
    const char *salary;             /* salary */
    const char *summary;            /* summary */
    const char *reason_for_leaving; /* reasonForLeaving */
    const char *underling_number;   /* underlingNumber */
    const char *type;               /* type */
    const char *location;           /* location */
    const char *size;               /* size */
};

/* Contract type Award. */
struct eb_award {
    const char *award_date; /* awardDate */
    const char *award_name; /* awardName */
};

/* Contract type Job. */
struct eb_job {
    const char *job_id;                  /* jobId */
    const char *title;                   /* title */
    const char *department;              /* department */
    const char *department_path;         /* departmentPath */
    const char *department_code;         /* departmentCode */
    const char *parent_department_code;  /* parentDepartmentCode */
    const char *competency_type;         /* competencyType */
    const char *job_description;         /* jobDescription */
    struct eb_name_value *custom_fields; /* customFields */
    size_t custom_fields_n;
};

/* Contract type Subject. */
struct eb_subject {
    struct eb_i64 type;      /* type */
    const char *title;       /* title */
    const char *description; /* description */
    const char *result;      /* result: text, or JSON text for structured values */
    const char *reason;      /* reason */
    const char **options;    /* options */
    size_t options_n;
};

/* Contract type FeedbackItem. */
struct eb_feedback_item {
    struct eb_i64 type;          /* type */
    const char *title;           /* title */
    const char *description;     /* description */
    const char *result;          /* result: text, or JSON text for structured values */
    const char *calc_score_type; /* calcScoreType */
    struct eb_i64 score_type;    /* scoreType */
    const char *need_reason;     /* needReason */
    struct eb_subject *subjects; /* subjects */
    size_t subjects_n;
};

/* Contract type Interviewer. */
struct eb_interviewer {
    const char *name;               /* name */
    const char *email;              /* email */
    const char *phone;              /* phone */
    struct eb_i64 id;               /* id */
    const char *group_id;           /* groupId */
    const char *interview_type;     /* interviewType */
    const char *attend_status;      /* attendStatus */
    const char *cancel_reason;      /* cancelReason */
    const char *participated;       /* participated */
    const char *status;             /* status */
    struct eb_i64 round;            /* round */
    const char *round_name;         /* roundName */
    const char *round_other_name;   /* roundOtherName: text, or JSON text for structured values */
    const char *start_time;         /* startTime */
    const char *created_at;         /* createdAt */
    const char *location_country;   /* locationCountry */
    struct eb_i64 location_city_id; /* locationCityId */
    const char *location_address;   /* locationAddress */
    struct eb_i64 result;           /* result */
    const char *result_name;        /* resultName */
    struct eb_i64 result_type;      /* resultType */
    const char *feedback;           /* feedback */
    struct eb_feedback_item *feedback_template_result; /* feedbackTemplateResult */
    size_t feedback_template_result_n;
};

/* Contract type JobRank. */
struct eb_job_rank {
    const char *name;  /* name */
    const char *type;  /* type */
    const char *level; /* level */
};

/* Contract type Headcount. */
struct eb_headcount {
    struct eb_i64 id;   /* id */
    const char *number; /* number */
    const char *name;   /* name */
    const char *status; /* status */
};

/* Contract type CustomField. */
struct eb_custom_field {
    const char *name;    /* name */
    const char *value;   /* value: text, or JSON text for structured values */
    int now;             /* now: EB_BOOL_UNSET, 0 or 1 */
    const char *section; /* section */
    const char *index;   /* index */
    const char *codes;   /* codes */
};

/* Contract type OfferCreator. */
struct eb_offer_creator {
    const char *name;  /* name */
    const char *email; /* email */
};

/* Contract type OfferAttachment. */
struct eb_offer_attachment {
    const char *name;              /* name */
    struct eb_i64 size;            /* size */
    const char *download_url;      /* downloadUrl */
    struct eb_i64 attachment_type; /* attachmentType */
};

/* Contract type Offer. */
struct eb_offer {
    const char *created_at;              /* createdAt */
    const char *status;                  /* status */
    const char *approval_status;         /* approvalStatus */
    const char *salary_number;           /* salaryNumber */
    const char *checkin_date;            /* checkinDate */
    const char *location;                /* location */
    struct eb_offer_creator *creator;    /* creator, NULL when absent */
    const char *finished_at;             /* finishedAt */
    struct eb_name_value *custom_fields; /* customFields */
    size_t custom_fields_n;
    struct eb_offer_attachment *attachment_list; /* attachmentList */
    size_t attachment_list_n;
    struct eb_headcount *hc_info;              /* hcInfo, NULL when absent */
    struct eb_job_rank *job_rank_info;         /* jobRankInfo, NULL when absent */
    const char *department_name;               /* departmentName */
    const char *department_code;               /* departmentCode */
    const char *parent_department_code;        /* parentDepartmentCode */
    const char *department_path;               /* departmentPath */
    const char *offer_last_sent_at;            /* offerLastSentAt */
    const char *offer_attachment_download_url; /* offerAttachmentDownloadUrl */
    const char *last_company;                  /* lastCompany */
};

/* Contract type Attachment. */
struct eb_attachment {
    const char *name;              /* name */
    struct eb_i64 apply_form_id;   /* applyFormId */
    struct eb_i64 size;            /* size */
    const char *url;               /* url */
    struct eb_i64 custom_field_id; /* customFieldId */
    const char *custom_field_name; /* customFieldName */
    const char *type;              /* type */
};

/* Contract type Link. */
struct eb_link {
    const char *url; /* url */
};

/* Contract type ExamReport. */
struct eb_exam_report {
    const char *name;          /* name */
    const char *url;           /* url */
    const char *type;          /* type */
    const char *result;        /* result */
    const char *detail_result; /* detailResult */
};

/* Contract type ExamAttachment. */
struct eb_exam_attachment {
    const char *name;          /* name */
    const char *url;           /* url */
    const char *result;        /* result */
    const char *detail_result; /* detailResult */
};

/* Contract type Project. */
struct eb_project {
    const char *start_date;       /* startDate */
    const char *end_date;         /* endDate */
    const char *project_name;     /* projectName */
    const char *title;            /* title */
    const char *project_descript; /* projectDescript */
    const char *responsibilities; /* responsibilities */
    int now;                      /* now: EB_BOOL_UNSET, 0 or 1 */
};

/* Contract type Language. */
struct eb_language {
    const char *language;         /* language */
    const char *level;            /* level */
    const char *listen_and_speak; /* listenAndSpeak */
    const char *read_and_write;   /* readAndWrite */
};

/* Contract type Label. */
struct eb_label {
    struct eb_i64 id;  /* id */
    const char *label; /* label */
};

/* Contract type Remark. */
struct eb_remark {
    struct eb_person *creator; /* creator, NULL when absent */
    const char *content;       /* content */
    struct eb_person *targets; /* targets */
    size_t targets_n;
    struct eb_i64 is_private; /* is_private */
    const char *type;         /* type */
    const char *created_at;   /* created_at */
};

/* Contract type SurveyAttachment. */
struct eb_survey_attachment {
    const char *survey_attachments_url; /* surveyAttachmentsUrl */
    const char *survey_attachment_name; /* surveyAttachmentName */
};

/* Contract type Survey. */
struct eb_survey {
    const char *name;                                /* name */
    const char *date;                                /* date */
    const char *result;                              /* result */
    const char *survey_attachments_url;              /* surveyAttachmentsUrl */
    const char *survey_attachment_name;              /* surveyAttachmentName */
    struct eb_survey_attachment *survey_attachments; /* surveyAttachments */
    size_t survey_attachments_n;
};

/* Contract type Practice. */
struct eb_practice {
    const char *start_date; /* startDate */
    const char *end_date;   /* endDate */
    const char *company;    /* company */
    const char *title;      /* title */
};

/* Contract type Candidate. */
struct eb_candidate {
    struct eb_i64 application_id;             /* applicationId */
    struct eb_i64 candidate_id;               /* candidateId */
    const char *moved_at;                     /* moved_at */
    const char *name;                         /* name */
    const char *prefix_phone;                 /* prefixPhone */
    const char *phone;                        /* phone */
    const char *email;                        /* email */
    const char *gender;                       /* gender */
    struct eb_i64 gender_code;                /* genderCode */
    const char *created_at;                   /* created_at */
    struct eb_i64 birth_year;                 /* birthYear */
    const char *birth_date;                   /* birthDate */
    const char *ethnic;                       /* ethnic */
    struct eb_i64 ethnic_code;                /* ethnicCode */
    struct eb_i64 certificate_type;           /* certificateType */
    const char *citizen_id;                   /* citizenId */
    const char *nationality;                  /* nationality */
    struct eb_i64 nationality_code;           /* nationalityCode */
    const char *native_place;                 /* nativePlace */
    struct eb_i64 native_place_code;          /* nativePlaceCode */
    struct eb_i64 experience;                 /* experience */
    const char *portrait_url;                 /* portraitUrl */
    struct eb_i64 hire_mode;                  /* hireMode */
    const char *finished_at;                  /* finishedAt */
    const char *industry;                     /* industry */
    int archived;                             /* archived: EB_BOOL_UNSET, 0 or 1 */
    const char *archived_at;                  /* archivedAt */
    struct eb_i64 archive_reason_id;          /* archiveReasonId */
    const char *archive_reasons;              /* archiveReasons */
    const char *archive_reasons_details;      /* archiveReasonsDetails */
    struct eb_talent_pool *talent_pools_list; /* talentPoolsList */
    size_t talent_pools_list_n;
    const char *source;            /* source */
    struct eb_source *source_list; /* sourceList */
    size_t source_list_n;
    struct eb_i64 source_type;          /* sourceType */
    const char *location;               /* location */
    const char *last_company;           /* lastCompany */
    const char *academic_degree;        /* academicDegree */
    struct eb_i64 academic_degree_code; /* academicDegreeCode */
    const char *last_speciality;        /* lastSpeciality */
    const char *married;                /* married */
    const char *personal;               /* personal */
    const char *salary;                 /* salary */
    const char *forward_location;       /* forwardLocation */
    const char *aim_salary;             /* aimSalary */
    const char *personal_interests;     /* personalInterests */
    const char *political;              /* political */
    const char *job_commitment;         /* jobCommitment */
    const char *resume_key;             /* resumeKey */
    const char *stage_name;             /* stageName */
    const char *probation;              /* probation: text, or JSON text for structured values */
    const char *officeweb365_url;       /* officeweb365Url */
    const char *officeweb365_print_url; /* officeweb365PrintUrl */
    const char *resume_pdf_meta; /* resumePdfMeta: text, or JSON text for structured values */
    const char *resume_url;      /* resumeUrl */
    struct eb_education *education_info; /* educationInfo */
    size_t education_info_n;
    struct eb_experience *experience_info; /* experienceInfo */
    size_t experience_info_n;
    struct eb_award *award_info; /* awardInfo */
    size_t award_info_n;
    struct eb_project *project_info; /* projectInfo */
    size_t project_info_n;
    struct eb_language *language_info; /* languageInfo */
    size_t language_info_n;
    struct eb_practice *practice_info; /* practiceInfo */
    size_t practice_info_n;
    struct eb_job *job;                /* job, NULL when absent */
    struct eb_manager *job_manager;    /* jobManager, NULL when absent */
    struct eb_manager *job_assistants; /* jobAssistants */
    size_t job_assistants_n;
    struct eb_job_rank *job_ranks_info; /* jobRanksInfo */
    size_t job_ranks_info_n;
    struct eb_headcount *headcount_info; /* headcountInfo */
    size_t headcount_info_n;
    struct eb_interviewer *interviewers; /* interviewers */
    size_t interviewers_n;
    const char *interview_feedback_url;           /* interviewFeedbackUrl */
    struct eb_interviewer *extended_interviewers; /* extendedInterviewers */
    size_t extended_interviewers_n;
    const char *extended_interviewer_feedback_url; /* extendedInterviewerFeedbackUrl */
    struct eb_custom_field *custom_fields;         /* customFields */
    size_t custom_fields_n;
    struct eb_name_value *ehr_custom_fields; /* ehrCustomFields */
    size_t ehr_custom_fields_n;
    const char *ehr_candidate_external_link; /* ehrCandidateExternalLink */
    const char **id_card_front_list;         /* idCardFrontList */
    size_t id_card_front_list_n;
    const char *id_card_back_list; /* idCardBackList: text, or JSON text for structured values */
    const char *id_card_sign_organization; /* idCardSignOrganization */
    const char *id_card_validity;          /* idCardValidity */
    const char *
        custom_attachment_list; /* customAttachmentList: text, or JSON text for structured values */
    struct eb_person *referrer; /* referrer, NULL when absent */
    struct eb_person *operator; /* operator, NULL when absent */
    struct eb_owner *owners;    /* owners, NULL when absent */
    struct eb_offer *offer;     /* offer, NULL when absent */
    struct eb_attachment *attachments; /* attachments */
    size_t attachments_n;
    struct eb_link *offer_attachment;         /* offerAttachment, NULL when absent */
    struct eb_exam_report *exam_report_links; /* examReportLinks */
    size_t exam_report_links_n;
    struct eb_exam_attachment *exam_attachments; /* examAttachments */
    size_t exam_attachments_n;
    struct eb_label *label; /* label */
    size_t label_n;
    struct eb_remark *remarks; /* remarks */
    size_t remarks_n;
    struct eb_survey *survey; /* survey */
    size_t survey_n;
};

/* A value of a push that was not read (tolerance): the push is stored without it (its column
 * NULL) and the warning is kept in push_warning. */
struct eb_warning {
    const char *field;  /* vendor path: "data.educationInfo[0].endDate" */
    const char *value;  /* the raw text as sent ("" when it was markup) */
    const char *reason; /* "not a date", "malformed number", ... */
};

/* One push as Moka sends it: the envelope fields and the candidate record. */
struct eb_push {
    const char *id;              /* push id: the idempotency key */
    const char *event;           /* "pushCandidate" */
    const char *triggered_at;    /* as sent: Unix seconds, Unix milliseconds or ISO 8601 */
    struct eb_candidate *data;   /* the record; NULL when absent */
    struct eb_warning *warnings; /* values not read, in the push's order; NULL when none */
    size_t n_warnings;           /* entries in warnings */
    size_t cap_warnings;         /* entries allocated (eb_push_warn) */
    int keep_warnings;           /* 1: leave the push id's push_warning rows as they are (a
                                    replay of a push stored before: its rows came from the
                                    request, which held more than the payload) */
};

struct eb_arena;

/* Appends a warning to p, copying field, value and reason into arena. EB_ERR_NOMEM when the
 * arena is exhausted. */
eb_rc eb_push_warn(struct eb_arena *arena, struct eb_push *p, const char *field, const char *value,
                   const char *reason);

/* Sets every boolean field of a freshly zeroed struct of the given type (one of the eb_type_*
 * of candidate/schema.h) to EB_BOOL_UNSET. Nested structs are initialized when allocated. */
struct eb_type;
void eb_candidate_init(const struct eb_type *type, void *record);

#endif
