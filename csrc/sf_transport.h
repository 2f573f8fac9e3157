/*
 * sf_transport.h - what the transport files share among themselves and
 * nobody else reads: the request object, the kept secret and the steps
 * between building, running and shaping a request.
 *
 * Layering (no file includes an upper one's functions):
 *   sf_buf.c, sf_error.c          byte buffer, error values, redaction
 *   sf_url.c                      base URL rule, request URLs, header lists
 *   sf_request.c                  the request state machine and retries
 *   sf_outcome.c                  a finished request -> Lua value or error
 *   sf_socket.c                   socket mode (a host loop drives libcurl)
 *   sf_client.c                   the client object, calls, the resource registry
 */
#ifndef SF_TRANSPORT_H
#define SF_TRANSPORT_H

#include "sf_core.h"

/* The API key, shared by a client and every request it made: errors read
 * from a request after its client was closed are still redacted. The bytes
 * are wiped when the last holder lets go. */
struct sf_secret {
    unsigned refs;
    size_t len;
    char text[1]; /* len bytes and a NUL */
};

sf_secret *sf_secret_new(const char *text, size_t len);
sf_secret *sf_secret_hold(sf_secret *s);
void sf_secret_release(sf_secret *s);

/* Request states. */
enum { ST_NEW, ST_RUNNING, ST_WAITING, ST_DONE, ST_CANCELLED };

/* Longest request id kept (it only names the request to support staff). */
#define SF_REQUEST_ID_MAX 128
/* Longest Location kept for a 3xx error (after redaction). */
#define SF_LOCATION_MAX 512

struct sf_request {
    sf_client *client;          /* NULL once the client has been closed */
    sf_secret *secret;          /* a hold on the client's key, for redaction */
    CURL *easy;
    curl_mime *mime;
    char method[8];
    char *url;                  /* exactly what was asked for (no credentials) */
    char *body;
    size_t body_len;
    sf_kind kind;
    int state;
    int attempts;
    int max_retries;
    int in_multi;
    int transfer_done;
    int too_large;
    int interrupted;            /* SIGINT arrived while a blocking call waited */
    CURLcode curl_result;
    long status;
    double started_at;
    double wait_until;
    double retry_after_s;       /* from the last response, < 0 when absent */
    size_t header_bytes;        /* of the current response */
    sf_buf response;
    size_t (*sink)(void *ctx, const char *data, size_t n); /* see sf_call */
    void *sink_ctx;
    int (*shape)(lua_State *L, const void *ctx);           /* see sf_call */
    const void *shape_ctx;
    char request_id[SF_REQUEST_ID_MAX];
    char location[SF_LOCATION_MAX];
    char content_type[96];
    char errbuf[CURL_ERROR_SIZE];
    /* The outcome, kept in C until someone asks for it. */
    int failed;
    int retryable;
    int tls_failure;
    char err_kind[24];
    char err_message[1200];
    sf_request *next;
    sf_request *prev;
};

/* ---- sf_url.c ---- */
/* Parses and judges a base URL (len bytes followed by a NUL, as Lua
 * strings are) with libcurl's parser. Returns a CURLU with
 * no trailing slash in the path, or NULL with a message in why. */
CURLU *sf_url_parse_base(const char *url, size_t len, char *why, size_t why_cap);
/* Raises invalid_argument unless path is a relative request path. */
void sf_url_check_path(lua_State *L, const char *path, size_t len);
/* Builds base + "/" + path + "?" + query (the table at query_idx, or 0) and
 * pushes it as a Lua string. Raises on bad input; allocates nothing. */
void sf_url_push(lua_State *L, const sf_client *c, const char *path, int query_idx);
/* The normalised text of a parsed base URL, no trailing slash (malloc'd). */
char *sf_url_base_text(CURLU *u);
void sf_open_url(lua_State *L); /* core.check_base_url */
/* The header lists of a client, built once. Returns 0 when out of memory. */
int sf_headers_build(sf_client *c);
void sf_headers_free(sf_client *c);
/* Raises invalid_argument when a header value holds a NUL, a control
 * character or is longer than SF_MAX_HEADER_VALUE. */
void sf_check_header_value(lua_State *L, const char *what, const char *s, size_t len);

/* ---- sf_request.c ---- */
double sf_now(void);
sf_request *sf_check_request(lua_State *L, int idx, const char *name);
/* Pushes a new request userdata (not yet started). Raises on bad input. */
sf_request *sf_request_new(lua_State *L, int client_idx, sf_client *c, const sf_call *call);
/* One response header line (as libcurl hands it over), read into r. */
void sf_request_feed_header(sf_request *r, const char *line, size_t n);
/* Settles a finished attempt with this status and libcurl result, as a
 * transfer would (no retry is scheduled). For fuzzing the shaping. */
void sf_request_settle(sf_request *r, long status, CURLcode result);
void sf_request_configure(sf_request *r, const sf_client *c, const sf_call_opts *o);
void sf_request_fail(sf_request *r, const char *kind, int retryable, const char *fmt, ...);
void sf_request_detach(sf_request *r);
void sf_request_release(sf_request *r);
/* Collects finished transfers of every request of the client. */
void sf_drain_messages(sf_client *c);
/* Advances the request one step, with debug lines; -1 when finished, else
 * the milliseconds a host may wait. */
long sf_step_logged(lua_State *L, int req_idx, sf_request *r);
/* Runs the request at req_idx to its end, waiting on its sockets. */
void sf_perform_blocking(lua_State *L, int req_idx, sf_request *r);
/* Pushes the outcome: the value (returns 1) or raises / pushes nil, err. */
int sf_request_result(lua_State *L, int req_idx, sf_request *r);
void sf_open_requests(lua_State *L);

/* ---- sf_outcome.c ---- */
/* Pushes the decoded result (returns 1) or an error value (returns 0). */
int sf_push_outcome(lua_State *L, sf_request *r);

/* ---- sf_socket.c ---- */
void sf_socket_methods(lua_State *L); /* adds socket methods to the table on top */

/* ---- sf_client.c ---- */
/* Makes the metatable of an object kind with __gc, __close (5.4), __tostring
 * and __name; its __index is the value on top of the stack, which is popped.
 * Called once per Lua state (luaopen_seekrflow_core builds the core once). */
void sf_object_metatable(lua_State *L, const void *key, const char *name, lua_CFunction gc, lua_CFunction close_fn,
                         lua_CFunction tostring_fn);
void sf_client_release_all(sf_client *c);

#endif /* SF_TRANSPORT_H */
