/* The text forms of a push's outcome (see outcome.h). */
#include "candidate/outcome.h"

const char *eb_outcome_name(enum eb_outcome o)
{
    switch (o) {
    case EB_OUTCOME_STORED:
        return "stored";
    case EB_OUTCOME_REJECTED:
        return "rejected";
    case EB_OUTCOME_FAILED:
        return "failed";
    }
    return "failed";
}
