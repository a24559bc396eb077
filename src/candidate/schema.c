/* Descriptors of the candidate structs: what the contract calls each field, its kind, where it
 * lives and which column or child table holds it. Ingest, mapping checks and adapters walk these. */
#include "candidate/schema.h"
#include "candidate/candidate.h"

/* The descriptors are tables, one field per line: */
/* clang-format off */

static const struct eb_field person_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_person, name), 0, NULL},
    {"email", "email", EB_KIND_STR, offsetof(struct eb_person, email), 0, NULL},
    {"phone", "phone", EB_KIND_STR, offsetof(struct eb_person, phone), 0, NULL},
    {"number", "number", EB_KIND_STR, offsetof(struct eb_person, number), 0, NULL},
};
const struct eb_type eb_type_person = {"Person", sizeof(struct eb_person), person_fields,
    sizeof person_fields / sizeof person_fields[0]};

static const struct eb_field manager_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_manager, name), 0, NULL},
    {"phone", "phone", EB_KIND_STR, offsetof(struct eb_manager, phone), 0, NULL},
    {"email", "email", EB_KIND_STR, offsetof(struct eb_manager, email), 0, NULL},
    {"number", "number", EB_KIND_STR, offsetof(struct eb_manager, number), 0, NULL},
    {"employeeId", "employee_id", EB_KIND_STR, offsetof(struct eb_manager, employee_id), 0, NULL},
};
const struct eb_type eb_type_manager = {"Manager", sizeof(struct eb_manager), manager_fields,
    sizeof manager_fields / sizeof manager_fields[0]};

static const struct eb_field owner_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_owner, name), 0, NULL},
    {"phone", "phone", EB_KIND_STR, offsetof(struct eb_owner, phone), 0, NULL},
    {"email", "email", EB_KIND_STR, offsetof(struct eb_owner, email), 0, NULL},
    {"employeeId", "employee_id", EB_KIND_STR, offsetof(struct eb_owner, employee_id), 0, NULL},
};
const struct eb_type eb_type_owner = {"Owner", sizeof(struct eb_owner), owner_fields,
    sizeof owner_fields / sizeof owner_fields[0]};

static const struct eb_field name_value_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_name_value, name), 0, NULL},
    {"value", "value", EB_KIND_ANY, offsetof(struct eb_name_value, value), 0, NULL},
    {"codes", "codes", EB_KIND_STR, offsetof(struct eb_name_value, codes), 0, NULL},
};
const struct eb_type eb_type_name_value = {"NameValue", sizeof(struct eb_name_value), name_value_fields,
    sizeof name_value_fields / sizeof name_value_fields[0]};

static const struct eb_field talent_pool_fields[] = {
    {"talentPoolId", "talent_pool_id", EB_KIND_INT, offsetof(struct eb_talent_pool, talent_pool_id), 0, NULL},
    {"name", "name", EB_KIND_STR, offsetof(struct eb_talent_pool, name), 0, NULL},
    {"description", "description", EB_KIND_STR, offsetof(struct eb_talent_pool, description), 0, NULL},
};
const struct eb_type eb_type_talent_pool = {"TalentPool", sizeof(struct eb_talent_pool), talent_pool_fields,
    sizeof talent_pool_fields / sizeof talent_pool_fields[0]};

static const struct eb_field source_fields[] = {
    {"id", "id", EB_KIND_INT, offsetof(struct eb_source, id), 0, NULL},
    {"name", "name", EB_KIND_STR, offsetof(struct eb_source, name), 0, NULL},
    {"isBuiltin", "is_builtin", EB_KIND_BOOL, offsetof(struct eb_source, is_builtin), 0, NULL},
};
const struct eb_type eb_type_source = {"Source", sizeof(struct eb_source), source_fields,
    sizeof source_fields / sizeof source_fields[0]};

static const struct eb_field education_fields[] = {
    {"startDate", "start_date", EB_KIND_DATE, offsetof(struct eb_education, start_date), 0, NULL},
    {"endDate", "end_date", EB_KIND_DATE, offsetof(struct eb_education, end_date), 0, NULL},
    {"now", "now", EB_KIND_BOOL, offsetof(struct eb_education, now), 0, NULL},
    {"school", "school", EB_KIND_STR, offsetof(struct eb_education, school), 0, NULL},
    {"speciality", "speciality", EB_KIND_STR, offsetof(struct eb_education, speciality), 0, NULL},
    {"academicDegree", "academic_degree", EB_KIND_STR, offsetof(struct eb_education, academic_degree), 0, NULL},
};
const struct eb_type eb_type_education = {"Education", sizeof(struct eb_education), education_fields,
    sizeof education_fields / sizeof education_fields[0]};

static const struct eb_field experience_fields[] = {
    {"startDate", "start_date", EB_KIND_DATE, offsetof(struct eb_experience, start_date), 0, NULL},
    {"endDate", "end_date", EB_KIND_DATE, offsetof(struct eb_experience, end_date), 0, NULL},
    {"now", "now", EB_KIND_BOOL, offsetof(struct eb_experience, now), 0, NULL},
    {"company", "company", EB_KIND_STR, offsetof(struct eb_experience, company), 0, NULL},
    {"title", "title", EB_KIND_STR, offsetof(struct eb_experience, title), 0, NULL},
    {"department", "department", EB_KIND_STR, offsetof(struct eb_experience, department), 0, NULL},
    {"salary", "salary", EB_KIND_STR, offsetof(struct eb_experience, salary), 0, NULL},
    {"summary", "summary", EB_KIND_STR, offsetof(struct eb_experience, summary), 0, NULL},
    {"reasonForLeaving", "reason_for_leaving", EB_KIND_STR, offsetof(struct eb_experience, reason_for_leaving), 0, NULL},
    {"underlingNumber", "underling_number", EB_KIND_STR, offsetof(struct eb_experience, underling_number), 0, NULL},
    {"type", "type", EB_KIND_STR, offsetof(struct eb_experience, type), 0, NULL},
    {"location", "location", EB_KIND_STR, offsetof(struct eb_experience, location), 0, NULL},
    {"size", "size", EB_KIND_STR, offsetof(struct eb_experience, size), 0, NULL},
};
const struct eb_type eb_type_experience = {"Experience", sizeof(struct eb_experience), experience_fields,
    sizeof experience_fields / sizeof experience_fields[0]};

static const struct eb_field award_fields[] = {
    {"awardDate", "award_date", EB_KIND_DATE, offsetof(struct eb_award, award_date), 0, NULL},
    {"awardName", "award_name", EB_KIND_STR, offsetof(struct eb_award, award_name), 0, NULL},
};
const struct eb_type eb_type_award = {"Award", sizeof(struct eb_award), award_fields,
    sizeof award_fields / sizeof award_fields[0]};

static const struct eb_field job_fields[] = {
    {"jobId", "job_id", EB_KIND_STR, offsetof(struct eb_job, job_id), 0, NULL},
    {"title", "title", EB_KIND_STR, offsetof(struct eb_job, title), 0, NULL},
    {"department", "department", EB_KIND_STR, offsetof(struct eb_job, department), 0, NULL},
    {"departmentPath", "department_path", EB_KIND_STR, offsetof(struct eb_job, department_path), 0, NULL},
    {"departmentCode", "department_code", EB_KIND_STR, offsetof(struct eb_job, department_code), 0, NULL},
    {"parentDepartmentCode", "parent_department_code", EB_KIND_STR, offsetof(struct eb_job, parent_department_code), 0, NULL},
    {"competencyType", "competency_type", EB_KIND_STR, offsetof(struct eb_job, competency_type), 0, NULL},
    {"jobDescription", "job_description", EB_KIND_STR, offsetof(struct eb_job, job_description), 0, NULL},
    {"customFields", "job_custom_field", EB_KIND_ARR, offsetof(struct eb_job, custom_fields), offsetof(struct eb_job, custom_fields_n), &eb_type_name_value},
};
const struct eb_type eb_type_job = {"Job", sizeof(struct eb_job), job_fields,
    sizeof job_fields / sizeof job_fields[0]};

static const struct eb_field subject_fields[] = {
    {"type", "type", EB_KIND_INT, offsetof(struct eb_subject, type), 0, NULL},
    {"title", "title", EB_KIND_STR, offsetof(struct eb_subject, title), 0, NULL},
    {"description", "description", EB_KIND_STR, offsetof(struct eb_subject, description), 0, NULL},
    {"result", "result", EB_KIND_ANY, offsetof(struct eb_subject, result), 0, NULL},
    {"reason", "reason", EB_KIND_STR, offsetof(struct eb_subject, reason), 0, NULL},
    {"options", "option", EB_KIND_STRARR, offsetof(struct eb_subject, options), offsetof(struct eb_subject, options_n), NULL},
};
const struct eb_type eb_type_subject = {"Subject", sizeof(struct eb_subject), subject_fields,
    sizeof subject_fields / sizeof subject_fields[0]};

static const struct eb_field feedback_item_fields[] = {
    {"type", "type", EB_KIND_INT, offsetof(struct eb_feedback_item, type), 0, NULL},
    {"title", "title", EB_KIND_STR, offsetof(struct eb_feedback_item, title), 0, NULL},
    {"description", "description", EB_KIND_STR, offsetof(struct eb_feedback_item, description), 0, NULL},
    {"result", "result", EB_KIND_ANY, offsetof(struct eb_feedback_item, result), 0, NULL},
    {"calcScoreType", "calc_score_type", EB_KIND_STR, offsetof(struct eb_feedback_item, calc_score_type), 0, NULL},
    {"scoreType", "score_type", EB_KIND_INT, offsetof(struct eb_feedback_item, score_type), 0, NULL},
    {"needReason", "need_reason", EB_KIND_STR, offsetof(struct eb_feedback_item, need_reason), 0, NULL},
    {"subjects", "subject", EB_KIND_ARR, offsetof(struct eb_feedback_item, subjects), offsetof(struct eb_feedback_item, subjects_n), &eb_type_subject},
};
const struct eb_type eb_type_feedback_item = {"FeedbackItem", sizeof(struct eb_feedback_item), feedback_item_fields,
    sizeof feedback_item_fields / sizeof feedback_item_fields[0]};

static const struct eb_field interviewer_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_interviewer, name), 0, NULL},
    {"email", "email", EB_KIND_STR, offsetof(struct eb_interviewer, email), 0, NULL},
    {"phone", "phone", EB_KIND_STR, offsetof(struct eb_interviewer, phone), 0, NULL},
    {"id", "id", EB_KIND_INT, offsetof(struct eb_interviewer, id), 0, NULL},
    {"groupId", "group_id", EB_KIND_STR, offsetof(struct eb_interviewer, group_id), 0, NULL},
    {"interviewType", "interview_type", EB_KIND_STR, offsetof(struct eb_interviewer, interview_type), 0, NULL},
    {"attendStatus", "attend_status", EB_KIND_STR, offsetof(struct eb_interviewer, attend_status), 0, NULL},
    {"cancelReason", "cancel_reason", EB_KIND_STR, offsetof(struct eb_interviewer, cancel_reason), 0, NULL},
    {"participated", "participated", EB_KIND_STR, offsetof(struct eb_interviewer, participated), 0, NULL},
    {"status", "status", EB_KIND_STR, offsetof(struct eb_interviewer, status), 0, NULL},
    {"round", "round", EB_KIND_INT, offsetof(struct eb_interviewer, round), 0, NULL},
    {"roundName", "round_name", EB_KIND_STR, offsetof(struct eb_interviewer, round_name), 0, NULL},
    {"roundOtherName", "round_other_name", EB_KIND_ANY, offsetof(struct eb_interviewer, round_other_name), 0, NULL},
    {"startTime", "start_time", EB_KIND_DATE, offsetof(struct eb_interviewer, start_time), 0, NULL},
    {"createdAt", "created_at", EB_KIND_DATE, offsetof(struct eb_interviewer, created_at), 0, NULL},
    {"locationCountry", "location_country", EB_KIND_STR, offsetof(struct eb_interviewer, location_country), 0, NULL},
    {"locationCityId", "location_city_id", EB_KIND_INT, offsetof(struct eb_interviewer, location_city_id), 0, NULL},
    {"locationAddress", "location_address", EB_KIND_STR, offsetof(struct eb_interviewer, location_address), 0, NULL},
    {"result", "result", EB_KIND_INT, offsetof(struct eb_interviewer, result), 0, NULL},
    {"resultName", "result_name", EB_KIND_STR, offsetof(struct eb_interviewer, result_name), 0, NULL},
    {"resultType", "result_type", EB_KIND_INT, offsetof(struct eb_interviewer, result_type), 0, NULL},
    {"feedback", "feedback", EB_KIND_STR, offsetof(struct eb_interviewer, feedback), 0, NULL},
    {"feedbackTemplateResult", "feedback", EB_KIND_ARR, offsetof(struct eb_interviewer, feedback_template_result), offsetof(struct eb_interviewer, feedback_template_result_n), &eb_type_feedback_item},
};
const struct eb_type eb_type_interviewer = {"Interviewer", sizeof(struct eb_interviewer), interviewer_fields,
    sizeof interviewer_fields / sizeof interviewer_fields[0]};

static const struct eb_field job_rank_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_job_rank, name), 0, NULL},
    {"type", "type", EB_KIND_STR, offsetof(struct eb_job_rank, type), 0, NULL},
    {"level", "level", EB_KIND_STR, offsetof(struct eb_job_rank, level), 0, NULL},
};
const struct eb_type eb_type_job_rank = {"JobRank", sizeof(struct eb_job_rank), job_rank_fields,
    sizeof job_rank_fields / sizeof job_rank_fields[0]};

static const struct eb_field headcount_fields[] = {
    {"id", "id", EB_KIND_INT, offsetof(struct eb_headcount, id), 0, NULL},
    {"number", "number", EB_KIND_STR, offsetof(struct eb_headcount, number), 0, NULL},
    {"name", "name", EB_KIND_STR, offsetof(struct eb_headcount, name), 0, NULL},
    {"status", "status", EB_KIND_STR, offsetof(struct eb_headcount, status), 0, NULL},
};
const struct eb_type eb_type_headcount = {"Headcount", sizeof(struct eb_headcount), headcount_fields,
    sizeof headcount_fields / sizeof headcount_fields[0]};

static const struct eb_field custom_field_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_custom_field, name), 0, NULL},
    {"value", "value", EB_KIND_ANY, offsetof(struct eb_custom_field, value), 0, NULL},
    {"now", "now", EB_KIND_BOOL, offsetof(struct eb_custom_field, now), 0, NULL},
    {"section", "section", EB_KIND_STR, offsetof(struct eb_custom_field, section), 0, NULL},
    {"index", "index", EB_KIND_STR, offsetof(struct eb_custom_field, index), 0, NULL},
    {"codes", "codes", EB_KIND_STR, offsetof(struct eb_custom_field, codes), 0, NULL},
};
const struct eb_type eb_type_custom_field = {"CustomField", sizeof(struct eb_custom_field), custom_field_fields,
    sizeof custom_field_fields / sizeof custom_field_fields[0]};

static const struct eb_field offer_creator_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_offer_creator, name), 0, NULL},
    {"email", "email", EB_KIND_STR, offsetof(struct eb_offer_creator, email), 0, NULL},
};
const struct eb_type eb_type_offer_creator = {"OfferCreator", sizeof(struct eb_offer_creator), offer_creator_fields,
    sizeof offer_creator_fields / sizeof offer_creator_fields[0]};

static const struct eb_field offer_attachment_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_offer_attachment, name), 0, NULL},
    {"size", "size", EB_KIND_INT, offsetof(struct eb_offer_attachment, size), 0, NULL},
    {"downloadUrl", "download_url", EB_KIND_STR, offsetof(struct eb_offer_attachment, download_url), 0, NULL},
    {"attachmentType", "attachment_type", EB_KIND_INT, offsetof(struct eb_offer_attachment, attachment_type), 0, NULL},
};
const struct eb_type eb_type_offer_attachment = {"OfferAttachment", sizeof(struct eb_offer_attachment), offer_attachment_fields,
    sizeof offer_attachment_fields / sizeof offer_attachment_fields[0]};

static const struct eb_field offer_fields[] = {
    {"createdAt", "created_at", EB_KIND_DATE, offsetof(struct eb_offer, created_at), 0, NULL},
    {"status", "status", EB_KIND_STR, offsetof(struct eb_offer, status), 0, NULL},
    {"approvalStatus", "approval_status", EB_KIND_STR, offsetof(struct eb_offer, approval_status), 0, NULL},
    {"salaryNumber", "salary_number", EB_KIND_DEC, offsetof(struct eb_offer, salary_number), 0, NULL},
    {"checkinDate", "checkin_date", EB_KIND_DATE, offsetof(struct eb_offer, checkin_date), 0, NULL},
    {"location", "location", EB_KIND_STR, offsetof(struct eb_offer, location), 0, NULL},
    {"creator", "creator", EB_KIND_OBJ, offsetof(struct eb_offer, creator), 0, &eb_type_offer_creator},
    {"finishedAt", "finished_at", EB_KIND_DATE, offsetof(struct eb_offer, finished_at), 0, NULL},
    {"customFields", "offer_custom_field", EB_KIND_ARR, offsetof(struct eb_offer, custom_fields), offsetof(struct eb_offer, custom_fields_n), &eb_type_name_value},
    {"attachmentList", "offer_attachment", EB_KIND_ARR, offsetof(struct eb_offer, attachment_list), offsetof(struct eb_offer, attachment_list_n), &eb_type_offer_attachment},
    {"hcInfo", "hc_info", EB_KIND_OBJ, offsetof(struct eb_offer, hc_info), 0, &eb_type_headcount},
    {"jobRankInfo", "job_rank_info", EB_KIND_OBJ, offsetof(struct eb_offer, job_rank_info), 0, &eb_type_job_rank},
    {"departmentName", "department_name", EB_KIND_STR, offsetof(struct eb_offer, department_name), 0, NULL},
    {"departmentCode", "department_code", EB_KIND_STR, offsetof(struct eb_offer, department_code), 0, NULL},
    {"parentDepartmentCode", "parent_department_code", EB_KIND_STR, offsetof(struct eb_offer, parent_department_code), 0, NULL},
    {"departmentPath", "department_path", EB_KIND_STR, offsetof(struct eb_offer, department_path), 0, NULL},
    {"offerLastSentAt", "offer_last_sent_at", EB_KIND_DATE, offsetof(struct eb_offer, offer_last_sent_at), 0, NULL},
    {"offerAttachmentDownloadUrl", "offer_attachment_download_url", EB_KIND_STR, offsetof(struct eb_offer, offer_attachment_download_url), 0, NULL},
    {"lastCompany", "last_company", EB_KIND_STR, offsetof(struct eb_offer, last_company), 0, NULL},
};
const struct eb_type eb_type_offer = {"Offer", sizeof(struct eb_offer), offer_fields,
    sizeof offer_fields / sizeof offer_fields[0]};

static const struct eb_field attachment_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_attachment, name), 0, NULL},
    {"applyFormId", "apply_form_id", EB_KIND_INT, offsetof(struct eb_attachment, apply_form_id), 0, NULL},
    {"size", "size", EB_KIND_INT, offsetof(struct eb_attachment, size), 0, NULL},
    {"url", "url", EB_KIND_STR, offsetof(struct eb_attachment, url), 0, NULL},
    {"customFieldId", "custom_field_id", EB_KIND_INT, offsetof(struct eb_attachment, custom_field_id), 0, NULL},
    {"customFieldName", "custom_field_name", EB_KIND_STR, offsetof(struct eb_attachment, custom_field_name), 0, NULL},
    {"type", "type", EB_KIND_STR, offsetof(struct eb_attachment, type), 0, NULL},
};
const struct eb_type eb_type_attachment = {"Attachment", sizeof(struct eb_attachment), attachment_fields,
    sizeof attachment_fields / sizeof attachment_fields[0]};

static const struct eb_field link_fields[] = {
    {"url", "url", EB_KIND_STR, offsetof(struct eb_link, url), 0, NULL},
};
const struct eb_type eb_type_link = {"Link", sizeof(struct eb_link), link_fields,
    sizeof link_fields / sizeof link_fields[0]};

static const struct eb_field exam_report_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_exam_report, name), 0, NULL},
    {"url", "url", EB_KIND_STR, offsetof(struct eb_exam_report, url), 0, NULL},
    {"type", "type", EB_KIND_STR, offsetof(struct eb_exam_report, type), 0, NULL},
    {"result", "result", EB_KIND_STR, offsetof(struct eb_exam_report, result), 0, NULL},
    {"detailResult", "detail_result", EB_KIND_STR, offsetof(struct eb_exam_report, detail_result), 0, NULL},
};
const struct eb_type eb_type_exam_report = {"ExamReport", sizeof(struct eb_exam_report), exam_report_fields,
    sizeof exam_report_fields / sizeof exam_report_fields[0]};

static const struct eb_field exam_attachment_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_exam_attachment, name), 0, NULL},
    {"url", "url", EB_KIND_STR, offsetof(struct eb_exam_attachment, url), 0, NULL},
    {"result", "result", EB_KIND_STR, offsetof(struct eb_exam_attachment, result), 0, NULL},
    {"detailResult", "detail_result", EB_KIND_STR, offsetof(struct eb_exam_attachment, detail_result), 0, NULL},
};
const struct eb_type eb_type_exam_attachment = {"ExamAttachment", sizeof(struct eb_exam_attachment), exam_attachment_fields,
    sizeof exam_attachment_fields / sizeof exam_attachment_fields[0]};

static const struct eb_field project_fields[] = {
    {"startDate", "start_date", EB_KIND_DATE, offsetof(struct eb_project, start_date), 0, NULL},
    {"endDate", "end_date", EB_KIND_DATE, offsetof(struct eb_project, end_date), 0, NULL},
    {"projectName", "project_name", EB_KIND_STR, offsetof(struct eb_project, project_name), 0, NULL},
    {"title", "title", EB_KIND_STR, offsetof(struct eb_project, title), 0, NULL},
    {"projectDescript", "project_descript", EB_KIND_STR, offsetof(struct eb_project, project_descript), 0, NULL},
    {"responsibilities", "responsibilities", EB_KIND_STR, offsetof(struct eb_project, responsibilities), 0, NULL},
    {"now", "now", EB_KIND_BOOL, offsetof(struct eb_project, now), 0, NULL},
};
const struct eb_type eb_type_project = {"Project", sizeof(struct eb_project), project_fields,
    sizeof project_fields / sizeof project_fields[0]};

static const struct eb_field language_fields[] = {
    {"language", "language", EB_KIND_STR, offsetof(struct eb_language, language), 0, NULL},
    {"level", "level", EB_KIND_STR, offsetof(struct eb_language, level), 0, NULL},
    {"listenAndSpeak", "listen_and_speak", EB_KIND_STR, offsetof(struct eb_language, listen_and_speak), 0, NULL},
    {"readAndWrite", "read_and_write", EB_KIND_STR, offsetof(struct eb_language, read_and_write), 0, NULL},
};
const struct eb_type eb_type_language = {"Language", sizeof(struct eb_language), language_fields,
    sizeof language_fields / sizeof language_fields[0]};

static const struct eb_field label_fields[] = {
    {"id", "id", EB_KIND_INT, offsetof(struct eb_label, id), 0, NULL},
    {"label", "label", EB_KIND_STR, offsetof(struct eb_label, label), 0, NULL},
};
const struct eb_type eb_type_label = {"Label", sizeof(struct eb_label), label_fields,
    sizeof label_fields / sizeof label_fields[0]};

static const struct eb_field remark_fields[] = {
    {"creator", "creator", EB_KIND_OBJ, offsetof(struct eb_remark, creator), 0, &eb_type_person},
    {"content", "content", EB_KIND_STR, offsetof(struct eb_remark, content), 0, NULL},
    {"targets", "target", EB_KIND_ARR, offsetof(struct eb_remark, targets), offsetof(struct eb_remark, targets_n), &eb_type_person},
    {"is_private", "is_private", EB_KIND_INT, offsetof(struct eb_remark, is_private), 0, NULL},
    {"type", "type", EB_KIND_STR, offsetof(struct eb_remark, type), 0, NULL},
    {"created_at", "created_at", EB_KIND_DATE, offsetof(struct eb_remark, created_at), 0, NULL},
};
const struct eb_type eb_type_remark = {"Remark", sizeof(struct eb_remark), remark_fields,
    sizeof remark_fields / sizeof remark_fields[0]};

static const struct eb_field survey_attachment_fields[] = {
    {"surveyAttachmentsUrl", "survey_attachments_url", EB_KIND_STR, offsetof(struct eb_survey_attachment, survey_attachments_url), 0, NULL},
    {"surveyAttachmentName", "survey_attachment_name", EB_KIND_STR, offsetof(struct eb_survey_attachment, survey_attachment_name), 0, NULL},
};
const struct eb_type eb_type_survey_attachment = {"SurveyAttachment", sizeof(struct eb_survey_attachment), survey_attachment_fields,
    sizeof survey_attachment_fields / sizeof survey_attachment_fields[0]};

static const struct eb_field survey_fields[] = {
    {"name", "name", EB_KIND_STR, offsetof(struct eb_survey, name), 0, NULL},
    {"date", "date", EB_KIND_DATE, offsetof(struct eb_survey, date), 0, NULL},
    {"result", "result", EB_KIND_STR, offsetof(struct eb_survey, result), 0, NULL},
    {"surveyAttachmentsUrl", "survey_attachments_url", EB_KIND_STR, offsetof(struct eb_survey, survey_attachments_url), 0, NULL},
    {"surveyAttachmentName", "survey_attachment_name", EB_KIND_STR, offsetof(struct eb_survey, survey_attachment_name), 0, NULL},
    {"surveyAttachments", "attachment", EB_KIND_ARR, offsetof(struct eb_survey, survey_attachments), offsetof(struct eb_survey, survey_attachments_n), &eb_type_survey_attachment},
};
const struct eb_type eb_type_survey = {"Survey", sizeof(struct eb_survey), survey_fields,
    sizeof survey_fields / sizeof survey_fields[0]};

static const struct eb_field practice_fields[] = {
    {"startDate", "start_date", EB_KIND_DATE, offsetof(struct eb_practice, start_date), 0, NULL},
    {"endDate", "end_date", EB_KIND_DATE, offsetof(struct eb_practice, end_date), 0, NULL},
    {"company", "company", EB_KIND_STR, offsetof(struct eb_practice, company), 0, NULL},
    {"title", "title", EB_KIND_STR, offsetof(struct eb_practice, title), 0, NULL},
};
const struct eb_type eb_type_practice = {"Practice", sizeof(struct eb_practice), practice_fields,
    sizeof practice_fields / sizeof practice_fields[0]};

static const struct eb_field candidate_fields[] = {
    {"applicationId", "application_id", EB_KIND_INT, offsetof(struct eb_candidate, application_id), 0, NULL},
    {"candidateId", "candidate_id", EB_KIND_INT, offsetof(struct eb_candidate, candidate_id), 0, NULL},
    {"moved_at", "moved_at", EB_KIND_DATE, offsetof(struct eb_candidate, moved_at), 0, NULL},
    {"name", "name", EB_KIND_STR, offsetof(struct eb_candidate, name), 0, NULL},
    {"prefixPhone", "prefix_phone", EB_KIND_STR, offsetof(struct eb_candidate, prefix_phone), 0, NULL},
    {"phone", "phone", EB_KIND_STR, offsetof(struct eb_candidate, phone), 0, NULL},
    {"email", "email", EB_KIND_STR, offsetof(struct eb_candidate, email), 0, NULL},
    {"gender", "gender", EB_KIND_STR, offsetof(struct eb_candidate, gender), 0, NULL},
    {"genderCode", "gender_code", EB_KIND_INT, offsetof(struct eb_candidate, gender_code), 0, NULL},
    {"created_at", "created_at", EB_KIND_DATE, offsetof(struct eb_candidate, created_at), 0, NULL},
    {"birthYear", "birth_year", EB_KIND_INT, offsetof(struct eb_candidate, birth_year), 0, NULL},
    {"birthDate", "birth_date", EB_KIND_DATE, offsetof(struct eb_candidate, birth_date), 0, NULL},
    {"ethnic", "ethnic", EB_KIND_STR, offsetof(struct eb_candidate, ethnic), 0, NULL},
    {"ethnicCode", "ethnic_code", EB_KIND_INT, offsetof(struct eb_candidate, ethnic_code), 0, NULL},
    {"certificateType", "certificate_type", EB_KIND_INT, offsetof(struct eb_candidate, certificate_type), 0, NULL},
    {"citizenId", "citizen_id", EB_KIND_STR, offsetof(struct eb_candidate, citizen_id), 0, NULL},
    {"nationality", "nationality", EB_KIND_STR, offsetof(struct eb_candidate, nationality), 0, NULL},
    {"nationalityCode", "nationality_code", EB_KIND_INT, offsetof(struct eb_candidate, nationality_code), 0, NULL},
    {"nativePlace", "native_place", EB_KIND_STR, offsetof(struct eb_candidate, native_place), 0, NULL},
    {"nativePlaceCode", "native_place_code", EB_KIND_INT, offsetof(struct eb_candidate, native_place_code), 0, NULL},
    {"experience", "experience", EB_KIND_INT, offsetof(struct eb_candidate, experience), 0, NULL},
    {"portraitUrl", "portrait_url", EB_KIND_STR, offsetof(struct eb_candidate, portrait_url), 0, NULL},
    {"hireMode", "hire_mode", EB_KIND_INT, offsetof(struct eb_candidate, hire_mode), 0, NULL},
    {"finishedAt", "finished_at", EB_KIND_DATE, offsetof(struct eb_candidate, finished_at), 0, NULL},
    {"industry", "industry", EB_KIND_STR, offsetof(struct eb_candidate, industry), 0, NULL},
    {"archived", "archived", EB_KIND_BOOL, offsetof(struct eb_candidate, archived), 0, NULL},
    {"archivedAt", "archived_at", EB_KIND_DATE, offsetof(struct eb_candidate, archived_at), 0, NULL},
    {"archiveReasonId", "archive_reason_id", EB_KIND_INT, offsetof(struct eb_candidate, archive_reason_id), 0, NULL},
    {"archiveReasons", "archive_reasons", EB_KIND_STR, offsetof(struct eb_candidate, archive_reasons), 0, NULL},
    {"archiveReasonsDetails", "archive_reasons_details", EB_KIND_STR, offsetof(struct eb_candidate, archive_reasons_details), 0, NULL},
    {"talentPoolsList", "talent_pool", EB_KIND_ARR, offsetof(struct eb_candidate, talent_pools_list), offsetof(struct eb_candidate, talent_pools_list_n), &eb_type_talent_pool},
    {"source", "source", EB_KIND_STR, offsetof(struct eb_candidate, source), 0, NULL},
    {"sourceList", "source", EB_KIND_ARR, offsetof(struct eb_candidate, source_list), offsetof(struct eb_candidate, source_list_n), &eb_type_source},
    {"sourceType", "source_type", EB_KIND_INT, offsetof(struct eb_candidate, source_type), 0, NULL},
    {"location", "location", EB_KIND_STR, offsetof(struct eb_candidate, location), 0, NULL},
    {"lastCompany", "last_company", EB_KIND_STR, offsetof(struct eb_candidate, last_company), 0, NULL},
    {"academicDegree", "academic_degree", EB_KIND_STR, offsetof(struct eb_candidate, academic_degree), 0, NULL},
    {"academicDegreeCode", "academic_degree_code", EB_KIND_INT, offsetof(struct eb_candidate, academic_degree_code), 0, NULL},
    {"lastSpeciality", "last_speciality", EB_KIND_STR, offsetof(struct eb_candidate, last_speciality), 0, NULL},
    {"married", "married", EB_KIND_STR, offsetof(struct eb_candidate, married), 0, NULL},
    {"personal", "personal", EB_KIND_STR, offsetof(struct eb_candidate, personal), 0, NULL},
    {"salary", "salary", EB_KIND_STR, offsetof(struct eb_candidate, salary), 0, NULL},
    {"forwardLocation", "forward_location", EB_KIND_STR, offsetof(struct eb_candidate, forward_location), 0, NULL},
    {"aimSalary", "aim_salary", EB_KIND_STR, offsetof(struct eb_candidate, aim_salary), 0, NULL},
    {"personalInterests", "personal_interests", EB_KIND_STR, offsetof(struct eb_candidate, personal_interests), 0, NULL},
    {"political", "political", EB_KIND_STR, offsetof(struct eb_candidate, political), 0, NULL},
    {"jobCommitment", "job_commitment", EB_KIND_STR, offsetof(struct eb_candidate, job_commitment), 0, NULL},
    {"resumeKey", "resume_key", EB_KIND_STR, offsetof(struct eb_candidate, resume_key), 0, NULL},
    {"stageName", "stage_name", EB_KIND_STR, offsetof(struct eb_candidate, stage_name), 0, NULL},
    {"probation", "probation", EB_KIND_ANY, offsetof(struct eb_candidate, probation), 0, NULL},
    {"officeweb365Url", "officeweb365_url", EB_KIND_STR, offsetof(struct eb_candidate, officeweb365_url), 0, NULL},
    {"officeweb365PrintUrl", "officeweb365_print_url", EB_KIND_STR, offsetof(struct eb_candidate, officeweb365_print_url), 0, NULL},
    {"resumePdfMeta", "resume_pdf_meta", EB_KIND_ANY, offsetof(struct eb_candidate, resume_pdf_meta), 0, NULL},
    {"resumeUrl", "resume_url", EB_KIND_STR, offsetof(struct eb_candidate, resume_url), 0, NULL},
    {"educationInfo", "education", EB_KIND_ARR, offsetof(struct eb_candidate, education_info), offsetof(struct eb_candidate, education_info_n), &eb_type_education},
    {"experienceInfo", "experience", EB_KIND_ARR, offsetof(struct eb_candidate, experience_info), offsetof(struct eb_candidate, experience_info_n), &eb_type_experience},
    {"awardInfo", "award", EB_KIND_ARR, offsetof(struct eb_candidate, award_info), offsetof(struct eb_candidate, award_info_n), &eb_type_award},
    {"projectInfo", "project", EB_KIND_ARR, offsetof(struct eb_candidate, project_info), offsetof(struct eb_candidate, project_info_n), &eb_type_project},
    {"languageInfo", "language", EB_KIND_ARR, offsetof(struct eb_candidate, language_info), offsetof(struct eb_candidate, language_info_n), &eb_type_language},
    {"practiceInfo", "practice", EB_KIND_ARR, offsetof(struct eb_candidate, practice_info), offsetof(struct eb_candidate, practice_info_n), &eb_type_practice},
    {"job", "job", EB_KIND_OBJ, offsetof(struct eb_candidate, job), 0, &eb_type_job},
    {"jobManager", "job_manager", EB_KIND_OBJ, offsetof(struct eb_candidate, job_manager), 0, &eb_type_manager},
    {"jobAssistants", "job_assistant", EB_KIND_ARR, offsetof(struct eb_candidate, job_assistants), offsetof(struct eb_candidate, job_assistants_n), &eb_type_manager},
    {"jobRanksInfo", "job_rank", EB_KIND_ARR, offsetof(struct eb_candidate, job_ranks_info), offsetof(struct eb_candidate, job_ranks_info_n), &eb_type_job_rank},
    {"headcountInfo", "headcount", EB_KIND_ARR, offsetof(struct eb_candidate, headcount_info), offsetof(struct eb_candidate, headcount_info_n), &eb_type_headcount},
    {"interviewers", "interviewer", EB_KIND_ARR, offsetof(struct eb_candidate, interviewers), offsetof(struct eb_candidate, interviewers_n), &eb_type_interviewer},
    {"interviewFeedbackUrl", "interview_feedback_url", EB_KIND_STR, offsetof(struct eb_candidate, interview_feedback_url), 0, NULL},
    {"extendedInterviewers", "extended_interviewer", EB_KIND_ARR, offsetof(struct eb_candidate, extended_interviewers), offsetof(struct eb_candidate, extended_interviewers_n), &eb_type_interviewer},
    {"extendedInterviewerFeedbackUrl", "extended_interviewer_feedback_url", EB_KIND_STR, offsetof(struct eb_candidate, extended_interviewer_feedback_url), 0, NULL},
    {"customFields", "custom_field", EB_KIND_ARR, offsetof(struct eb_candidate, custom_fields), offsetof(struct eb_candidate, custom_fields_n), &eb_type_custom_field},
    {"ehrCustomFields", "ehr_custom_field", EB_KIND_ARR, offsetof(struct eb_candidate, ehr_custom_fields), offsetof(struct eb_candidate, ehr_custom_fields_n), &eb_type_name_value},
    {"ehrCandidateExternalLink", "ehr_candidate_external_link", EB_KIND_STR, offsetof(struct eb_candidate, ehr_candidate_external_link), 0, NULL},
    {"idCardFrontList", "id_card_front", EB_KIND_STRARR, offsetof(struct eb_candidate, id_card_front_list), offsetof(struct eb_candidate, id_card_front_list_n), NULL},
    {"idCardBackList", "id_card_back_list", EB_KIND_ANY, offsetof(struct eb_candidate, id_card_back_list), 0, NULL},
    {"idCardSignOrganization", "id_card_sign_organization", EB_KIND_STR, offsetof(struct eb_candidate, id_card_sign_organization), 0, NULL},
    {"idCardValidity", "id_card_validity", EB_KIND_STR, offsetof(struct eb_candidate, id_card_validity), 0, NULL},
    {"customAttachmentList", "custom_attachment_list", EB_KIND_ANY, offsetof(struct eb_candidate, custom_attachment_list), 0, NULL},
    {"referrer", "referrer", EB_KIND_OBJ, offsetof(struct eb_candidate, referrer), 0, &eb_type_person},
    {"operator", "operator", EB_KIND_OBJ, offsetof(struct eb_candidate, operator), 0, &eb_type_person},
    {"owners", "owners", EB_KIND_OBJ, offsetof(struct eb_candidate, owners), 0, &eb_type_owner},
    {"offer", "offer", EB_KIND_OBJ, offsetof(struct eb_candidate, offer), 0, &eb_type_offer},
    {"attachments", "attachment", EB_KIND_ARR, offsetof(struct eb_candidate, attachments), offsetof(struct eb_candidate, attachments_n), &eb_type_attachment},
    {"offerAttachment", "offer_attachment", EB_KIND_OBJ, offsetof(struct eb_candidate, offer_attachment), 0, &eb_type_link},
    {"examReportLinks", "exam_report_link", EB_KIND_ARR, offsetof(struct eb_candidate, exam_report_links), offsetof(struct eb_candidate, exam_report_links_n), &eb_type_exam_report},
    {"examAttachments", "exam_attachment", EB_KIND_ARR, offsetof(struct eb_candidate, exam_attachments), offsetof(struct eb_candidate, exam_attachments_n), &eb_type_exam_attachment},
    {"label", "label", EB_KIND_ARR, offsetof(struct eb_candidate, label), offsetof(struct eb_candidate, label_n), &eb_type_label},
    {"remarks", "remark", EB_KIND_ARR, offsetof(struct eb_candidate, remarks), offsetof(struct eb_candidate, remarks_n), &eb_type_remark},
    {"survey", "survey", EB_KIND_ARR, offsetof(struct eb_candidate, survey), offsetof(struct eb_candidate, survey_n), &eb_type_survey},
};
const struct eb_type eb_type_candidate = {"Candidate", sizeof(struct eb_candidate), candidate_fields,
    sizeof candidate_fields / sizeof candidate_fields[0]};

/* The operation element of the contract: pushCandidate(id, event, triggeredAt, data). Read by
 * ingest (XML and JSON); no domain struct of its own (eb_push is filled by the mapping). */
static const struct eb_field push_fields[] = {
    {"id", "push_id", EB_KIND_STR, 0, 0, NULL},
    {"event", "event", EB_KIND_STR, 0, 0, NULL},
    {"triggeredAt", "triggered_at", EB_KIND_STR, 0, 0, NULL},
    {"data", "data", EB_KIND_OBJ, 0, 0, &eb_type_candidate},
};
const struct eb_type eb_type_push = {"pushCandidate", 0, push_fields,
                                     sizeof push_fields / sizeof push_fields[0]};
/* clang-format on */
