/* The generated gSOAP service (gen/soapServer.c) run over the canonical document, in memory:
 * soap->is reads the envelope ingest produced, soap->os captures the response. This file and
 * candidate/map.c are the only ones that include the generated headers. */
#include "bind/bind.h"

#include <string.h>

#include "soapH.h"
#include "EhrBridgeSoap11.nsmap"

struct eb_bind {
    struct soap *soap;      /* the per-thread context; its arena is freed by eb_bind_end */
    eb_bind_handler handler; /* the current request's handler */
    void *user;             /* its argument */
};

struct eb_bind *eb_bind_new(void)
{
    struct eb_bind *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    /* SOAP_XML_TREE: the canonical document never holds id/href multi-references, and without
     * them gSOAP skips scanning its id table at every string and array it reads. */
    b->soap = soap_new1(SOAP_C_UTFSTRING | SOAP_XML_TREE);
    if (!b->soap) {
        free(b);
        return NULL;
    }
    b->soap->maxlevel = 64;        /* the contract nests 6 levels; ingest bounds its input too */
    b->soap->maxoccurs = 1000000;  /* items of one array */
    b->soap->recv_maxlength = 0;   /* input is an in-memory document ingest bounded already */
    b->soap->user = b;
    return b;
}

void eb_bind_free(struct eb_bind *b)
{
    if (!b)
        return;
    soap_destroy(b->soap);
    soap_end(b->soap);
    soap_free(b->soap);
    free(b);
}

/* The operation the generated skeleton (soap_serve_request) calls. */
int __ns1__pushCandidate(struct soap *soap, struct _ns1__pushCandidate *req,
                         struct _ns1__pushCandidateResponse *resp)
{
    struct eb_bind *b = soap->user;
    int ok = 0;
    const char *message = NULL;
    b->handler(b->user, req, &ok, &message);
    resp->return_ = ok ? xsd__boolean__true_ : xsd__boolean__false_;
    resp->message = message ? soap_strdup(soap, message) : NULL;
    return SOAP_OK;
}

eb_rc eb_bind_serve(struct eb_bind *b, const char *doc, eb_bind_handler h, void *user,
                    struct eb_buf *out, int *fault)
{
    struct soap *soap = b->soap;
    const char *res = NULL;
    b->handler = h;
    b->user = user;
    soap->fault = NULL;
    soap->is = doc;
    soap->os = &res;
    int rc = soap_serve(soap);
    soap->is = NULL;
    soap->os = NULL;
    *fault = rc != SOAP_OK;
    if (!res)
        return EB_ERR_INTERNAL;
    return eb_buf_puts(out, res);
}

eb_rc eb_bind_fault(struct eb_bind *b, enum eb_soap_version v, int sender, const char *reason,
                    struct eb_buf *out)
{
    struct soap *soap = b->soap;
    const char *res = NULL;
    /* Start from a clean context: no fault detail of an earlier request may leak into this one. */
    soap_destroy(soap);
    soap_end(soap);
    soap->fault = NULL;
    soap_set_version(soap, v == EB_SOAP_12 ? 2 : 1);
    soap->os = &res;
    if (sender)
        soap_sender_fault(soap, reason, NULL);
    else
        soap_receiver_fault(soap, reason, NULL);
    soap_send_fault(soap);
    soap->os = NULL;
    if (!res)
        return EB_ERR_INTERNAL;
    return eb_buf_puts(out, res);
}

void eb_bind_end(struct eb_bind *b)
{
    soap_destroy(b->soap);
    soap_end(b->soap);
}
