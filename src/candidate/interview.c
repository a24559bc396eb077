/* Interview events (see interview.h): the event names and the validation of a parsed event. */
#include "candidate/interview.h"

#include <string.h>
#include <strings.h>

#define MAX_EVENT_ID 255

int eb_interview_kind_of(const char *event)
{
    if (!event)
        return -1;
    if (!strcasecmp(event, "createInterviewsInfo"))
        return EB_INTERVIEW_CREATE;
    if (!strcasecmp(event, "updateInterviewsInfo"))
        return EB_INTERVIEW_UPDATE;
    if (!strcasecmp(event, "deleteInterviewsInfo"))
        return EB_INTERVIEW_DELETE;
    return -1;
}

eb_rc eb_interview_validate(const struct eb_interview_event *ev, struct eb_err *err)
{
    if (!ev->interviews_n)
        return eb_err_set(err, EB_ERR_INVALID, "data.interviews: missing or empty");
    for (size_t i = 0; i < ev->interviews_n; i++) {
        const char *id = ev->interviews[i].event_id;
        if (!id || !*id)
            return eb_err_set(err, EB_ERR_INVALID, "data.interviews[%zu].event_id: missing", i);
        if (strlen(id) > MAX_EVENT_ID)
            return eb_err_set(err, EB_ERR_INVALID,
                              "data.interviews[%zu].event_id: longer than %d characters", i,
                              MAX_EVENT_ID);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(ev->interviews[j].event_id, id))
                return eb_err_set(err, EB_ERR_INVALID,
                                  "data.interviews[%zu].event_id: same as interviews[%zu]", i, j);
    }
    return EB_OK;
}
