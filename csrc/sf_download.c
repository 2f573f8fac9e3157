/*
 * sf_download.c - a download (an endpoint row of shape SF_ARGS_DOWNLOAD):
 * the body is streamed through the transport's sink to a temporary file
 * next to the destination, synced, then renamed over it. The destination is
 * the whole file or what was there before; a guard's __gc removes the
 * temporary file on every error path.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fileno, fsync, ftruncate */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sf_core.h"

/* A download larger than this is refused (the API's files are up to 4 GB). */
#define MAX_DOWNLOAD_BYTES (8ULL << 30)

static const char key_download_mt = 0;

typedef struct {
    FILE *f;
    char *tmp;                /* the temporary file, NULL once renamed or removed */
    unsigned long long bytes;
    int too_large;
    int write_errno;          /* errno of a failed write, 0 when none */
} sf_download;

/* The transport's body sink: runs inside libcurl, C memory only. */
static size_t download_sink(void *ctx, const char *data, size_t n) {
    sf_download *d = ctx;
    if (data == NULL) { /* a new attempt: start the file again */
        d->bytes = 0;
        d->too_large = 0;
        d->write_errno = 0;
        rewind(d->f);
        if (ftruncate(fileno(d->f), 0) != 0) d->write_errno = errno;
        return 0;
    }
    if (d->write_errno != 0) return 0;
    if (d->bytes + n > MAX_DOWNLOAD_BYTES) {
        d->too_large = 1;
        return 0;
    }
    if (fwrite(data, 1, n, d->f) != n) {
        d->write_errno = errno ? errno : EIO;
        return 0;
    }
    d->bytes += n;
    return n;
}

/* Closes the file and removes the temporary one unless it was renamed. */
static void download_discard(sf_download *d) {
    if (d->f != NULL) fclose(d->f);
    d->f = NULL;
    if (d->tmp != NULL) {
        remove(d->tmp);
        free(d->tmp);
        d->tmp = NULL;
    }
}

static int download_gc(lua_State *L) {
    sf_download *d = lua_touserdata(L, 1);
    if (d != NULL) download_discard(d);
    return 0;
}

/* Pushes a guard whose __gc removes the temporary file on any error path,
 * and opens a new temporary file next to dest (so the rename is atomic). */
static sf_download *download_open(lua_State *L, const sf_endpoint *e, const char *dest, size_t len) {
    static const char suffix[] = ".seekrflow-XXXXXX";
    struct stat st;
    int fd;
    sf_download *d;
    if (stat(dest, &st) == 0 && S_ISDIR(st.st_mode))
        sf_arg_error(L, "%s: \"%s\" is a directory; give the path of the file to write", e->where, dest);
    d = sf_newuserdata(L, sizeof *d);
    memset(d, 0, sizeof *d);
    sf_rawgetp(L, LUA_REGISTRYINDEX, &key_download_mt);
    lua_setmetatable(L, -2);
    d->tmp = malloc(len + sizeof suffix);
    if (d->tmp == NULL) luaL_error(L, "seekrflow: out of memory");
    memcpy(d->tmp, dest, len);
    memcpy(d->tmp + len, suffix, sizeof suffix);
    fd = mkstemp(d->tmp);
    if (fd < 0) {
        int err = errno;
        free(d->tmp);
        d->tmp = NULL;
        sf_arg_error(L, "%s: cannot create a file next to \"%s\": %s", e->where, dest, strerror(err));
    }
    d->f = fdopen(fd, "wb");
    if (d->f == NULL) {
        close(fd);
        luaL_error(L, "seekrflow: out of memory");
    }
    return d;
}

/* After a successful transfer: flush, sync, rename over dest. Pushes the
 * result { path = dest, bytes = n }, or an io error; returns 1 or 0. */
static int download_commit(lua_State *L, sf_download *d, const char *dest) {
    int err = 0;
    if (fflush(d->f) != 0 || fsync(fileno(d->f)) != 0) err = errno;
    if (fclose(d->f) != 0 && err == 0) err = errno;
    d->f = NULL;
    if (err == 0 && rename(d->tmp, dest) != 0) err = errno;
    if (err != 0) {
        download_discard(d);
        sf_push_error(L, "io", "");
        lua_pushfstring(L, "could not write \"%s\": %s (nothing was left behind)", dest, strerror(err));
        lua_setfield(L, -2, "message");
        return 0;
    }
    free(d->tmp);
    d->tmp = NULL;
    lua_createtable(L, 0, 2);
    lua_pushstring(L, dest);
    lua_setfield(L, -2, "path");
    lua_pushnumber(L, (lua_Number)d->bytes);
    lua_setfield(L, -2, "bytes");
    return 1;
}

/* The error of a failed download, when it failed on this side. */
static void download_failed(lua_State *L, sf_download *d, const char *dest) {
    if (d->write_errno != 0) {
        lua_pop(L, 1);
        sf_push_error(L, "io", "");
        lua_pushfstring(L, "could not write \"%s\": %s (nothing was left behind)", dest, strerror(d->write_errno));
        lua_setfield(L, -2, "message");
    } else if (d->too_large) {
        lua_pop(L, 1);
        sf_push_error(L, "too_large", "");
        lua_pushfstring(L, "the download is larger than %d GiB: refused (nothing was left behind)",
                        (int)(MAX_DOWNLOAD_BYTES >> 30));
        lua_setfield(L, -2, "message");
    }
    download_discard(d);
}

/* Runs the call with its body going to the file at path_idx; returns what
 * sf_finish returns ({ path, bytes }, or the error per the client's mode). */
int sf_download_call(lua_State *L, int client_idx, sf_client *c, sf_call *call, const sf_endpoint *e, int path_idx) {
    size_t len;
    const char *dest = sf_check_path(L, path_idx, "path to save to", e->where, SF_MAX_FILE_PATH, &len);
    sf_download *d;
    if (call->opts.async)
        sf_arg_error(L, "%s streams to disk and cannot be async; call it from a blocking client", e->where);
    d = download_open(L, e, dest, len);
    call->sink = download_sink;
    call->sink_ctx = d;
    if (!sf_client_call(L, client_idx, call)) {
        download_failed(L, d, dest);
        return sf_finish(L, c, 0);
    }
    lua_pop(L, 1); /* true: the body went to the file */
    return sf_finish(L, c, download_commit(L, d, dest));
}

/* Registers the guard's metatable. */
void sf_open_downloads(lua_State *L) {
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, download_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "seekrflow.download");
    lua_setfield(L, -2, "__name");
    sf_rawsetp(L, LUA_REGISTRYINDEX, &key_download_mt);
}
