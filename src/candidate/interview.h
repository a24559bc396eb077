/* The vendor's interview events ("Push interview info": createInterviewsInfo,
 * updateInterviewsInfo, deleteInterviewsInfo) as plain C, the domain model the adapters store
 * (tables interview, interview_application, interview_interviewer, interview_interviewee, keyed
 * by the interview's event_id). REST only: the SOAP contract has pushCandidate alone. Strings are
 * borrowed from the request arena and live until the request ends; absent values are NULL or
 * unset. */
#ifndef EB_INTERVIEW_H
#define EB_INTERVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "candidate/candidate.h"
#include "util/err.h"

/* What the event asks for. */
enum eb_interview_kind {
    EB_INTERVIEW_CREATE = 0, /* createInterviewsInfo: store (replace when the event_id exists) */
    EB_INTERVIEW_UPDATE,     /* updateInterviewsInfo: replace (store when it does not exist) */
    EB_INTERVIEW_DELETE      /* deleteInterviewsInfo: remove every row of the event_id */
};

/* An interviewer[] or interviewee[] item. */
struct eb_interview_person {
    struct eb_i64 id;      /* id (interviewer id, or the candidate id of an interviewee) */
    const char *name;      /* name */
    const char *email;     /* email */
    const char *phone;     /* phone */
    const char *job_id;    /* interviewee: jobId */
    const char *job_title; /* interviewee: jobTitle */
    const char *url;       /* intervieweeUrl or interviewerUrl (invitation link) */
};

/* One interviews[] item. */
struct eb_interview {
    const char *event_id;     /* event_id: the interview's unique id (required) */
    int64_t *application_ids; /* applicationIds (the event's when the item has none) */
    size_t application_ids_n;
    struct eb_i64 round_id;        /* roundId */
    const char *round_name;        /* roundName */
    struct eb_i64 room_id;         /* roomId */
    const char *room_name;         /* roomName */
    struct eb_i64 address_id;      /* address.id */
    const char *address_country;   /* address.country */
    struct eb_i64 address_city_id; /* address.cityId */
    const char *address_address;   /* address.address */
    struct eb_i64 start_time;      /* startTime, Unix ms as sent */
    struct eb_i64 end_time;        /* endTime */
    const char *interviewer_ids;   /* interviewerIds as compact JSON text; NULL when absent */
    struct eb_interview_person *interviewees; /* interviewee[] */
    size_t interviewees_n;
    struct eb_interview_person *interviewers; /* interviewer[] */
    size_t interviewers_n;
};

/* One interview event. */
struct eb_interview_event {
    enum eb_interview_kind kind;     /* from event */
    const char *event;               /* the event name as sent */
    struct eb_i64 interview_type;    /* data.interviewType: 1 on-site ... 5 sequential */
    struct eb_i64 create_time;       /* data.createTime */
    const char *creator_id;          /* data.creator.id (a string in the vendor's docs) */
    const char *creator_name;        /* data.creator.name */
    const char *creator_email;       /* data.creator.email */
    const char *creator_phone;       /* data.creator.phone */
    struct eb_interview *interviews; /* data.interviews[] */
    size_t interviews_n;
};

/* The kind of an event name (ASCII case-insensitive); -1 when it is not an interview event. */
int eb_interview_kind_of(const char *event);

/* Checks an event: at least one interview, each with a non-empty event_id of at most 255
 * characters, no event_id twice. EB_ERR_INVALID with a message naming the field
 * ("data.interviews[1].event_id: missing"). */
eb_rc eb_interview_validate(const struct eb_interview_event *ev, struct eb_err *err);

#endif
