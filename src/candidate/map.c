/* The one translation of the generated gSOAP types (gen/soapStub.h) into the domain model
 * (candidate/candidate.h). Everything, strings included, is copied into the caller's arena: the
 * domain model outlives the gSOAP context (a push waits for its commit while the worker's
 * context reads the next request). */
#include "candidate/map.h"

#include <string.h>

#include "soapH.h"
#include "util/arena.h"

struct map_ctx {
    struct eb_arena *arena; /* where structs, arrays and strings are allocated */
    int nomem;              /* a string could not be copied */
};

/* s copied into the arena (NULL stays NULL). */
static const char *str(struct map_ctx *x, const char *s)
{
    return eb_arena_strdup(x->arena, s, &x->nomem);
}
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
        v[i] = s[i] ? str(x, s[i]) : "";
    *d = v;
    *dn = (size_t)n;
    return EB_OK;
}

static eb_rc map_person(struct map_ctx *x, struct eb_person *d, const struct ns1__Person *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->email = str(x, s->email);
    d->phone = str(x, s->phone);
    d->number = str(x, s->number);
    return rc;
}

static eb_rc map_manager(struct map_ctx *x, struct eb_manager *d, const struct ns1__Manager *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->phone = str(x, s->phone);
    d->email = str(x, s->email);
    d->number = str(x, s->number);
    d->employee_id = str(x, s->employeeId);
    return rc;
}

static eb_rc map_owner(struct map_ctx *x, struct eb_owner *d, const struct ns1__Owner *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->phone = str(x, s->phone);
    d->email = str(x, s->email);
    d->employee_id = str(x, s->employeeId);
    return rc;
}

static eb_rc map_name_value(struct map_ctx *x, struct eb_name_value *d,
                            const struct ns1__NameValue *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->value = str(x, s->value);
    d->codes = str(x, s->codes);
    return rc;
}

static eb_rc map_talent_pool(struct map_ctx *x, struct eb_talent_pool *d,
                             const struct ns1__TalentPool *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->talent_pool_id, s->talentPoolId);
    d->name = str(x, s->name);
    d->description = str(x, s->description);
    return rc;
}

static eb_rc map_source(struct map_ctx *x, struct eb_source *d, const struct ns1__Source *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->id, s->id);
    d->name = str(x, s->name);
    d->is_builtin = map_bool(s->isBuiltin);
    return rc;
}

static eb_rc map_education(struct map_ctx *x, struct eb_education *d,
                           const struct ns1__Education *s)
{
    eb_rc rc = EB_OK;
    d->start_date = str(x, s->startDate);
    d->end_date = str(x, s->endDate);
    d->now = map_bool(s->now);
    d->school = str(x, s->school);
    d->speciality = str(x, s->speciality);
    d->academic_degree = str(x, s->academicDegree);
    return rc;
}

static eb_rc map_experience(struct map_ctx *x, struct eb_experience *d,
                            const struct ns1__Experience *s)
{
    eb_rc rc = EB_OK;
    d->start_date = str(x, s->startDate);
    d->end_date = str(x, s->endDate);
    d->now = map_bool(s->now);
    d->company = str(x, s->company);
    d->title = str(x, s->title);
    d->department = str(x, s->department);
    d->salary = str(x, s->salary);
    d->summary = str(x, s->summary);
    d->reason_for_leaving = str(x, s->reasonForLeaving);
    d->underling_number = str(x, s->underlingNumber);
    d->type = str(x, s->type);
    d->location = str(x, s->location);
    d->size = str(x, s->size);
    return rc;
}

static eb_rc map_award(struct map_ctx *x, struct eb_award *d, const struct ns1__Award *s)
{
    eb_rc rc = EB_OK;
    d->award_date = str(x, s->awardDate);
    d->award_name = str(x, s->awardName);
    return rc;
}

static eb_rc map_job(struct map_ctx *x, struct eb_job *d, const struct ns1__Job *s)
{
    eb_rc rc = EB_OK;
    d->job_id = str(x, s->jobId);
    d->title = str(x, s->title);
    d->department = str(x, s->department);
    d->department_path = str(x, s->departmentPath);
    d->department_code = str(x, s->departmentCode);
    d->parent_department_code = str(x, s->parentDepartmentCode);
    d->competency_type = str(x, s->competencyType);
    d->job_description = str(x, s->jobDescription);
    MAP_ARRAY(name_value, d->custom_fields, d->custom_fields_n, s->customFields);
    return rc;
}

static eb_rc map_subject(struct map_ctx *x, struct eb_subject *d, const struct ns1__Subject *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->type, s->type);
    d->title = str(x, s->title);
    d->description = str(x, s->description);
    d->result = str(x, s->result);
    d->reason = str(x, s->reason);
    if (s->options && (rc = map_strings(x, &d->options, &d->options_n, s->options->element,
                                        s->options->__sizeelement)))
        return rc;
    return rc;
}

static eb_rc map_feedback_item(struct map_ctx *x, struct eb_feedback_item *d,
                               const struct ns1__FeedbackItem *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->type, s->type);
    d->title = str(x, s->title);
    d->description = str(x, s->description);
    d->result = str(x, s->result);
    d->calc_score_type = str(x, s->calcScoreType);
    map_i64(&d->score_type, s->scoreType);
    d->need_reason = str(x, s->needReason);
    MAP_ARRAY(subject, d->subjects, d->subjects_n, s->subjects);
    return rc;
}

static eb_rc map_interviewer(struct map_ctx *x, struct eb_interviewer *d,
                             const struct ns1__Interviewer *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->email = str(x, s->email);
    d->phone = str(x, s->phone);
    map_i64(&d->id, s->id);
    d->group_id = str(x, s->groupId);
    d->interview_type = str(x, s->interviewType);
    d->attend_status = str(x, s->attendStatus);
    d->cancel_reason = str(x, s->cancelReason);
    d->participated = str(x, s->participated);
    d->status = str(x, s->status);
    map_i64(&d->round, s->round);
    d->round_name = str(x, s->roundName);
    d->round_other_name = str(x, s->roundOtherName);
    d->start_time = str(x, s->startTime);
    d->created_at = str(x, s->createdAt);
    d->location_country = str(x, s->locationCountry);
    map_i64(&d->location_city_id, s->locationCityId);
    d->location_address = str(x, s->locationAddress);
    map_i64(&d->result, s->result);
    d->result_name = str(x, s->resultName);
    map_i64(&d->result_type, s->resultType);
    d->feedback = str(x, s->feedback);
    MAP_ARRAY(feedback_item, d->feedback_template_result, d->feedback_template_result_n,
              s->feedbackTemplateResult);
    return rc;
}

static eb_rc map_job_rank(struct map_ctx *x, struct eb_job_rank *d, const struct ns1__JobRank *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->type = str(x, s->type);
    d->level = str(x, s->level);
    return rc;
}

static eb_rc map_headcount(struct map_ctx *x, struct eb_headcount *d,
                           const struct ns1__Headcount *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->id, s->id);
    d->number = str(x, s->number);
    d->name = str(x, s->name);
    d->status = str(x, s->status);
    return rc;
}

static eb_rc map_custom_field(struct map_ctx *x, struct eb_custom_field *d,
                              const struct ns1__CustomField *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->value = str(x, s->value);
    d->now = map_bool(s->now);
    d->section = str(x, s->section);
    d->index = str(x, s->index);
    d->codes = str(x, s->codes);
    return rc;
}

static eb_rc map_offer_creator(struct map_ctx *x, struct eb_offer_creator *d,
                               const struct ns1__OfferCreator *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->email = str(x, s->email);
    return rc;
}

static eb_rc map_offer_attachment(struct map_ctx *x, struct eb_offer_attachment *d,
                                  const struct ns1__OfferAttachment *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    map_i64(&d->size, s->size);
    d->download_url = str(x, s->downloadUrl);
    map_i64(&d->attachment_type, s->attachmentType);
    return rc;
}

static eb_rc map_offer(struct map_ctx *x, struct eb_offer *d, const struct ns1__Offer *s)
{
    eb_rc rc = EB_OK;
    d->created_at = str(x, s->createdAt);
    d->status = str(x, s->status);
    d->approval_status = str(x, s->approvalStatus);
    d->salary_number = str(x, s->salaryNumber);
    d->checkin_date = str(x, s->checkinDate);
    d->location = str(x, s->location);
    MAP_OBJECT(offer_creator, d->creator, s->creator);
    d->finished_at = str(x, s->finishedAt);
    MAP_ARRAY(name_value, d->custom_fields, d->custom_fields_n, s->customFields);
    MAP_ARRAY(offer_attachment, d->attachment_list, d->attachment_list_n, s->attachmentList);
    MAP_OBJECT(headcount, d->hc_info, s->hcInfo);
    MAP_OBJECT(job_rank, d->job_rank_info, s->jobRankInfo);
    d->department_name = str(x, s->departmentName);
    d->department_code = str(x, s->departmentCode);
    d->parent_department_code = str(x, s->parentDepartmentCode);
    d->department_path = str(x, s->departmentPath);
    d->offer_last_sent_at = str(x, s->offerLastSentAt);
    d->offer_attachment_download_url = str(x, s->offerAttachmentDownloadUrl);
    d->last_company = str(x, s->lastCompany);
    return rc;
}

static eb_rc map_attachment(struct map_ctx *x, struct eb_attachment *d,
                            const struct ns1__Attachment *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    map_i64(&d->apply_form_id, s->applyFormId);
    map_i64(&d->size, s->size);
    d->url = str(x, s->url);
    map_i64(&d->custom_field_id, s->customFieldId);
    d->custom_field_name = str(x, s->customFieldName);
    d->type = str(x, s->type);
    return rc;
}

static eb_rc map_link(struct map_ctx *x, struct eb_link *d, const struct ns1__Link *s)
{
    eb_rc rc = EB_OK;
    d->url = str(x, s->url);
    return rc;
}

static eb_rc map_exam_report(struct map_ctx *x, struct eb_exam_report *d,
                             const struct ns1__ExamReport *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->url = str(x, s->url);
    d->type = str(x, s->type);
    d->result = str(x, s->result);
    d->detail_result = str(x, s->detailResult);
    return rc;
}

static eb_rc map_exam_attachment(struct map_ctx *x, struct eb_exam_attachment *d,
                                 const struct ns1__ExamAttachment *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->url = str(x, s->url);
    d->result = str(x, s->result);
    d->detail_result = str(x, s->detailResult);
    return rc;
}

static eb_rc map_project(struct map_ctx *x, struct eb_project *d, const struct ns1__Project *s)
{
    eb_rc rc = EB_OK;
    d->start_date = str(x, s->startDate);
    d->end_date = str(x, s->endDate);
    d->project_name = str(x, s->projectName);
    d->title = str(x, s->title);
    d->project_descript = str(x, s->projectDescript);
    d->responsibilities = str(x, s->responsibilities);
    d->now = map_bool(s->now);
    return rc;
}

static eb_rc map_language(struct map_ctx *x, struct eb_language *d, const struct ns1__Language *s)
{
    eb_rc rc = EB_OK;
    d->language = str(x, s->language);
    d->level = str(x, s->level);
    d->listen_and_speak = str(x, s->listenAndSpeak);
    d->read_and_write = str(x, s->readAndWrite);
    return rc;
}

static eb_rc map_label(struct map_ctx *x, struct eb_label *d, const struct ns1__Label *s)
{
    eb_rc rc = EB_OK;
    map_i64(&d->id, s->id);
    d->label = str(x, s->label);
    return rc;
}

static eb_rc map_remark(struct map_ctx *x, struct eb_remark *d, const struct ns1__Remark *s)
{
    eb_rc rc = EB_OK;
    MAP_OBJECT(person, d->creator, s->creator);
    d->content = str(x, s->content);
    MAP_ARRAY(person, d->targets, d->targets_n, s->targets);
    map_i64(&d->is_private, s->is_USCOREprivate);
    d->type = str(x, s->type);
    d->created_at = str(x, s->created_USCOREat);
    return rc;
}

static eb_rc map_survey_attachment(struct map_ctx *x, struct eb_survey_attachment *d,
                                   const struct ns1__SurveyAttachment *s)
{
    eb_rc rc = EB_OK;
    d->survey_attachments_url = str(x, s->surveyAttachmentsUrl);
    d->survey_attachment_name = str(x, s->surveyAttachmentName);
    return rc;
}

static eb_rc map_survey(struct map_ctx *x, struct eb_survey *d, const struct ns1__Survey *s)
{
    eb_rc rc = EB_OK;
    d->name = str(x, s->name);
    d->date = str(x, s->date);
    d->result = str(x, s->result);
    d->survey_attachments_url = str(x, s->surveyAttachmentsUrl);
    d->survey_attachment_name = str(x, s->surveyAttachmentName);
    MAP_ARRAY(survey_attachment, d->survey_attachments, d->survey_attachments_n,
              s->surveyAttachments);
    return rc;
}

static eb_rc map_practice(struct map_ctx *x, struct eb_practice *d, const struct ns1__Practice *s)
{
    eb_rc rc = EB_OK;
    d->start_date = str(x, s->startDate);
    d->end_date = str(x, s->endDate);
    d->company = str(x, s->company);
    d->title = str(x, s->title);
    return rc;
}

static eb_rc map_candidate(struct map_ctx *x, struct eb_candidate *d,
                           const struct ns1__Candidate *s)
{
    eb_rc rc = EB_OK;
    d->application_id.v = s->applicationId;
    d->application_id.set = 1;
    map_i64(&d->candidate_id, s->candidateId);
    d->moved_at = str(x, s->moved_USCOREat);
    d->name = str(x, s->name);
    d->prefix_phone = str(x, s->prefixPhone);
    d->phone = str(x, s->phone);
    d->email = str(x, s->email);
    d->gender = str(x, s->gender);
    map_i64(&d->gender_code, s->genderCode);
    d->created_at = str(x, s->created_USCOREat);
    map_i64(&d->birth_year, s->birthYear);
    d->birth_date = str(x, s->birthDate);
    d->ethnic = str(x, s->ethnic);
    map_i64(&d->ethnic_code, s->ethnicCode);
    map_i64(&d->certificate_type, s->certificateType);
    d->citizen_id = str(x, s->citizenId);
    d->nationality = str(x, s->nationality);
    map_i64(&d->nationality_code, s->nationalityCode);
    d->native_place = str(x, s->nativePlace);
    map_i64(&d->native_place_code, s->nativePlaceCode);
    map_i64(&d->experience, s->experience);
    d->portrait_url = str(x, s->portraitUrl);
    map_i64(&d->hire_mode, s->hireMode);
    d->finished_at = str(x, s->finishedAt);
    d->industry = str(x, s->industry);
    d->archived = map_bool(s->archived);
    d->archived_at = str(x, s->archivedAt);
    map_i64(&d->archive_reason_id, s->archiveReasonId);
    d->archive_reasons = str(x, s->archiveReasons);
    d->archive_reasons_details = str(x, s->archiveReasonsDetails);
    MAP_ARRAY(talent_pool, d->talent_pools_list, d->talent_pools_list_n, s->talentPoolsList);
    d->source = str(x, s->source);
    MAP_ARRAY(source, d->source_list, d->source_list_n, s->sourceList);
    map_i64(&d->source_type, s->sourceType);
    d->location = str(x, s->location);
    d->last_company = str(x, s->lastCompany);
    d->academic_degree = str(x, s->academicDegree);
    map_i64(&d->academic_degree_code, s->academicDegreeCode);
    d->last_speciality = str(x, s->lastSpeciality);
    d->married = str(x, s->married);
    d->personal = str(x, s->personal);
    d->salary = str(x, s->salary);
    d->forward_location = str(x, s->forwardLocation);
    d->aim_salary = str(x, s->aimSalary);
    d->personal_interests = str(x, s->personalInterests);
    d->political = str(x, s->political);
    d->job_commitment = str(x, s->jobCommitment);
    d->resume_key = str(x, s->resumeKey);
    d->stage_name = str(x, s->stageName);
    d->probation = str(x, s->probation);
    d->officeweb365_url = str(x, s->officeweb365Url);
    d->officeweb365_print_url = str(x, s->officeweb365PrintUrl);
    d->resume_pdf_meta = str(x, s->resumePdfMeta);
    d->resume_url = str(x, s->resumeUrl);
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
    d->interview_feedback_url = str(x, s->interviewFeedbackUrl);
    MAP_ARRAY(interviewer, d->extended_interviewers, d->extended_interviewers_n,
              s->extendedInterviewers);
    d->extended_interviewer_feedback_url = str(x, s->extendedInterviewerFeedbackUrl);
    MAP_ARRAY(custom_field, d->custom_fields, d->custom_fields_n, s->customFields);
    MAP_ARRAY(name_value, d->ehr_custom_fields, d->ehr_custom_fields_n, s->ehrCustomFields);
    d->ehr_candidate_external_link = str(x, s->ehrCandidateExternalLink);
    if (s->idCardFrontList &&
        (rc = map_strings(x, &d->id_card_front_list, &d->id_card_front_list_n,
                          s->idCardFrontList->element, s->idCardFrontList->__sizeelement)))
        return rc;
    d->id_card_back_list = str(x, s->idCardBackList);
    d->id_card_sign_organization = str(x, s->idCardSignOrganization);
    d->id_card_validity = str(x, s->idCardValidity);
    d->custom_attachment_list = str(x, s->customAttachmentList);
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
    struct map_ctx x = {arena, 0};
    eb_rc rc = EB_OK;
    dst->id = str(&x, src->id);
    dst->event = str(&x, src->event);
    dst->triggered_at = str(&x, src->triggeredAt);
    dst->data = NULL;
    dst->warnings = NULL;
    dst->n_warnings = dst->cap_warnings = 0;
    dst->keep_warnings = 0;
    if (!src->data)
        return x.nomem ? eb_err_set(err, EB_ERR_NOMEM, "out of memory mapping the push") : EB_OK;
    if (!(dst->data = eb_arena_zalloc(arena, sizeof *dst->data)))
        return eb_err_set(err, EB_ERR_NOMEM, "out of memory mapping the candidate");
    if ((rc = map_candidate(&x, dst->data, src->data)) || (rc = x.nomem ? EB_ERR_NOMEM : EB_OK))
        return eb_err_set(err, rc, "out of memory mapping the candidate");
    dst->data->application_id.set = has_application_id;
    return EB_OK;
}
