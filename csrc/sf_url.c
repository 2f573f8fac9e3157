/*
 * sf_url.c - where a request goes and what it carries: the base URL rule,
 * request URLs, and the header lists a client builds once.
 *
 * URLs are parsed and composed by libcurl's own URL API (curl_url), so the
 * host judged here is the host libcurl connects to: no hand-written parser
 * can disagree with it about userinfo, encodings or numeric hosts.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_transport.h"

#define MAX_BASE_URL_BYTES 2048

/* A literal loopback address: 127.0.0.0/8, ::1, or the name localhost,
 * which libcurl resolves itself without asking DNS or /etc/hosts. */
static int is_loopback_host(const char *host) {
    unsigned char addr[16];
    if (strcasecmp(host, "localhost") == 0) return 1;
    if (inet_pton(AF_INET, host, addr) == 1) return addr[0] == 127;
    if (host[0] == '[') {
        char inner[64];
        size_t n = strlen(host);
        static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        if (n < 3 || n - 2 >= sizeof inner || host[n - 1] != ']') return 0;
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        return inet_pton(AF_INET6, inner, addr) == 1 && memcmp(addr, one, 16) == 0;
    }
    return 0;
}

/* True when a path segment (up to '/' or the end) is "." or "..", in any
 * percent-encoding. */
static int is_dot_segment(const char *seg, size_t n) {
    size_t i = 0, dots = 0;
    while (i < n) {
        if (seg[i] == '.') {
            i++;
        } else if (n - i >= 3 && seg[i] == '%' && seg[i + 1] == '2' && (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
            i += 3;
        } else {
            return 0;
        }
        dots++;
    }
    return dots == 1 || dots == 2;
}

static int has_dot_segment(const char *path, size_t n) {
    size_t start = 0, i;
    for (i = 0; i <= n; i++) {
        if (i == n || path[i] == '/') {
            if (i > start && is_dot_segment(path + start, i - start)) return 1;
            start = i + 1;
        }
    }
    return 0;
}

static int get_part(CURLU *u, CURLUPart what, char **out) {
    *out = NULL;
    return curl_url_get(u, what, out, 0) == CURLUE_OK && *out != NULL;
}

CURLU *sf_url_parse_base(const char *url, size_t len, char *why, size_t why_cap) {
    CURLU *u;
    CURLUcode rc;
    char *part = NULL, *scheme = NULL, *host = NULL;
    size_t i;
    why[0] = '\0';
    if (len > MAX_BASE_URL_BYTES) {
        snprintf(why, why_cap, "is longer than %d bytes", MAX_BASE_URL_BYTES);
        return NULL;
    }
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)url[i];
        if (ch <= ' ' || ch == 0x7f) {
            snprintf(why, why_cap, "contains a space, NUL or control character (a pasted line break?)");
            return NULL;
        }
    }
    u = curl_url();
    if (u == NULL) {
        snprintf(why, why_cap, "could not be parsed (out of memory)");
        return NULL;
    }
    rc = curl_url_set(u, CURLUPART_URL, url, CURLU_PATH_AS_IS);
    if (rc != CURLUE_OK) {
        snprintf(why, why_cap, "is not a URL libcurl accepts (%s); expected something like https://host/v1",
                 curl_url_strerror(rc));
        goto bad;
    }
    if (!get_part(u, CURLUPART_SCHEME, &scheme) || (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        snprintf(why, why_cap, "must start with https:// (or http:// for a server on this machine)");
        goto bad;
    }
    if (get_part(u, CURLUPART_USER, &part) || get_part(u, CURLUPART_PASSWORD, &part) ||
        get_part(u, CURLUPART_OPTIONS, &part)) {
        snprintf(why, why_cap, "must not contain a user name or password (user@host); the API key goes in api_key");
        goto bad;
    }
    if (get_part(u, CURLUPART_QUERY, &part) || get_part(u, CURLUPART_FRAGMENT, &part)) {
        snprintf(why, why_cap, "must not contain a query (?…) or fragment (#…)");
        goto bad;
    }
    if (!get_part(u, CURLUPART_HOST, &host)) {
        snprintf(why, why_cap, "has no host");
        goto bad;
    }
    if (strcmp(scheme, "http") == 0 && (!is_loopback_host(host) || get_part(u, CURLUPART_ZONEID, &part))) {
        snprintf(why, why_cap,
                 "uses plain http:// to %s, which would send the API key unencrypted: use https://, or http:// only "
                 "to this machine (127.0.0.1, [::1] or localhost, written literally)",
                 host);
        goto bad;
    }
    if (get_part(u, CURLUPART_PATH, &part)) {
        size_t n = strlen(part);
        if (has_dot_segment(part, n) || strstr(part, "//") != NULL) {
            snprintf(why, why_cap, "must not contain '.', '..' or empty path segments");
            goto bad;
        }
        while (n > 0 && part[n - 1] == '/') part[--n] = '\0';
        if (curl_url_set(u, CURLUPART_PATH, n ? part : "/", CURLU_PATH_AS_IS) != CURLUE_OK) {
            snprintf(why, why_cap, "could not be parsed (out of memory)");
            goto bad;
        }
    }
    curl_free(part);
    curl_free(scheme);
    curl_free(host);
    return u;
bad:
    curl_free(part);
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return NULL;
}

/* The normalised text of a parsed base URL, no trailing slash (malloc'd). */
char *sf_url_base_text(CURLU *u) {
    char *url = NULL, *copy;
    size_t n;
    if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK || url == NULL) return NULL;
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/') n--;
    copy = malloc(n + 1);
    if (copy != NULL) {
        memcpy(copy, url, n);
        copy[n] = '\0';
    }
    curl_free(url);
    return copy;
}

/* core.check_base_url(url) -> normalised url | nil, err */
static int l_check_base_url(lua_State *L) {
    size_t len;
    const char *url;
    char why[300];
    CURLU *u;
    char *text;
    if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        sf_push_error(L, "invalid_argument", "base_url must be a string like \"https://host/v1\"");
        return 2;
    }
    url = lua_tolstring(L, 1, &len);
    u = sf_url_parse_base(url, len, why, sizeof why);
    if (u == NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "base_url %s", why);
        sf_push_error(L, "invalid_argument", lua_tostring(L, -1));
        lua_remove(L, -2);
        lua_pushliteral(L, "base_url");
        lua_setfield(L, -2, "option");
        return 2;
    }
    text = sf_url_base_text(u);
    curl_url_cleanup(u);
    if (text == NULL) return luaL_error(L, "seekrflow: out of memory");
    lua_pushstring(L, text);
    free(text);
    return 1;
}

void sf_url_check_path(lua_State *L, const char *path, size_t len) {
    size_t i;
    if (len > SF_MAX_PATH_BYTES)
        sf_arg_error(L, "request path is longer than %d bytes; it is refused rather than cut", SF_MAX_PATH_BYTES);
    if (strlen(path) != len) sf_arg_error(L, "request path contains a NUL byte");
    if (path[0] == '/' || path[0] == '\0' || strstr(path, "://") != NULL)
        sf_arg_error(L, "request path must be relative to the base URL, like \"flow/data-jobs\" (got \"%s\")", path);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)path[i];
        if (ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#' || ch == '\\')
            sf_arg_error(L, "request path contains a space, control character, '\\', '?' or '#'; pass query "
                            "parameters in opts.query");
    }
    if (has_dot_segment(path, len))
        sf_arg_error(L, "request path must not contain '.' or '..' segments (an id of \".\"?)");
}

static int cmp_strings(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define MAX_QUERY 64

/* Query parameters, checked (may raise) before anything is allocated. */
typedef struct {
    const char *keys[MAX_QUERY];
    size_t key_lens[MAX_QUERY];
    const char *values[MAX_QUERY];
    size_t lens[MAX_QUERY];
    char nums[MAX_QUERY][32];
    size_t count;
} sf_query;

static void read_query(lua_State *L, int query_idx, sf_query *q) {
    size_t i;
    q->count = 0;
    lua_pushnil(L);
    while (lua_next(L, query_idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) sf_arg_error(L, "query parameter names must be strings");
        if (q->count == MAX_QUERY) sf_arg_error(L, "too many query parameters (at most %d)", MAX_QUERY);
        q->keys[q->count] = lua_tolstring(L, -1, &q->key_lens[q->count]); /* anchored by the table */
        if (strlen(q->keys[q->count]) != q->key_lens[q->count] || q->key_lens[q->count] > 256)
            sf_arg_error(L, "a query parameter name contains a NUL byte or is longer than 256 bytes");
        q->count++;
    }
    qsort(q->keys, q->count, sizeof q->keys[0], cmp_strings);
    for (i = 0; i < q->count; i++) {
        lua_getfield(L, query_idx, q->keys[i]);
        switch (lua_type(L, -1)) {
        case LUA_TSTRING:
            q->values[i] = lua_tolstring(L, -1, &q->lens[i]); /* anchored by the table */
            if (memchr(q->values[i], '\0', q->lens[i]) != NULL)
                sf_arg_error(L, "query parameter '%s' contains a NUL byte", q->keys[i]);
            if (q->lens[i] > SF_MAX_QUERY_VALUE_BYTES)
                sf_arg_error(L, "query parameter '%s' is longer than %d bytes; it is refused rather than cut",
                             q->keys[i], SF_MAX_QUERY_VALUE_BYTES);
            break;
        case LUA_TNUMBER:
            if (sf_is_integral_number(L, -1))
                snprintf(q->nums[i], sizeof q->nums[i], "%lld", (long long)lua_tonumber(L, -1));
            else
                snprintf(q->nums[i], sizeof q->nums[i], "%.14g", (double)lua_tonumber(L, -1));
            q->values[i] = q->nums[i];
            q->lens[i] = strlen(q->nums[i]);
            break;
        case LUA_TBOOLEAN:
            q->values[i] = lua_toboolean(L, -1) ? "true" : "false";
            q->lens[i] = strlen(q->values[i]);
            break;
        default:
            sf_arg_error(L, "query parameter '%s' must be a string, number or boolean", q->keys[i]);
        }
        lua_pop(L, 1);
    }
}

void sf_url_push(lua_State *L, const sf_client *c, const char *path, int query_idx) {
    sf_query query;
    sf_buf b = {NULL, 0, 0};
    CURLU *u = NULL;
    char *url = NULL;
    size_t i;
    int ok;
    CURLUcode rc;
    sf_url_check_path(L, path, strlen(path));
    query.count = 0;
    if (query_idx) read_query(L, query_idx, &query);
    /* Nothing below raises until everything is freed. Setting the path and
     * query parts of a copy of the parsed base cannot change its host. */
    ok = sf_buf_append(&b, c->base_path, strlen(c->base_path)) && sf_buf_append(&b, "/", 1) &&
         sf_buf_append(&b, path, strlen(path)) && sf_buf_append(&b, "", 1); /* path NUL, then query */
    {
        size_t query_at = b.len;
        for (i = 0; ok && i < query.count; i++) {
            ok = (i == 0 || sf_buf_append(&b, "&", 1)) && sf_escape(&b, query.keys[i], strlen(query.keys[i])) &&
                 sf_buf_append(&b, "=", 1) && sf_escape(&b, query.values[i], query.lens[i]);
        }
        u = ok ? curl_url_dup(c->base) : NULL;
        /* PATH_AS_IS: the path goes out exactly as built, dot segments unfolded. */
        rc = u == NULL ? CURLUE_OUT_OF_MEMORY : curl_url_set(u, CURLUPART_PATH, b.data, CURLU_PATH_AS_IS);
        if (rc == CURLUE_OK && query.count > 0) rc = curl_url_set(u, CURLUPART_QUERY, b.data + query_at, 0);
    }
    if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_URL, &url, 0);
    sf_buf_free(&b);
    curl_url_cleanup(u);
    if (rc != CURLUE_OK || url == NULL) {
        curl_free(url);
        if (rc == CURLUE_OUT_OF_MEMORY || rc == CURLUE_OK) luaL_error(L, "seekrflow: out of memory while building a URL");
        sf_arg_error(L, "request path or query cannot form a URL (libcurl: %s)", curl_url_strerror(rc));
        return;
    }
    lua_pushstring(L, url);
    curl_free(url);
}

void sf_check_header_value(lua_State *L, const char *what, const char *s, size_t len) {
    size_t i;
    if (len > SF_MAX_HEADER_VALUE)
        sf_arg_error(L, "%s is longer than %d bytes; it is refused rather than cut", what, SF_MAX_HEADER_VALUE);
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0) sf_arg_error(L, "%s contains a NUL byte", what);
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            sf_arg_error(L, "%s contains a control character (a pasted line break?)", what);
    }
}

/* Appends "Name: value" to list; NULL (list freed) when out of memory. */
static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value) {
    struct curl_slist *grown;
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (line == NULL) {
        curl_slist_free_all(list);
        return NULL;
    }
    snprintf(line, n, "%s: %s", name, value);
    grown = curl_slist_append(list, line);
    memset(line, 0, n); /* it may hold the key */
    free(line);
    if (grown == NULL) curl_slist_free_all(list);
    return grown;
}

static struct curl_slist *base_headers(const sf_client *c) {
    struct curl_slist *h = add_header(NULL, "Authorization", c->api_key->text);
    if (h != NULL) h = add_header(h, "Accept", "application/json");
    if (h != NULL) {
        struct curl_slist *grown = curl_slist_append(h, "Expect:");
        if (grown == NULL) curl_slist_free_all(h);
        h = grown;
    }
    if (h != NULL && c->team_id != NULL) h = add_header(h, "x-team-id", c->team_id);
    return h;
}

static void wipe_list(struct curl_slist *list) {
    struct curl_slist *p;
    for (p = list; p != NULL; p = p->next) memset(p->data, 0, strlen(p->data));
    curl_slist_free_all(list);
}

int sf_headers_build(sf_client *c) {
    c->headers = base_headers(c);
    c->headers_json = base_headers(c);
    if (c->headers_json != NULL) {
        struct curl_slist *h = add_header(c->headers_json, "Content-Type", "application/json");
        c->headers_json = h;
    }
    return c->headers != NULL && c->headers_json != NULL;
}

void sf_headers_free(sf_client *c) {
    wipe_list(c->headers);
    wipe_list(c->headers_json);
    c->headers = c->headers_json = NULL;
}

void sf_open_url(lua_State *L) {
    lua_pushcfunction(L, l_check_base_url);
    lua_setfield(L, -2, "check_base_url");
}
