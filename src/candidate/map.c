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
    if (s->customFields && s->customFields->__sizeelement > 0) {
        size_t n = (size_t)s->customFields->__sizeelement;
        if (!(d->custom_fields = eb_arena_zalloc(x->arena, n * sizeof *d->custom_fields)))
            return EB_ERR_NOMEM;
        d->custom_fields_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_name_value(x, &d->custom_fields[i], &s->customFields->element[i])))
                return rc;
        }
    }
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
    if (s->subjects && s->subjects->__sizeelement > 0) {
        size_t n = (size_t)s->subjects->__sizeelement;
        if (!(d->subjects = eb_arena_zalloc(x->arena, n * sizeof *d->subjects)))
            return EB_ERR_NOMEM;
        d->subjects_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_subject(x, &d->subjects[i], &s->subjects->element[i])))
                return rc;
        }
    }
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
    if (s->feedbackTemplateResult && s->feedbackTemplateResult->__sizeelement > 0) {
        size_t n = (size_t)s->feedbackTemplateResult->__sizeelement;
        if (!(d->feedback_template_result = eb_arena_zalloc(x->arena, n * sizeof *d->feedback_template_result)))
            return EB_ERR_NOMEM;
        d->feedback_template_result_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_feedback_item(x, &d->feedback_template_result[i], &s->feedbackTemplateResult->element[i])))
                return rc;
        }
    }
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
    if (s->creator) {
        if (!(d->creator = eb_arena_zalloc(x->arena, sizeof *d->creator)))
            return EB_ERR_NOMEM;
        if ((rc = map_offer_creator(x, d->creator, s->creator)))
            return rc;
    }
    d->finished_at = s->finishedAt;
    if (s->customFields && s->customFields->__sizeelement > 0) {
        size_t n = (size_t)s->customFields->__sizeelement;
        if (!(d->custom_fields = eb_arena_zalloc(x->arena, n * sizeof *d->custom_fields)))
            return EB_ERR_NOMEM;
        d->custom_fields_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_name_value(x, &d->custom_fields[i], &s->customFields->element[i])))
                return rc;
        }
    }
    if (s->attachmentList && s->attachmentList->__sizeelement > 0) {
        size_t n = (size_t)s->attachmentList->__sizeelement;
        if (!(d->attachment_list = eb_arena_zalloc(x->arena, n * sizeof *d->attachment_list)))
            return EB_ERR_NOMEM;
        d->attachment_list_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_offer_attachment(x, &d->attachment_list[i], &s->attachmentList->element[i])))
                return rc;
        }
    }
    if (s->hcInfo) {
        if (!(d->hc_info = eb_arena_zalloc(x->arena, sizeof *d->hc_info)))
            return EB_ERR_NOMEM;
        if ((rc = map_headcount(x, d->hc_info, s->hcInfo)))
            return rc;
    }
    if (s->jobRankInfo) {
        if (!(d->job_rank_info = eb_arena_zalloc(x->arena, sizeof *d->job_rank_info)))
            return EB_ERR_NOMEM;
        if ((rc = map_job_rank(x, d->job_rank_info, s->jobRankInfo)))
            return rc;
    }
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
    if (s->creator) {
        if (!(d->creator = eb_arena_zalloc(x->arena, sizeof *d->creator)))
            return EB_ERR_NOMEM;
        if ((rc = map_person(x, d->creator, s->creator)))
            return rc;
    }
    d->content = s->content;
    if (s->targets && s->targets->__sizeelement > 0) {
        size_t n = (size_t)s->targets->__sizeelement;
        if (!(d->targets = eb_arena_zalloc(x->arena, n * sizeof *d->targets)))
            return EB_ERR_NOMEM;
        d->targets_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_person(x, &d->targets[i], &s->targets->element[i])))
                return rc;
        }
    }
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
    if (s->surveyAttachments && s->surveyAttachments->__sizeelement > 0) {
        size_t n = (size_t)s->surveyAttachments->__sizeelement;
        if (!(d->survey_attachments = eb_arena_zalloc(x->arena, n * sizeof *d->survey_attachments)))
            return EB_ERR_NOMEM;
        d->survey_attachments_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_survey_attachment(x, &d->survey_attachments[i], &s->surveyAttachments->element[i])))
                return rc;
        }
    }
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
    if (s->talentPoolsList && s->talentPoolsList->__sizeelement > 0) {
        size_t n = (size_t)s->talentPoolsList->__sizeelement;
        if (!(d->talent_pools_list = eb_arena_zalloc(x->arena, n * sizeof *d->talent_pools_list)))
            return EB_ERR_NOMEM;
        d->talent_pools_list_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_talent_pool(x, &d->talent_pools_list[i], &s->talentPoolsList->element[i])))
                return rc;
        }
    }
    d->source = s->source;
    if (s->sourceList && s->sourceList->__sizeelement > 0) {
        size_t n = (size_t)s->sourceList->__sizeelement;
        if (!(d->source_list = eb_arena_zalloc(x->arena, n * sizeof *d->source_list)))
            return EB_ERR_NOMEM;
        d->source_list_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_source(x, &d->source_list[i], &s->sourceList->element[i])))
                return rc;
        }
    }
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
    if (s->educationInfo && s->educationInfo->__sizeelement > 0) {
        size_t n = (size_t)s->educationInfo->__sizeelement;
        if (!(d->education_info = eb_arena_zalloc(x->arena, n * sizeof *d->education_info)))
            return EB_ERR_NOMEM;
        d->education_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_education(x, &d->education_info[i], &s->educationInfo->element[i])))
                return rc;
        }
    }
    if (s->experienceInfo && s->experienceInfo->__sizeelement > 0) {
        size_t n = (size_t)s->experienceInfo->__sizeelement;
        if (!(d->experience_info = eb_arena_zalloc(x->arena, n * sizeof *d->experience_info)))
            return EB_ERR_NOMEM;
        d->experience_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_experience(x, &d->experience_info[i], &s->experienceInfo->element[i])))
                return rc;
        }
    }
    if (s->awardInfo && s->awardInfo->__sizeelement > 0) {
        size_t n = (size_t)s->awardInfo->__sizeelement;
        if (!(d->award_info = eb_arena_zalloc(x->arena, n * sizeof *d->award_info)))
            return EB_ERR_NOMEM;
        d->award_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_award(x, &d->award_info[i], &s->awardInfo->element[i])))
                return rc;
        }
    }
    if (s->projectInfo && s->projectInfo->__sizeelement > 0) {
        size_t n = (size_t)s->projectInfo->__sizeelement;
        if (!(d->project_info = eb_arena_zalloc(x->arena, n * sizeof *d->project_info)))
            return EB_ERR_NOMEM;
        d->project_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_project(x, &d->project_info[i], &s->projectInfo->element[i])))
                return rc;
        }
    }
    if (s->languageInfo && s->languageInfo->__sizeelement > 0) {
        size_t n = (size_t)s->languageInfo->__sizeelement;
        if (!(d->language_info = eb_arena_zalloc(x->arena, n * sizeof *d->language_info)))
            return EB_ERR_NOMEM;
        d->language_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_language(x, &d->language_info[i], &s->languageInfo->element[i])))
                return rc;
        }
    }
    if (s->practiceInfo && s->practiceInfo->__sizeelement > 0) {
        size_t n = (size_t)s->practiceInfo->__sizeelement;
        if (!(d->practice_info = eb_arena_zalloc(x->arena, n * sizeof *d->practice_info)))
            return EB_ERR_NOMEM;
        d->practice_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_practice(x, &d->practice_info[i], &s->practiceInfo->element[i])))
                return rc;
        }
    }
    if (s->job) {
        if (!(d->job = eb_arena_zalloc(x->arena, sizeof *d->job)))
            return EB_ERR_NOMEM;
        if ((rc = map_job(x, d->job, s->job)))
            return rc;
    }
    if (s->jobManager) {
        if (!(d->job_manager = eb_arena_zalloc(x->arena, sizeof *d->job_manager)))
            return EB_ERR_NOMEM;
        if ((rc = map_manager(x, d->job_manager, s->jobManager)))
            return rc;
    }
    if (s->jobAssistants && s->jobAssistants->__sizeelement > 0) {
        size_t n = (size_t)s->jobAssistants->__sizeelement;
        if (!(d->job_assistants = eb_arena_zalloc(x->arena, n * sizeof *d->job_assistants)))
            return EB_ERR_NOMEM;
        d->job_assistants_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_manager(x, &d->job_assistants[i], &s->jobAssistants->element[i])))
                return rc;
        }
    }
    if (s->jobRanksInfo && s->jobRanksInfo->__sizeelement > 0) {
        size_t n = (size_t)s->jobRanksInfo->__sizeelement;
        if (!(d->job_ranks_info = eb_arena_zalloc(x->arena, n * sizeof *d->job_ranks_info)))
            return EB_ERR_NOMEM;
        d->job_ranks_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_job_rank(x, &d->job_ranks_info[i], &s->jobRanksInfo->element[i])))
                return rc;
        }
    }
    if (s->headcountInfo && s->headcountInfo->__sizeelement > 0) {
        size_t n = (size_t)s->headcountInfo->__sizeelement;
        if (!(d->headcount_info = eb_arena_zalloc(x->arena, n * sizeof *d->headcount_info)))
            return EB_ERR_NOMEM;
        d->headcount_info_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_headcount(x, &d->headcount_info[i], &s->headcountInfo->element[i])))
                return rc;
        }
    }
    if (s->interviewers && s->interviewers->__sizeelement > 0) {
        size_t n = (size_t)s->interviewers->__sizeelement;
        if (!(d->interviewers = eb_arena_zalloc(x->arena, n * sizeof *d->interviewers)))
            return EB_ERR_NOMEM;
        d->interviewers_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_interviewer(x, &d->interviewers[i], &s->interviewers->element[i])))
                return rc;
        }
    }
    d->interview_feedback_url = s->interviewFeedbackUrl;
    if (s->extendedInterviewers && s->extendedInterviewers->__sizeelement > 0) {
        size_t n = (size_t)s->extendedInterviewers->__sizeelement;
        if (!(d->extended_interviewers = eb_arena_zalloc(x->arena, n * sizeof *d->extended_interviewers)))
            return EB_ERR_NOMEM;
        d->extended_interviewers_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_interviewer(x, &d->extended_interviewers[i], &s->extendedInterviewers->element[i])))
                return rc;
        }
    }
    d->extended_interviewer_feedback_url = s->extendedInterviewerFeedbackUrl;
    if (s->customFields && s->customFields->__sizeelement > 0) {
        size_t n = (size_t)s->customFields->__sizeelement;
        if (!(d->custom_fields = eb_arena_zalloc(x->arena, n * sizeof *d->custom_fields)))
            return EB_ERR_NOMEM;
        d->custom_fields_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_custom_field(x, &d->custom_fields[i], &s->customFields->element[i])))
                return rc;
        }
    }
    if (s->ehrCustomFields && s->ehrCustomFields->__sizeelement > 0) {
        size_t n = (size_t)s->ehrCustomFields->__sizeelement;
        if (!(d->ehr_custom_fields = eb_arena_zalloc(x->arena, n * sizeof *d->ehr_custom_fields)))
            return EB_ERR_NOMEM;
        d->ehr_custom_fields_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_name_value(x, &d->ehr_custom_fields[i], &s->ehrCustomFields->element[i])))
                return rc;
        }
    }
    d->ehr_candidate_external_link = s->ehrCandidateExternalLink;
    if (s->idCardFrontList && (rc = map_strings(x, &d->id_card_front_list, &d->id_card_front_list_n, s->idCardFrontList->element, s->idCardFrontList->__sizeelement)))
        return rc;
    d->id_card_back_list = s->idCardBackList;
    d->id_card_sign_organization = s->idCardSignOrganization;
    d->id_card_validity = s->idCardValidity;
    d->custom_attachment_list = s->customAttachmentList;
    if (s->referrer) {
        if (!(d->referrer = eb_arena_zalloc(x->arena, sizeof *d->referrer)))
            return EB_ERR_NOMEM;
        if ((rc = map_person(x, d->referrer, s->referrer)))
            return rc;
    }
    if (s->operator_) {
        if (!(d->operator = eb_arena_zalloc(x->arena, sizeof *d->operator)))
            return EB_ERR_NOMEM;
        if ((rc = map_person(x, d->operator, s->operator_)))
            return rc;
    }
    if (s->owners) {
        if (!(d->owners = eb_arena_zalloc(x->arena, sizeof *d->owners)))
            return EB_ERR_NOMEM;
        if ((rc = map_owner(x, d->owners, s->owners)))
            return rc;
    }
    if (s->offer) {
        if (!(d->offer = eb_arena_zalloc(x->arena, sizeof *d->offer)))
            return EB_ERR_NOMEM;
        if ((rc = map_offer(x, d->offer, s->offer)))
            return rc;
    }
    if (s->attachments && s->attachments->__sizeelement > 0) {
        size_t n = (size_t)s->attachments->__sizeelement;
        if (!(d->attachments = eb_arena_zalloc(x->arena, n * sizeof *d->attachments)))
            return EB_ERR_NOMEM;
        d->attachments_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_attachment(x, &d->attachments[i], &s->attachments->element[i])))
                return rc;
        }
    }
    if (s->offerAttachment) {
        if (!(d->offer_attachment = eb_arena_zalloc(x->arena, sizeof *d->offer_attachment)))
            return EB_ERR_NOMEM;
        if ((rc = map_link(x, d->offer_attachment, s->offerAttachment)))
            return rc;
    }
    if (s->examReportLinks && s->examReportLinks->__sizeelement > 0) {
        size_t n = (size_t)s->examReportLinks->__sizeelement;
        if (!(d->exam_report_links = eb_arena_zalloc(x->arena, n * sizeof *d->exam_report_links)))
            return EB_ERR_NOMEM;
        d->exam_report_links_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_exam_report(x, &d->exam_report_links[i], &s->examReportLinks->element[i])))
                return rc;
        }
    }
    if (s->examAttachments && s->examAttachments->__sizeelement > 0) {
        size_t n = (size_t)s->examAttachments->__sizeelement;
        if (!(d->exam_attachments = eb_arena_zalloc(x->arena, n * sizeof *d->exam_attachments)))
            return EB_ERR_NOMEM;
        d->exam_attachments_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_exam_attachment(x, &d->exam_attachments[i], &s->examAttachments->element[i])))
                return rc;
        }
    }
    if (s->label && s->label->__sizeelement > 0) {
        size_t n = (size_t)s->label->__sizeelement;
        if (!(d->label = eb_arena_zalloc(x->arena, n * sizeof *d->label)))
            return EB_ERR_NOMEM;
        d->label_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_label(x, &d->label[i], &s->label->element[i])))
                return rc;
        }
    }
    if (s->remarks && s->remarks->__sizeelement > 0) {
        size_t n = (size_t)s->remarks->__sizeelement;
        if (!(d->remarks = eb_arena_zalloc(x->arena, n * sizeof *d->remarks)))
            return EB_ERR_NOMEM;
        d->remarks_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_remark(x, &d->remarks[i], &s->remarks->element[i])))
                return rc;
        }
    }
    if (s->survey && s->survey->__sizeelement > 0) {
        size_t n = (size_t)s->survey->__sizeelement;
        if (!(d->survey = eb_arena_zalloc(x->arena, n * sizeof *d->survey)))
            return EB_ERR_NOMEM;
        d->survey_n = n;
        for (size_t i = 0; i < n; i++) {

            if ((rc = map_survey(x, &d->survey[i], &s->survey->element[i])))
                return rc;
        }
    }
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
