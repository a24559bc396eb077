/* What the files of the admin listener share (admin.c: the access policy, the routes, the push
 * list, one push's page and its replay; download.c: archived documents sent whole). Internal to
 * admin/; the interface is admin.h. */
#ifndef EB_ADMIN_INT_H
#define EB_ADMIN_INT_H

#include <stdint.h>

#include "adapters/adapter.h"
#include "config.h"
#include "transport/http.h"
#include "util/err.h"

/* Answers status with body[0..len) of media type `type` and the listener's security headers. */
void adm_answer(struct eb_http_response *resp, int status, const char *type, const char *body,
                size_t len);

/* Answers status with {"error": msg}. */
void adm_answer_error(struct eb_http_response *resp, int status, const char *msg);

/* Answers a read that failed: 400 for a query the database cannot take, 501 when the adapter
 * has no reads for this listener (ODBC), 503 when the database cannot be reached. */
void adm_read_failed(struct eb_http_response *resp, const struct eb_err *err, int oom);

/* GET /api/attachments/{id}: the stored file, read chunk by chunk into the response body (the
 * transport sends bodies whole), its SHA-256 checked on the way. */
void adm_download(const struct eb_config *cfg, struct eb_adapter *db, int64_t id,
                  struct eb_http_response *resp);

/* The id of "/api/attachments/ID" (1..), or 0. */
int64_t adm_attachment_path(const char *path);

#endif
