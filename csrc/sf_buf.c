/*
 * sf_buf.c - the growable byte buffer every C file builds text in, and
 * percent-encoding into it.
 */
#include <stdlib.h>
#include <string.h>

#include "sf_core.h"

int sf_buf_reserve(sf_buf *b, size_t total) {
    if (total > b->cap) {
        char *grown = realloc(b->data, total);
        if (grown == NULL) return 0;
        b->data = grown;
        b->cap = total;
    }
    return 1;
}

int sf_buf_append(sf_buf *b, const char *s, size_t n) {
    if (n > ((size_t)-1) / 2 - b->len) return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        if (!sf_buf_reserve(b, cap)) return 0;
    }
    if (n > 0) memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

void sf_buf_reset(sf_buf *b) {
    b->len = 0;
    if (b->data != NULL) b->data[0] = '\0';
}

void sf_buf_free(sf_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* RFC 3986 unreserved characters pass; every other byte (NUL included) is
 * %XX, so nothing in a value can end or restructure a URL. */
int sf_escape(sf_buf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            if (!sf_buf_append(b, (const char *)&c, 1)) return 0;
        } else {
            char enc[3];
            enc[0] = '%';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            if (!sf_buf_append(b, enc, 3)) return 0;
        }
    }
    return 1;
}
