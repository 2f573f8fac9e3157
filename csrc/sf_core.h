/*
 * sf_core.h - types and functions shared by the files of the C core.
 * Nothing here is part of the Lua-facing API; see README.md for that.
 */
#ifndef SF_CORE_H
#define SF_CORE_H

#include <stddef.h>
#include <curl/curl.h>
#include "sf_compat.h"

#define SF_VERSION "0.1.0"

/* JSON nesting deeper than this is a decode error, never a C stack overflow. */
#define SF_JSON_MAX_DEPTH 64
/* More values than this (each object, array, string, number, boolean, null)
 * is a decode error: bounds the memory a body can make the decoder use.
 * A 20,000-record detail holds about 400,000. */
#define SF_JSON_MAX_VALUES 2000000
/* A response body larger than this is refused (protects hosts like editors). */
#define SF_MAX_BODY_BYTES (64u * 1024u * 1024u)

/* Registry keys: the addresses are the keys, the values are never read. */
extern const char sf_key_client_mt;
extern const char sf_key_request_mt;
extern const char sf_key_error_mt;
extern const char sf_key_array_mt;
extern const char sf_key_decode;
extern const char sf_key_encode;
extern const char sf_key_data_jobs_mt;
extern const char sf_key_kind_mts;
extern const char sf_key_client_field;
extern const char sf_key_files_mt;
extern const char sf_key_resources;
extern const char sf_built_for_marker[];

/* Schema positions the JSON normaliser knows, so it can attach helpers. */
typedef enum {
    SF_KIND_NONE = 0,
    SF_KIND_DATA_JOB,        /* DataJobDetailResponse: retrieve and every call that changes a job */
    SF_KIND_DATA_JOB_LIST,   /* { object = "list", data = { DataJobResponse... } } */
    SF_KIND_INGESTION_JOB,
    SF_KIND_FILE_RECORD,
    SF_KIND_JOB_FILE,        /* entries of detail.files */
    SF_KIND_TIMELINE_EVENT,
    SF_KIND_ALIGNMENT_JOB,
    SF_KIND_OUTPUT,          /* AlignmentOutput (and each element of an array of them) */
    SF_KIND_FILE,            /* FileResponse */
    SF_KIND_FILE_LIST,       /* { object = "list", data = { FileResponse... } } */
    /* DataJobResponse (create answers, list items): no nested arrays, so never read
     * as a detail (a detail without files[] has none attached); last, so the
     * numbers of the kinds before it stay as they were */
    SF_KIND_DATA_JOB_RESPONSE,
    SF_KIND_COUNT
} sf_kind;

extern const char *const sf_kind_names[SF_KIND_COUNT];

/* ---- growable byte buffer (sf_buf.c) ---- */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} sf_buf;

int sf_buf_append(sf_buf *b, const char *s, size_t n); /* 0 when out of memory */
int sf_buf_reserve(sf_buf *b, size_t total);            /* capacity of at least total */
void sf_buf_reset(sf_buf *b);
void sf_buf_free(sf_buf *b);
/* Percent-encodes s into b (RFC 3986 unreserved set kept). 0 when out of memory. */
int sf_escape(sf_buf *b, const char *s, size_t n);

/* ---- errors and redaction (sf_error.c) ---- */
/* Pushes a new error table {kind=…, message=…, where=…} with the shared
 * metatable; where is the first caller outside the library. */
void sf_push_error(lua_State *L, const char *kind, const char *message);
/* Raises an invalid_argument error; never returns. */
int sf_arg_error(lua_State *L, const char *fmt, ...);
/* The one redaction rule: every copy of secret (slen bytes, NULs allowed in
 * both) becomes "[redacted]". */
int sf_redact_into(sf_buf *out, const char *s, size_t n, const char *secret, size_t slen); /* 0: no memory */
int sf_contains_secret(const char *s, size_t n, const char *secret, size_t slen);
/* Pushes s redacted, then cut to at most limit bytes (0: no limit) on a
 * UTF-8 boundary. */
void sf_push_redacted(lua_State *L, const char *s, size_t n, size_t limit, const char *secret, size_t slen);
/* Redacts the string at idx in place. */
void sf_redact(lua_State *L, int idx, const char *secret, size_t slen);
/* Redacts a string, or every string key and value of a table, deeply. */
void sf_redact_value(lua_State *L, int idx, const char *secret, size_t slen);
void sf_open_errors(lua_State *L);

/* ---- JSON (sf_json.c) ---- */
/* Decodes text into a normalised table. Returns 1 and pushes the value, or
 * returns 0 and pushes an error message string. */
int sf_json_decode(lua_State *L, const char *text, size_t len, sf_kind kind);
/* Encodes the value at idx. Returns 1 and pushes a string, or 0 and a message. */
int sf_json_encode(lua_State *L, int idx);
void sf_json_setmeta(lua_State *L, int idx, sf_kind kind);
/* Calls f(ud[, the value at idx]) protected (idx 0: no value). Returns 1 with
 * f's result pushed, or 0 with a message string pushed: the error when it is
 * a string, fallback when not. */
int sf_pcall_message(lua_State *L, lua_CFunction f, void *ud, int idx, const char *fallback);
/* The kind named name (sf_kind_names), or an invalid_argument error. */
sf_kind sf_kind_from_name(lua_State *L, const char *name, const char *where);
void sf_open_json(lua_State *L);

/* ---- transport (sf_client.c, sf_request.c, sf_url.c, sf_outcome.c, sf_socket.c) ---- */
/* Refused, never cut: longer values are invalid_argument errors. */
#define SF_MAX_PATH_BYTES 2048
#define SF_MAX_QUERY_VALUE_BYTES 8192
#define SF_MAX_HEADER_VALUE 4096

typedef struct sf_request sf_request;
typedef struct sf_secret sf_secret;

typedef struct sf_client {
    CURLM *multi;
    sf_secret *api_key;  /* shared with requests, see sf_transport.h */
    char *base_url;      /* normalised by curl_url, no trailing slash */
    CURLU *base;         /* base_url parsed once */
    char *base_path;     /* its path, no trailing slash ("" or "/v1") */
    int base_versioned;  /* the path names an API version (/v1) */
    char *team_id;       /* NULL when unset */
    char *user_agent;
    char *ca_file;
    char *ca_path;
    struct curl_slist *headers;      /* built once: key, accept, team */
    struct curl_slist *headers_json; /* the same plus Content-Type: application/json */
    long connect_timeout_ms;
    long timeout_ms;
    long stall_timeout_s;
    int max_retries;
    double retry_initial_s;
    double retry_max_s;
    double retry_after_cap_s;
    int raise_errors;    /* 1: raise, 0: return nil, err */
    int closed;
    int interrupts;      /* blocking calls end on SIGINT (see sf_request.c) */
    unsigned long long rng;
    sf_request *active;  /* requests that belong to this client */
    /* Socket mode: a host event loop waits on curl's sockets and timer. The
     * libcurl callbacks only record changes here; Lua reads them later. */
    int socket_mode;
    struct sf_socket_change *changes;
    size_t changes_len, changes_cap;
    int changes_lost;    /* out of memory while recording: host must resync */
    long timer_ms;       /* last timeout libcurl asked for, -1 for none */
    int timer_changed;
} sf_client;

struct sf_socket_change {
    curl_socket_t fd;
    int what;            /* CURL_POLL_IN, _OUT, _INOUT or _REMOVE */
};

/* A per-call view of the options that may override the client's. */
typedef struct {
    long connect_timeout_ms;
    long timeout_ms;
    long stall_timeout_s;
    int max_retries;
    int async;           /* return the request object instead of performing it */
} sf_call_opts;

/* One part of a multipart/form-data body: a value, or a file streamed from
 * disk (file_path) under the name file_name. */
typedef struct {
    const char *name;
    const char *value;      /* NULL for a file part */
    size_t value_len;
    const char *file_path;  /* NULL for a value part */
    size_t file_path_len;
    const char *file_name;
    size_t file_name_len;
} sf_part;

typedef struct {
    const char *method;
    const char *path;      /* relative to base_url, already escaped */
    int query_idx;         /* table of query parameters, or 0 */
    int body_idx;          /* Lua value to send as JSON, or 0 */
    sf_kind kind;          /* how to shape a successful body */
    sf_call_opts opts;
    /* A multipart/form-data body instead of a JSON one. */
    const sf_part *parts;
    size_t nparts;
    /* A 2xx body goes to sink instead of memory (downloads): it returns n, or
     * 0 to abort the transfer; sink(ctx, NULL, 0) starts a new attempt. It
     * runs inside libcurl: C memory only, never Lua. Blocking calls only. */
    size_t (*sink)(void *ctx, const char *data, size_t n);
    void *sink_ctx;
    /* Checks a success on top of the stack (blocking or async alike): returns
     * 1, the value possibly replaced, or 0 with an error value instead. */
    int (*shape)(lua_State *L, const void *ctx);
    const void *shape_ctx;
} sf_call;

sf_client *sf_check_client(lua_State *L, int idx, const char *method_name);
void sf_call_opts_init(sf_client *c, sf_call_opts *o);
/* Reads {timeout=, connect_timeout=, stall_timeout=, max_retries=} at idx. */
void sf_call_opts_read(lua_State *L, int idx, sf_call_opts *o, const char *where);
/* Runs a call to completion. Returns 1 with the result pushed, or 0 with an
 * error pushed. client_idx is the client userdata's stack index. */
int sf_client_call(lua_State *L, int client_idx, const sf_call *call);
/* Returns the pushed result, or raises it / returns nil, err per the client. */
int sf_finish(lua_State *L, sf_client *c, int ok);
void sf_open_http(lua_State *L);

/* The resource registry: client.<field> is made by push(L, client_idx, ctx)
 * on first access and cached in the client's uservalue. Resources register
 * themselves; the transport names none. */
typedef void (*sf_resource_push_fn)(lua_State *L, int client_idx, const void *ctx);
void sf_register_resource(lua_State *L, const char *field, sf_resource_push_fn push, const void *ctx);

/* ---- platform (sf_platform.c) ---- */
void sf_open_platform(lua_State *L);

/* ---- files (sf_files.c) ---- */
void sf_open_files(lua_State *L);

/* ---- argument checks (sf_args.c) ---- */
#define NO_MAX 2147483647L /* "no upper bound" for whole-number fields */
#define SF_MAX_ID_LEN 256
#define SF_MAX_FILE_PATH 4096 /* upload and download paths */

typedef enum { F_STRING, F_STRING_LIST, F_INT } field_type;
enum { F_REQUIRED = 1, F_NULLABLE = 2 /* seekrflow.null is sent as JSON null */ };

typedef struct {
    const char *name;
    field_type type;
    int flags;                 /* F_REQUIRED, F_NULLABLE */
    long min;                  /* length for strings, item count for lists, value for ints */
    long max;
    const char *const *values; /* allowed strings, or NULL */
} field_spec;

/* Ends an array of field_spec. */
#define SF_FIELDS_END {NULL, F_STRING, 0, 0, 0, NULL}

/* The sort and page fields of every list endpoint; what sort_by takes and
 * the largest page are the resource's. */
extern const char *const sf_sort_orders[];
#define SF_LIST_FIELDS(sort_by_values, max_limit)      \
    {"sort_by", F_STRING, 0, 1, 64, sort_by_values},   \
    {"sort_order", F_STRING, 0, 1, 8, sf_sort_orders}, \
    {"limit", F_INT, 0, 1, max_limit, NULL},           \
    {"offset", F_INT, 0, 0, NO_MAX, NULL}

/* Checks the table at idx against specs (ended by a NULL name) and pushes a
 * clean copy; unknown keys are errors and lists become JSON arrays. */
void sf_build_table(lua_State *L, int idx, const field_spec *specs, const char *where, const char *what);
/* An id for a URL path segment; raises invalid_argument otherwise. */
const char *sf_check_id(lua_State *L, int idx, const char *what, const char *where);
/* A file system path: a string without NUL of at most max bytes. */
const char *sf_check_path(lua_State *L, int idx, const char *what, const char *where, size_t max, size_t *len);
/* 1 when the value at idx is seekrflow.null. */
int sf_is_null(lua_State *L, int idx);
/* Needs the core table (with core.null) on top. */
void sf_open_args(lua_State *L);

/* ---- the API surface as data (sf_endpoints.c) ---- */
typedef enum {
    SF_ARGS_NONE,      /* (id?) */
    SF_ARGS_OPTIONAL,  /* (id?, fields?) */
    SF_ARGS_REQUIRED,  /* (id?, fields) */
    SF_ARGS_FILE_IDS,  /* (id, { "file-…", … } or { file_ids = {…}, … }) */
    SF_ARGS_UPLOAD,    /* (path, fields?): a multipart upload of one file */
    SF_ARGS_DOWNLOAD   /* (id, path): the body streamed to a file at path */
} sf_args_shape;

typedef enum {
    SF_RESULT_OBJECT,  /* a JSON object, anything else is a decode error */
    SF_RESULT_LIST,    /* { object = "list", data = […] }; no data is an empty page */
    SF_RESULT_ARRAY,   /* a bare array, a list envelope or one object: an array */
    SF_RESULT_DELETED  /* true (no body) or whatever the server says */
} sf_result_shape;

enum { SF_EP_NONEMPTY = 1 /* the fields must not all be absent */, SF_EP_PAGED = 2 /* also an iter */ };

/* One endpoint: a new endpoint is one row. */
typedef struct {
    const char *where;       /* "data_jobs:retrieve": the resource and the method name */
    const char *method;      /* HTTP method; GET sends the fields as the query, others as the body */
    const char *path;        /* relative to base_url; "{id}" stands for the escaped id */
    const char *id_what;     /* "data job id" when the path takes one, else NULL */
    sf_args_shape args;
    const field_spec *fields;
    const char *fields_what; /* what the fields table is called in messages */
    sf_kind kind;            /* how to shape a successful body */
    sf_result_shape result;
    int flags;
    const char *echo;        /* a body field the service may drop silently, or NULL */
} sf_endpoint;

/* Ends an array of sf_endpoint. */
#define SF_ENDPOINTS_END {NULL, NULL, NULL, NULL, SF_ARGS_NONE, NULL, NULL, SF_KIND_NONE, SF_RESULT_OBJECT, 0, NULL}

typedef struct {
    const char *field;             /* client.<field> */
    const char *name;              /* the metatable's __name */
    const void *mt_key;
    const sf_endpoint *endpoints;  /* ends with a row whose where is NULL */
} sf_resource;

/* Pushes the resource's methods table, registers its metatable and makes
 * client.<field> a resource object (res must outlive the Lua state). */
void sf_open_resource(lua_State *L, const sf_resource *res);
/* Checks a colon call on the resource; pushes the client, returns its index. */
int sf_check_self(lua_State *L, const sf_resource *res, const char *where);
/* Pushes a row's path with "{id}" replaced by the escaped id (id may be NULL). */
void sf_push_path(lua_State *L, const char *tmpl, const char *id);
/* The row's result check (an sf_call.shape): 1, or 0 with a decode error. */
int sf_check_result(lua_State *L, const void *row);

/* ---- iter (sf_pager.c) and downloads (sf_download.c) ---- */
int sf_iter_method(lua_State *L);
int sf_download_call(lua_State *L, int client_idx, sf_client *c, sf_call *call, const sf_endpoint *e, int path_idx);
void sf_open_downloads(lua_State *L);

/* ---- the detail module (sf_detail.c) ---- */
/* Needs the core table on top: sets core.detail, installs the methods. */
void sf_open_detail(lua_State *L);

/* ---- data jobs (sf_data_jobs.c) ---- */
void sf_open_data_jobs(lua_State *L);

#endif /* SF_CORE_H */
