/* The generated gSOAP service (gen/soapServer.c) run in memory: soap->is reads the envelope
 * ingest produced, or the request body itself when ingest's direct path read it (it is already
 * canonical), soap->os captures the response. Only bind/ (this
 * file and map.c, the translation into struct eb_push) includes the generated headers. */
#include "bind/bind.h"

#include <string.h>

#include "bind/map.h"
#include "soapH.h"
#include "EhrBridgeSoap11.nsmap"

struct eb_bind {
    struct soap *soap;                     /* the context; its arena is freed by eb_bind_end */
    const struct _ns1__pushCandidate *req; /* the request read; NULL after eb_bind_end */
    char *yes[2]; /* the answer `true` without a message, SOAP 1.1 and 1.2, once rendered */
    size_t yes_len[2];
};

struct eb_bind *eb_bind_new(void)
{
    struct eb_bind *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    /* SOAP_XML_TREE: the documents read never hold id/href multi-references, and without them
     * gSOAP skips scanning its id table at every string and array it reads.
     * SOAP_XML_IGNORENS: element names are matched without comparing namespaces. Every
     * document read is one ingest wrote (by either of its paths) or a body the direct path
     * accepted, every element of the push in the contract's namespace; the SOAP version still
     * comes from the Envelope's namespace. */
    b->soap = soap_new1(SOAP_C_UTFSTRING | SOAP_XML_TREE | SOAP_XML_IGNORENS);
    if (!b->soap) {
        free(b);
        return NULL;
    }
    b->soap->maxlevel = 64;       /* the contract nests 6 levels; ingest bounds its input too */
    b->soap->maxoccurs = 1000000; /* items of one array */
    b->soap->recv_maxlength = 0;  /* input is an in-memory document ingest bounded already */
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
    free(b->yes[0]);
    free(b->yes[1]);
    free(b);
}

/* The operation of the generated skeleton (gen/soapServer.c). The service reads requests with
 * eb_bind_read and answers with eb_bind_answer (the same generated calls, split so that the
 * answer can come after the commit), so the skeleton's dispatch never runs; the linker still
 * needs the operation. */
int __ns1__pushCandidate(struct soap *soap, struct _ns1__pushCandidate *req,
                         struct _ns1__pushCandidateResponse *resp)
{
    (void)req;
    (void)resp;
    return soap->error = SOAP_NO_METHOD;
}

/* gSOAP's start of a request, as the generated soap_serve does it with soap_begin_serve, less
 * one of its two clearings of the runtime's temporary tables: soap_begin_serve runs soap_begin
 * (which resets the fields below, then frees the temporary data: a 32 KB memset of the pointer
 * table and a walk of the 1,999-bucket id table) and then soap_begin_recv, which frees the same
 * temporary data again as it starts reading. Here the fields are reset as soap_begin resets
 * them, and soap_begin_recv's clearing is the only one. */
static int begin_serve(struct soap *soap)
{
    soap->error = SOAP_OK;
    if (!soap->keep_alive) {
        soap->buflen = 0;
        soap->bufidx = 0;
    }
    soap->mode = 0;
    soap->peeked = 0;
    soap->encoding = 0;
    soap->part = SOAP_END;
    soap->ahead = 0;
    soap->level = 0;
    soap->encodingStyle = ""; /* the library's SOAP_STR_EOS, an empty string */
    return soap_begin_recv(soap) || soap_envelope_begin_in(soap) || soap_recv_header(soap) ||
           soap_body_begin_in(soap);
}

/* gSOAP's end of a request. soap_end_recv collects MIME, DIME and MTOM attachments, resolves
 * id/href multi-references by walking the 1,999-bucket id table, and runs a plugin's hook. A
 * request read from memory that starts with '<' has no attachments, the context has no plugin,
 * and the documents read (the canonical one, or a body the direct path accepted) carry no
 * attribute but namespace declarations, so no id or href: all that is left of it is the end of
 * the message part. Anything else takes the library's own soap_end_recv. */
static int end_recv(struct soap *soap)
{
    if ((soap->mode & (SOAP_ENC_DIME | SOAP_ENC_MIME | SOAP_ENC_MTOM)) || soap->xlist ||
        soap->plugins || soap->fpreparefinalrecv || soap->ffilterrecv)
        return soap_end_recv(soap);
    soap->part = SOAP_END;
    return SOAP_OK;
}

eb_rc eb_bind_read(struct eb_bind *b, const char *doc)
{
    struct soap *soap = b->soap;
    struct __ns1__pushCandidate in;
    const struct _ns1__pushCandidate **req = &b->req;
    *req = NULL;
    soap->fault = NULL;
    soap->is = doc;
    soap->keep_alive = 0;
    /* what the generated soap_serve and soap_serve___ns1__pushCandidate do before the call */
    if (!begin_serve(soap)) {
        (void)soap_peek_element(soap);
        if (soap_match_tag(soap, soap->tag, "ns1:pushCandidate")) {
            soap->error = SOAP_NO_METHOD;
        } else {
            soap_default___ns1__pushCandidate(soap, &in);
            if (soap_get___ns1__pushCandidate(soap, &in, "-ns1:pushCandidate", NULL) &&
                !soap_body_end_in(soap) && !soap_envelope_end_in(soap) && !end_recv(soap))
                *req = in.ns1__pushCandidate;
        }
    }
    soap->is = NULL;
    if (*req)
        return EB_OK;
    if (!soap->error)
        soap->error = SOAP_NO_METHOD; /* an empty operation element */
    return EB_ERR_NOT_PUSH;
}

eb_rc eb_bind_push(struct eb_bind *b, struct eb_arena *arena, int has_application_id,
                   struct eb_push *dst, struct eb_err *err)
{
    if (!b->req)
        return eb_err_set(err, EB_ERR_INTERNAL, "no request was read");
    return eb_map_push(arena, b->req, has_application_id, dst, err);
}

static eb_rc render_answer(struct eb_bind *b, enum eb_soap_version v, int ok, const char *message,
                           struct eb_buf *out);

eb_rc eb_bind_answer(struct eb_bind *b, enum eb_soap_version v, int ok, const char *message,
                     struct eb_buf *out)
{
    if (!ok || (message && *message))
        return render_answer(b, v, ok, message, out);
    /* `true` is the same bytes every time (the generated serializer writes no ids or times):
     * rendered once per version, then copied */
    int i = v == EB_SOAP_12;
    if (!b->yes[i]) {
        struct eb_buf yes;
        eb_buf_init(&yes, 65536);
        eb_rc rc = render_answer(b, v, 1, NULL, &yes);
        eb_bind_end(b);
        if (rc || !yes.len) {
            eb_buf_free(&yes);
            return rc ? rc : EB_ERR_INTERNAL;
        }
        b->yes[i] = yes.data;
        b->yes_len[i] = yes.len;
    }
    return eb_buf_append(out, b->yes[i], b->yes_len[i]);
}

/* The envelope of a pushCandidateResponse, as the generated skeleton writes it. */
static int put_response(struct soap *soap, const struct _ns1__pushCandidateResponse *r)
{
    return soap_envelope_begin_out(soap) || soap_putheader(soap) || soap_body_begin_out(soap) ||
           soap_put__ns1__pushCandidateResponse(soap, r, "ns1:pushCandidateResponse", "") ||
           soap_body_end_out(soap) || soap_envelope_end_out(soap);
}

/* Appends what gSOAP wrote to soap->os (set to res) to out; EB_ERR_INTERNAL when it wrote
 * nothing or failed (rc). */
static eb_rc take_output(struct soap *soap, const char *res, int rc, struct eb_buf *out)
{
    soap->os = NULL;
    if (rc || !res)
        return EB_ERR_INTERNAL;
    return eb_buf_puts(out, res);
}

/* The SOAP Fault already set in soap (soap->fault, or one made from soap->error), into out. */
static eb_rc send_fault(struct soap *soap, struct eb_buf *out)
{
    const char *res = NULL;
    soap->os = &res;
    soap_send_fault(soap);
    return take_output(soap, res, 0, out);
}

static eb_rc render_answer(struct eb_bind *b, enum eb_soap_version v, int ok, const char *message,
                           struct eb_buf *out)
{
    struct soap *soap = b->soap;
    struct _ns1__pushCandidateResponse r;
    const char *res = NULL;
    soap_set_version(soap, v == EB_SOAP_12 ? 2 : 1);
    soap_default__ns1__pushCandidateResponse(soap, &r);
    r.return_ = ok ? xsd__boolean__true_ : xsd__boolean__false_;
    r.message = message && *message ? soap_strdup(soap, message) : NULL;
    soap->os = &res;
    /* what the generated soap_serve___ns1__pushCandidate does after the call */
    soap->encodingStyle = NULL; /* literal */
    soap_serializeheader(soap);
    soap_serialize__ns1__pushCandidateResponse(soap, &r);
    int rc = soap_begin_count(soap);
    if (!rc && (soap->mode & SOAP_IO_LENGTH)) /* the counting pass */
        rc = put_response(soap, &r);
    if (!rc)
        rc = soap_end_count(soap) || soap_response(soap, SOAP_OK) || put_response(soap, &r) ||
             soap_end_send(soap);
    return take_output(soap, res, rc, out);
}

eb_rc eb_bind_serve(struct eb_bind *b, const char *doc, eb_bind_handler h, void *user,
                    struct eb_buf *out, int *fault)
{
    struct soap *soap = b->soap;
    if (eb_bind_read(b, doc)) {
        *fault = 1; /* the fault the generated soap_serve sends for a request it cannot read */
        return send_fault(soap, out);
    }
    int ok = 0;
    const char *message = NULL;
    *fault = 0;
    h(user, b, &ok, &message);
    return eb_bind_answer(b, soap->version == 2 ? EB_SOAP_12 : EB_SOAP_11, ok, message, out);
}

eb_rc eb_bind_fault(struct eb_bind *b, enum eb_soap_version v, int sender, const char *reason,
                    struct eb_buf *out)
{
    struct soap *soap = b->soap;
    /* Start from a clean context: no fault detail of an earlier request may leak into this one. */
    soap_destroy(soap);
    soap_end(soap);
    soap->fault = NULL;
    soap_set_version(soap, v == EB_SOAP_12 ? 2 : 1);
    if (sender)
        soap_sender_fault(soap, reason, NULL);
    else
        soap_receiver_fault(soap, reason, NULL);
    return send_fault(soap, out);
}

void eb_bind_end(struct eb_bind *b)
{
    /* everything the request allocated; gSOAP's temporary tables (soap_end's soap_free_temp,
     * which clears its id and pointer hash tables, ~48 KB) are cleared by the next read's
     * soap_begin anyway, so not twice */
    b->req = NULL;
    soap_destroy(b->soap);
    soap_dealloc(b->soap, NULL);
}
