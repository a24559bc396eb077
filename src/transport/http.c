/* Helpers over struct eb_http_request for the service: header lookup, query parameters,
 * reason phrases. */
#include "transport/http.h"

#include <string.h>
#include <strings.h>

#include "transport/frame.h"

const char *eb_http_header(const struct eb_http_request *req, const char *name)
{
    if (!req || !name)
        return NULL;
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

int eb_http_query_param(const char *query, const char *name, char *out, size_t outsz)
{
    if (outsz)
        out[0] = '\0';
    if (!query || !name)
        return 0;
    size_t want = strlen(name);
    const char *p = query;
    while (*p) {
        size_t plen = strcspn(p, "&");
        size_t klen = strcspn(p, "=&");
        /* names are compared decoded: "%73ign" is "sign" */
        char key[256];
        if (klen < sizeof key) {
            size_t n = eb_frame_percent_decode(key, sizeof key, p, klen, 1, NULL);
            if (n == want && memcmp(key, name, want) == 0) {
                if (out && outsz) {
                    const char *v = klen < plen ? p + klen + 1 : p + plen;
                    eb_frame_percent_decode(out, outsz, v, (size_t)(p + plen - v), 1, NULL);
                }
                return 1;
            }
        }
        p += plen;
        if (*p == '&')
            p++;
    }
    return 0;
}

const char *eb_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    }
    return "Unknown";
}
