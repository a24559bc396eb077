/* The one translation of the generated gSOAP types (gen/soapStub.h) into the domain model
 * (candidate/candidate.h). Strings are borrowed from the gSOAP context and live until its
 * soap_end(); structs and arrays are allocated in the caller's arena. */
#include "candidate/map.h"

#include "soapH.h"
#include "util/arena.h"

struct map_ctx {
    struct eb_arena *arena; /* where structs and arrays are allocated */
};

static void map_i64(struct eb_i64 *d, const LONG64 *s)
{
    if (s) {
        d->v = (int64_t)*s;
        d->set = 1;
    }
}

static int map_bool(const enum xsd__boolean *s)
{
    return s ? (*s == xsd__boolean__true_) : EB_BOOL_UNSET;
}

/* Maps the generated object src (NULL when absent) into a new domain struct dst with
 * map_<type>; returns from the calling function on failure (rc and x in scope). */
#define MAP_OBJECT(type, dst, src)                                                                 \
    do {                                                                                           \
        if (src) {                                                                                 \
            if (!((dst) = eb_arena_zalloc(x->arena, sizeof *(dst))))                               \
                return EB_ERR_NOMEM;                                                               \
            if ((rc = map_##type(x, (dst), (src))))                                                \
                return rc;                                                                         \
        }                                                                                          \
    } while (0)

/* Maps the generated array wrapper src (NULL when absent; __sizeelement items in element) into
 * the domain array dst of dst_n items with map_<type>; returns from the calling function on
 * failure. */
#define MAP_ARRAY(type, dst, dst_n, src)                                                           \
    do {                                                                                           \
        if ((src) && (src)->__sizeelement > 0) {                                                   \
            size_t n_ = (size_t)(src)->__sizeelement;                                              \
            if (!((dst) = eb_arena_zalloc(x->arena, n_ * sizeof *(dst))))                          \
                return EB_ERR_NOMEM;                                                               \
            (dst_n) = n_;                                                                          \
            for (size_t i_ = 0; i_ < n_; i_++)                                                     \
                if ((rc = map_##type(x, &(dst)[i_], &(src)->element[i_])))                         \
                    return rc;                                                                     \
        }                                                                                          \
    } while (0)

static eb_rc map_strings(struct map_ctx *x, const char ***d, size_t *dn, char **s, int n)
{
    if (n <= 0)
        return EB_OK;
    const char **v = eb_arena_zalloc(x->arena, (size_t)n * sizeof *v);
    if (!v)
        return EB_ERR_NOMEM;
    for (int i = 0; i < n; i++)
        v[i] = s[i] ? s[i] : "";
    *d = v;
    *dn = (size_t)n;
    return EB_OK;
}

static eb_rc map_person(struct map_ctx *x, struct eb_person *d, const struct ns1__Person *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->email = s->email;
    d->phone = s->phone;
    d->number = s->number;
    return rc;
}

static eb_rc map_manager(struct map_ctx *x, struct eb_manager *d, const struct ns1__Manager *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->phone = s->phone;
    d->email = s->email;
    d->number = s->number;
    d->employee_id = s->employeeId;
    return rc;
}

static eb_rc map_owner(struct map_ctx *x, struct eb_owner *d, const struct ns1__Owner *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->phone = s->phone;
    d->email = s->email;
    d->employee_id = s->employeeId;
    return rc;
}

static eb_rc map_name_value(struct map_ctx *x, struct eb_name_value *d, const struct ns1__NameValue *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->value = s->value;
    d->codes = s->codes;
    return rc;
}

static eb_rc map_talent_pool(struct map_ctx *x, struct eb_talent_pool *d, const struct ns1__TalentPool *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    map_i64(&d->talent_pool_id, s->talentPoolId);
    d->name = s->name;
    d->description = s->description;
    return rc;
}

static eb_rc map_source(struct map_ctx *x, struct eb_source *d, const struct ns1__Source *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    map_i64(&d->id, s->id);
    d->name = s->name;
    d->is_builtin = map_bool(s->isBuiltin);
    return rc;
}

static eb_rc map_education(struct map_ctx *x, struct eb_education *d, const struct ns1__Education *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->start_date = s->startDate;
    d->end_date = s->endDate;
    d->now = map_bool(s->now);
    d->school = s->school;
    d->speciality = s->speciality;
    d->academic_degree = s->academicDegree;
    return rc;
}

static eb_rc map_experience(struct map_ctx *x, struct eb_experience *d, const struct ns1__Experience *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->start_date = s->startDate;
    d->end_date = s->endDate;
    d->now = map_bool(s->now);
    d->company = s->company;
    d->title = s->title;
    d->department = s->department;
    d->salary = s->salary;
    d->summary = s->summary;
    d->reason_for_leaving = s->reasonForLeaving;
    d->underling_number = s->underlingNumber;
    d->type = s->type;
    d->location = s->location;
    d->size = s->size;
    return rc;
}

static eb_rc map_award(struct map_ctx *x, struct eb_award *d, const struct ns1__Award *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->award_date = s->awardDate;
    d->award_name = s->awardName;
    return rc;
}

static eb_rc map_job(struct map_ctx *x, struct eb_job *d, const struct ns1__Job *s)
{
    eb_rc rc = EB_OK;
    d->job_id = s->jobId;
    d->title = s->title;
    d->department = s->department;
    d->department_path = s->departmentPath;
    d->department_code = s->departmentCode;
    d->parent_department_code = s->parentDepartmentCode;
    d->competency_type = s->competencyType;
    d->job_description = s->jobDescription;
    MAP_ARRAY(name_value, d->custom_fields, d->custom_fields_n, s->customFields);
    return rc;
}

static eb_rc map_subject(struct map_ctx *x, struct eb_subject *d, const struct ns1__Subject *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->type, s->type);
    d->title = s->title;
    d->description = s->description;
    d->result = s->result;
    d->reason = s->reason;
    if (s->options && (rc = map_strings(x, &d->options, &d->options_n, s->options->element, s->options->__sizeelement)))
        return rc;
    return rc;
}

static eb_rc map_feedback_item(struct map_ctx *x, struct eb_feedback_item *d, const struct ns1__FeedbackItem *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->type, s->type);
    d->title = s->title;
    d->description = s->description;
    d->result = s->result;
    d->calc_score_type = s->calcScoreType;
    map_i64(&d->score_type, s->scoreType);
    d->need_reason = s->needReason;
    MAP_ARRAY(subject, d->subjects, d->subjects_n, s->subjects);
    return rc;
}

static eb_rc map_interviewer(struct map_ctx *x, struct eb_interviewer *d, const struct ns1__Interviewer *s)
{
    eb_rc rc = EB_OK;
    d->name = s->name;
    d->email = s->email;
    d->phone = s->phone;
    map_i64(&d->id, s->id);
    d->group_id = s->groupId;
    d->interview_type = s->interviewType;
    d->attend_status = s->attendStatus;
    d->cancel_reason = s->cancelReason;
    d->participated = s->participated;
    d->status = s->status;
    map_i64(&d->round, s->round);
    d->round_name = s->roundName;
    d->round_other_name = s->roundOtherName;
    d->start_time = s->startTime;
    d->created_at = s->createdAt;
    d->location_country = s->locationCountry;
    map_i64(&d->location_city_id, s->locationCityId);
    d->location_address = s->locationAddress;
    map_i64(&d->result, s->result);
    d->result_name = s->resultName;
    map_i64(&d->result_type, s->resultType);
    d->feedback = s->feedback;
    MAP_ARRAY(feedback_item, d->feedback_template_result, d->feedback_template_result_n, s->feedbackTemplateResult);
    return rc;
}

static eb_rc map_job_rank(struct map_ctx *x, struct eb_job_rank *d, const struct ns1__JobRank *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->type = s->type;
    d->level = s->level;
    return rc;
}

static eb_rc map_headcount(struct map_ctx *x, struct eb_headcount *d, const struct ns1__Headcount *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    map_i64(&d->id, s->id);
    d->number = s->number;
    d->name = s->name;
    d->status = s->status;
    return rc;
}

static eb_rc map_custom_field(struct map_ctx *x, struct eb_custom_field *d, const struct ns1__CustomField *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->value = s->value;
    d->now = map_bool(s->now);
    d->section = s->section;
    d->index = s->index;
    d->codes = s->codes;
    return rc;
}

static eb_rc map_offer_creator(struct map_ctx *x, struct eb_offer_creator *d, const struct ns1__OfferCreator *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->email = s->email;
    return rc;
}

static eb_rc map_offer_attachment(struct map_ctx *x, struct eb_offer_attachment *d, const struct ns1__OfferAttachment *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    map_i64(&d->size, s->size);
    d->download_url = s->downloadUrl;
    map_i64(&d->attachment_type, s->attachmentType);
    return rc;
}

static eb_rc map_offer(struct map_ctx *x, struct eb_offer *d, const struct ns1__Offer *s)
{
    eb_rc rc = EB_OK;
    d->created_at = s->createdAt;
    d->status = s->status;
    d->approval_status = s->approvalStatus;
    d->salary_number = s->salaryNumber;
    d->checkin_date = s->checkinDate;
    d->location = s->location;
    MAP_OBJECT(offer_creator, d->creator, s->creator);
    d->finished_at = s->finishedAt;
    MAP_ARRAY(name_value, d->custom_fields, d->custom_fields_n, s->customFields);
    MAP_ARRAY(offer_attachment, d->attachment_list, d->attachment_list_n, s->attachmentList);
    MAP_OBJECT(headcount, d->hc_info, s->hcInfo);
    MAP_OBJECT(job_rank, d->job_rank_info, s->jobRankInfo);
    d->department_name = s->departmentName;
    d->department_code = s->departmentCode;
    d->parent_department_code = s->parentDepartmentCode;
    d->department_path = s->departmentPath;
    d->offer_last_sent_at = s->offerLastSentAt;
    d->offer_attachment_download_url = s->offerAttachmentDownloadUrl;
    d->last_company = s->lastCompany;
    return rc;
}

static eb_rc map_attachment(struct map_ctx *x, struct eb_attachment *d, const struct ns1__Attachment *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    map_i64(&d->apply_form_id, s->applyFormId);
    map_i64(&d->size, s->size);
    d->url = s->url;
    map_i64(&d->custom_field_id, s->customFieldId);
    d->custom_field_name = s->customFieldName;
    d->type = s->type;
    return rc;
}

static eb_rc map_link(struct map_ctx *x, struct eb_link *d, const struct ns1__Link *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->url = s->url;
    return rc;
}

static eb_rc map_exam_report(struct map_ctx *x, struct eb_exam_report *d, const struct ns1__ExamReport *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->url = s->url;
    d->type = s->type;
    d->result = s->result;
    d->detail_result = s->detailResult;
    return rc;
}

static eb_rc map_exam_attachment(struct map_ctx *x, struct eb_exam_attachment *d, const struct ns1__ExamAttachment *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->name = s->name;
    d->url = s->url;
    d->result = s->result;
    d->detail_result = s->detailResult;
    return rc;
}

static eb_rc map_project(struct map_ctx *x, struct eb_project *d, const struct ns1__Project *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->start_date = s->startDate;
    d->end_date = s->endDate;
    d->project_name = s->projectName;
    d->title = s->title;
    d->project_descript = s->projectDescript;
    d->responsibilities = s->responsibilities;
    d->now = map_bool(s->now);
    return rc;
}

static eb_rc map_language(struct map_ctx *x, struct eb_language *d, const struct ns1__Language *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->language = s->language;
    d->level = s->level;
    d->listen_and_speak = s->listenAndSpeak;
    d->read_and_write = s->readAndWrite;
    return rc;
}

static eb_rc map_label(struct map_ctx *x, struct eb_label *d, const struct ns1__Label *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    map_i64(&d->id, s->id);
    d->label = s->label;
    return rc;
}

static eb_rc map_remark(struct map_ctx *x, struct eb_remark *d, const struct ns1__Remark *s)
{
    eb_rc rc = EB_OK;
    MAP_OBJECT(person, d->creator, s->creator);
    d->content = s->content;
    MAP_ARRAY(person, d->targets, d->targets_n, s->targets);
    map_i64(&d->is_private, s->is_USCOREprivate);
    d->type = s->type;
    d->created_at = s->created_USCOREat;
    return rc;
}

static eb_rc map_survey_attachment(struct map_ctx *x, struct eb_survey_attachment *d, const struct ns1__SurveyAttachment *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->survey_attachments_url = s->surveyAttachmentsUrl;
    d->survey_attachment_name = s->surveyAttachmentName;
    return rc;
}

static eb_rc map_survey(struct map_ctx *x, struct eb_survey *d, const struct ns1__Survey *s)
{
    eb_rc rc = EB_OK;
    d->name = s->name;
    d->date = s->date;
    d->result = s->result;
    d->survey_attachments_url = s->surveyAttachmentsUrl;
    d->survey_attachment_name = s->surveyAttachmentName;
    MAP_ARRAY(survey_attachment, d->survey_attachments, d->survey_attachments_n, s->surveyAttachments);
    return rc;
}

static eb_rc map_practice(struct map_ctx *x, struct eb_practice *d, const struct ns1__Practice *s)
{
    eb_rc rc = EB_OK;
    (void)x;
    d->start_date = s->startDate;
    d->end_date = s->endDate;
    d->company = s->company;
    d->title = s->title;
    return rc;
}

static eb_rc map_candidate(struct map_ctx *x, struct eb_candidate *d, const struct ns1__Candidate *s)
{
    eb_rc rc = EB_OK;
    d->application_id.v = s->applicationId;
    d->application_id.set = 1;
    map_i64(&d->candidate_id, s->candidateId);
    d->moved_at = s->moved_USCOREat;
    d->name = s->name;
    d->prefix_phone = s->prefixPhone;
    d->phone = s->phone;
    d->email = s->email;
    d->gender = s->gender;
    map_i64(&d->gender_code, s->genderCode);
    d->created_at = s->created_USCOREat;
    map_i64(&d->birth_year, s->birthYear);
    d->birth_date = s->birthDate;
    d->ethnic = s->ethnic;
    map_i64(&d->ethnic_code, s->ethnicCode);
    map_i64(&d->certificate_type, s->certificateType);
    d->citizen_id = s->citizenId;
    d->nationality = s->nationality;
    map_i64(&d->nationality_code, s->nationalityCode);
    d->native_place = s->nativePlace;
    map_i64(&d->native_place_code, s->nativePlaceCode);
    map_i64(&d->experience, s->experience);
    d->portrait_url = s->portraitUrl;
    map_i64(&d->hire_mode, s->hireMode);
    d->finished_at = s->finishedAt;
    d->industry = s->industry;
    d->archived = map_bool(s->archived);
    d->archived_at = s->archivedAt;
    map_i64(&d->archive_reason_id, s->archiveReasonId);
    d->archive_reasons = s->archiveReasons;
    d->archive_reasons_details = s->archiveReasonsDetails;
    MAP_ARRAY(talent_pool, d->talent_pools_list, d->talent_pools_list_n, s->talentPoolsList);
    d->source = s->source;
    MAP_ARRAY(source, d->source_list, d->source_list_n, s->sourceList);
    map_i64(&d->source_type, s->sourceType);
    d->location = s->location;
    d->last_company = s->lastCompany;
    d->academic_degree = s->academicDegree;
    map_i64(&d->academic_degree_code, s->academicDegreeCode);
    d->last_speciality = s->lastSpeciality;
    d->married = s->married;
    d->personal = s->personal;
    d->salary = s->salary;
    d->forward_location = s->forwardLocation;
    d->aim_salary = s->aimSalary;
    d->personal_interests = s->personalInterests;
    d->political = s->political;
    d->job_commitment = s->jobCommitment;
    d->resume_key = s->resumeKey;
    d->stage_name = s->stageName;
    d->probation = s->probation;
    d->officeweb365_url = s->officeweb365Url;
    d->officeweb365_print_url = s->officeweb365PrintUrl;
    d->resume_pdf_meta = s->resumePdfMeta;
    d->resume_url = s->resumeUrl;
    MAP_ARRAY(education, d->education_info, d->education_info_n, s->educationInfo);
    MAP_ARRAY(experience, d->experience_info, d->experience_info_n, s->experienceInfo);
    MAP_ARRAY(award, d->award_info, d->award_info_n, s->awardInfo);
    MAP_ARRAY(project, d->project_info, d->project_info_n, s->projectInfo);
    MAP_ARRAY(language, d->language_info, d->language_info_n, s->languageInfo);
    MAP_ARRAY(practice, d->practice_info, d->practice_info_n, s->practiceInfo);
    MAP_OBJECT(job, d->job, s->job);
    MAP_OBJECT(manager, d->job_manager, s->jobManager);
    MAP_ARRAY(manager, d->job_assistants, d->job_assistants_n, s->jobAssistants);
    MAP_ARRAY(job_rank, d->job_ranks_info, d->job_ranks_info_n, s->jobRanksInfo);
    MAP_ARRAY(headcount, d->headcount_info, d->headcount_info_n, s->headcountInfo);
    MAP_ARRAY(interviewer, d->interviewers, d->interviewers_n, s->interviewers);
    d->interview_feedback_url = s->interviewFeedbackUrl;
    MAP_ARRAY(interviewer, d->extended_interviewers, d->extended_interviewers_n, s->extendedInterviewers);
    d->extended_interviewer_feedback_url = s->extendedInterviewerFeedbackUrl;
    MAP_ARRAY(custom_field, d->custom_fields, d->custom_fields_n, s->customFields);
    MAP_ARRAY(name_value, d->ehr_custom_fields, d->ehr_custom_fields_n, s->ehrCustomFields);
    d->ehr_candidate_external_link = s->ehrCandidateExternalLink;
    if (s->idCardFrontList && (rc = map_strings(x, &d->id_card_front_list, &d->id_card_front_list_n, s->idCardFrontList->element, s->idCardFrontList->__sizeelement)))
        return rc;
    d->id_card_back_list = s->idCardBackList;
    d->id_card_sign_organization = s->idCardSignOrganization;
    d->id_card_validity = s->idCardValidity;
    d->custom_attachment_list = s->customAttachmentList;
    MAP_OBJECT(person, d->referrer, s->referrer);
    MAP_OBJECT(person, d->operator, s->operator_);
    MAP_OBJECT(owner, d->owners, s->owners);
    MAP_OBJECT(offer, d->offer, s->offer);
    MAP_ARRAY(attachment, d->attachments, d->attachments_n, s->attachments);
    MAP_OBJECT(link, d->offer_attachment, s->offerAttachment);
    MAP_ARRAY(exam_report, d->exam_report_links, d->exam_report_links_n, s->examReportLinks);
    MAP_ARRAY(exam_attachment, d->exam_attachments, d->exam_attachments_n, s->examAttachments);
    MAP_ARRAY(label, d->label, d->label_n, s->label);
    MAP_ARRAY(remark, d->remarks, d->remarks_n, s->remarks);
    MAP_ARRAY(survey, d->survey, d->survey_n, s->survey);
    return rc;
}

eb_rc eb_map_push(struct eb_arena *arena, const struct _ns1__pushCandidate *src,
                  int has_application_id, struct eb_push *dst, struct eb_err *err)
{
    struct map_ctx x = {arena};
    eb_rc rc = EB_OK;
    dst->id = src->id;
    dst->event = src->event;
    dst->triggered_at = src->triggeredAt;
    dst->data = NULL;
    if (!src->data)
        return EB_OK;
    if (!(dst->data = eb_arena_zalloc(arena, sizeof *dst->data)))
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory mapping the candidate");
    if ((rc = map_candidate(&x, dst->data, src->data)))
        return eb_err_set(err, rc, "out of memory mapping the candidate");
    dst->data->application_id.set = has_application_id;
    return EB_OK;
}
