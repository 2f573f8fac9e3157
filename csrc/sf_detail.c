/*
 * sf_detail.c - the detail module (require "seekrflow.detail"): plain
 * functions over a data job detail, also installed as the methods of
 * decoded details, ingestion jobs, records and files.
 *
 * Every rule about reading a detail lives here and only here: which records
 * count, which record is a file's current one, which records are a file's
 * (its history), which file is Markdown. The
 * functions read the data with raw access, so a server field named like a
 * helper ("records", "each_file") can never break them, and they accept any
 * table of the right shape (decoded, hand-built, or from another decoder).
 * Anything of the wrong shape inside the detail is skipped, never an error:
 * a partial or odd detail still gives every well-formed part.
 *
 * One file (~790 lines) because it is one object: the index over a detail's
 * records (built once per call, so 20,000 files stay linear) serves
 * each_file, current_record, records_of and records_by_file alike, and its
 * static helpers change together with the rule they encode.
 */
#include <string.h>

#include "sf_core.h"

/* ---- small raw readers ---- */

/* Pushes t[name] without metamethods; t at idx must be a table. */
static int raw_field(lua_State *L, int idx, const char *name) {
    idx = sf_absindex(L, idx);
    lua_pushstring(L, name);
    lua_rawget(L, idx);
    return lua_type(L, -1);
}

/* 1 when the string at idx is exactly value (a NUL inside never matches). */
static int string_is(lua_State *L, int idx, const char *value) {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    return n == strlen(value) && memcmp(s, value, n) == 0;
}

/* 1 when t[name] is the string value. */
static int raw_field_is(lua_State *L, int idx, const char *name, const char *value) {
    int is = raw_field(L, idx, name) == LUA_TSTRING && string_is(L, -1, value);
    lua_pop(L, 1);
    return is;
}

static int raw_truthy(lua_State *L, int idx, const char *name) {
    int v;
    raw_field(L, idx, name);
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static void check_table(lua_State *L, int idx, const char *fn, const char *what) {
    if (lua_type(L, idx) != LUA_TTABLE)
        sf_arg_error(L, "detail.%s: expected %s (a table), got %s; as a method: detail:%s(…)", fn, what,
                     luaL_typename(L, idx), fn);
}

/* ---- records / failed_records ---- */

enum { RM_ALL = 0, RM_FAILED = 1 };
enum { RU_DETAIL = 1, RU_JOB, RU_RECORD, RU_MODE, RU_DELETED };

/* Yields ingestion_job, record for every record of every ingestion job. */
static int records_next(lua_State *L) {
    lua_Integer ji = lua_tointeger(L, lua_upvalueindex(RU_JOB));
    lua_Integer ri = lua_tointeger(L, lua_upvalueindex(RU_RECORD));
    int mode = (int)lua_tointeger(L, lua_upvalueindex(RU_MODE));
    int include_deleted = lua_toboolean(L, lua_upvalueindex(RU_DELETED));
    lua_settop(L, 0);
    if (raw_field(L, lua_upvalueindex(RU_DETAIL), "ingestion_jobs") != LUA_TTABLE) return 0; /* 1 */
    for (;;) {
        lua_settop(L, 1);
        lua_rawgeti(L, 1, (int)ji); /* 2: ingestion job */
        if (lua_isnil(L, 2)) return 0;
        if (lua_type(L, 2) == LUA_TTABLE && raw_field(L, 2, "records") == LUA_TTABLE) { /* 3 */
            lua_rawgeti(L, 3, (int)ri); /* 4: record */
            if (!lua_isnil(L, 4)) {
                int keep = lua_type(L, 4) == LUA_TTABLE;
                ri++;
                if (keep && !include_deleted) keep = !raw_truthy(L, 4, "deleted");
                if (keep && mode == RM_FAILED) keep = raw_field_is(L, 4, "status", "failed");
                if (keep) {
                    lua_pushinteger(L, ji);
                    lua_replace(L, lua_upvalueindex(RU_JOB));
                    lua_pushinteger(L, ri);
                    lua_replace(L, lua_upvalueindex(RU_RECORD));
                    lua_pushvalue(L, 2);
                    lua_pushvalue(L, 4);
                    return 2;
                }
                continue;
            }
        }
        ji++;
        ri = 1;
    }
}

/* The options argument at idx of fn ({ include_deleted = bool } or nil):
 * checked, and its include_deleted. */
static int read_include_deleted(lua_State *L, int idx, const char *fn) {
    if (lua_isnoneornil(L, idx)) return 0;
    if (lua_type(L, idx) != LUA_TTABLE)
        sf_arg_error(L, "detail.%s: options must be a table like { include_deleted = true }", fn);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING || !string_is(L, -1, "include_deleted"))
            sf_arg_error(L, "detail.%s: unknown option '%s' (known: include_deleted)", fn,
                         lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
    }
    return raw_truthy(L, idx, "include_deleted");
}

static int push_records_iter(lua_State *L, int mode, const char *fn) {
    int include_deleted;
    check_table(L, 1, fn, "a data job detail");
    include_deleted = read_include_deleted(L, 2, fn);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 1);
    lua_pushinteger(L, 1);
    lua_pushinteger(L, mode);
    lua_pushboolean(L, include_deleted);
    lua_pushcclosure(L, records_next, 5);
    return 1;
}

static int l_records(lua_State *L) { return push_records_iter(L, RM_ALL, "records"); }
static int l_failed_records(lua_State *L) { return push_records_iter(L, RM_FAILED, "failed_records"); }

/* ---- arrays of tables: timeline events, an ingestion job's records ---- */

/* Upvalues: the table, the field name, the next index. Skips non-tables. */
static int array_field_next(lua_State *L) {
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(3));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_rawget(L, lua_upvalueindex(1));
    if (lua_type(L, -1) != LUA_TTABLE) return 0;
    for (;; i++) {
        lua_rawgeti(L, -1, (int)i);
        if (lua_isnil(L, -1)) return 0;
        if (lua_type(L, -1) == LUA_TTABLE) break;
        lua_pop(L, 1);
    }
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(3));
    return 1;
}

static int push_array_iter(lua_State *L, const char *fn, const char *what, const char *field) {
    check_table(L, 1, fn, what);
    lua_pushvalue(L, 1);
    lua_pushstring(L, field);
    lua_pushinteger(L, 1);
    lua_pushcclosure(L, array_field_next, 3);
    return 1;
}

static int l_each_event(lua_State *L) { return push_array_iter(L, "each_event", "a data job detail", "timeline"); }
static int l_each_record(lua_State *L) {
    return push_array_iter(L, "each_record", "an ingestion job", "records");
}

/* ---- Markdown ---- */

static int ends_with_ci(const char *s, size_t n, const char *suffix) {
    size_t m = strlen(suffix), i;
    if (n < m) return 0;
    for (i = 0; i < m; i++) {
        char c = s[n - m + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suffix[i]) return 0;
    }
    return 1;
}

/* A file is Markdown when its type says so; without a type, when its name
 * ends in .md or .markdown. Markdown skips ingestion: no record, ready at once. */
static int file_is_markdown(lua_State *L, int file_idx) {
    size_t n;
    const char *s;
    int md = 0;
    if (raw_field(L, file_idx, "type") == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
        md = (n == 2 && ends_with_ci(s, n, "md")) || (n == 8 && ends_with_ci(s, n, "markdown"));
        lua_pop(L, 1);
        return md;
    }
    lua_pop(L, 1);
    if (raw_field(L, file_idx, "name") != LUA_TSTRING) {
        lua_pop(L, 1);
        raw_field(L, file_idx, "filename");
    }
    if (lua_type(L, -1) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &n);
        md = ends_with_ci(s, n, ".md") || ends_with_ci(s, n, ".markdown");
    }
    lua_pop(L, 1);
    return md;
}

static int l_is_markdown(lua_State *L) {
    check_table(L, 1, "is_markdown", "a files[] entry of a detail");
    lua_pushboolean(L, file_is_markdown(L, 1));
    return 1;
}

/* ---- the current record of a file ---- */

/* The index over a detail's records, a table at a fixed stack slot:
 *   [IX_RID]   record_id -> record (not deleted; a later record wins)
 *   [IX_JOB]   record -> its ingestion job
 *   [IX_FID]   alignment_file_id -> record      (built on first need)
 *   [IX_NAME]  filename -> record               (built on first need)
 *   [IX_SETS]  ingestion job -> set of its file_ids (built on first need)
 * Records of a removed file are marked deleted and never current. */
enum { IX_RID = 1, IX_JOB, IX_FID, IX_NAME, IX_SETS, IX_DETAIL, IX_COUNT = IX_DETAIL };

/* The fields a record is matched to a file by, and the index slots that
 * hold them (IX_RID, IX_FID, IX_NAME and HX_RID, HX_FID, HX_NAME alike). */
static const char *const match_keys[] = {"record_id", "alignment_file_id", "filename"};

typedef void (*record_visitor)(lua_State *L, int rec, int job, void *ud);

/* Calls visit for every record (a table) of every ingestion job (a table) of
 * the detail at detail_idx, in the detail's order; deleted records only when
 * include_deleted. */
static void walk_records(lua_State *L, int detail_idx, int include_deleted, record_visitor visit, void *ud) {
    size_t j, nj;
    if (raw_field(L, detail_idx, "ingestion_jobs") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    nj = sf_rawlen(L, -1);
    for (j = 1; j <= nj; j++) {
        int ij = lua_gettop(L) + 1;
        size_t k, nr;
        lua_rawgeti(L, -1, (int)j);
        if (lua_type(L, ij) != LUA_TTABLE || raw_field(L, ij, "records") != LUA_TTABLE) {
            lua_settop(L, ij - 1);
            continue;
        }
        nr = sf_rawlen(L, ij + 1);
        for (k = 1; k <= nr; k++) {
            int rec = lua_gettop(L) + 1;
            lua_rawgeti(L, ij + 1, (int)k);
            if (lua_type(L, rec) == LUA_TTABLE && (include_deleted || !raw_truthy(L, rec, "deleted")))
                visit(L, rec, ij, ud);
            lua_settop(L, rec - 1);
        }
        lua_settop(L, ij - 1);
    }
    lua_pop(L, 1);
}

struct index_walk {
    int ix;       /* the index */
    int fallback; /* 0: record_id and the job; 1: alignment_file_id and filename */
};

/* A live record into the index: the later record of a key wins. */
static void index_record(lua_State *L, int rec, int job, void *ud) {
    const struct index_walk *w = ud;
    static const int slots[] = {IX_RID, IX_FID, IX_NAME};
    int s;
    for (s = w->fallback ? 1 : 0; s < (w->fallback ? 3 : 1); s++) {
        if (raw_field(L, rec, match_keys[s]) == LUA_TSTRING) {
            lua_rawgeti(L, w->ix, slots[s]);
            lua_pushvalue(L, -2);
            lua_pushvalue(L, rec);
            lua_rawset(L, -3);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    if (!w->fallback) {
        lua_rawgeti(L, w->ix, IX_JOB);
        lua_pushvalue(L, rec);
        lua_pushvalue(L, job);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
}

static void each_live_record(lua_State *L, int detail_idx, int ix, int fallback) {
    struct index_walk w;
    w.ix = ix;
    w.fallback = fallback;
    walk_records(L, detail_idx, 0, index_record, &w);
}

/* Pushes a new index over the detail at detail_idx. */
static void push_index(lua_State *L, int detail_idx) {
    int ix, s;
    detail_idx = sf_absindex(L, detail_idx);
    lua_createtable(L, IX_COUNT, 0);
    ix = lua_gettop(L);
    lua_createtable(L, 0, 8);
    lua_rawseti(L, ix, IX_RID);
    lua_createtable(L, 0, 8);
    lua_rawseti(L, ix, IX_JOB);
    for (s = IX_FID; s <= IX_SETS; s++) {
        lua_pushboolean(L, 0); /* not built yet */
        lua_rawseti(L, ix, s);
    }
    lua_pushvalue(L, detail_idx);
    lua_rawseti(L, ix, IX_DETAIL);
    each_live_record(L, detail_idx, ix, 0);
}

static void ensure_fallback(lua_State *L, int ix) {
    int s;
    lua_rawgeti(L, ix, IX_FID);
    s = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (s) return;
    for (s = IX_FID; s <= IX_SETS; s++) {
        lua_newtable(L);
        lua_rawseti(L, ix, s);
    }
    lua_rawgeti(L, ix, IX_DETAIL);
    each_live_record(L, lua_gettop(L), ix, 1);
    lua_pop(L, 1);
}

/* 1 when the ingestion job at ij lists file_id in file_ids, or lists none
 * (file_ids is optional in the API). sets (a table at sets_idx) keeps each
 * job's set of file_ids, built on first need. */
static int job_may_hold(lua_State *L, int sets_idx, int ij, int file_id_idx) {
    int holds;
    sets_idx = sf_absindex(L, sets_idx);
    if (raw_field(L, ij, "file_ids") != LUA_TTABLE) {
        lua_pop(L, 1);
        return 1;
    }
    lua_pushvalue(L, sets_idx);
    lua_pushvalue(L, ij);
    lua_rawget(L, -2); /* the job's set, if built */
    if (lua_isnil(L, -1)) {
        size_t i, n = sf_rawlen(L, -3);
        lua_pop(L, 1);
        lua_createtable(L, 0, (int)n);
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, -3, (int)i);
            if (lua_type(L, -1) == LUA_TSTRING) {
                lua_pushboolean(L, 1);
                lua_rawset(L, -3);
            } else {
                lua_pop(L, 1);
            }
        }
        lua_pushvalue(L, ij);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_pushvalue(L, file_id_idx);
    lua_rawget(L, -2);
    holds = lua_toboolean(L, -1);
    lua_pop(L, 4);
    return holds;
}

/* Pushes the current record of the file at file_idx and its ingestion job
 * (nil, nil when none). The rule:
 *  - record_id given: the live record with that id;
 *  - no record_id, Markdown (by type or name): none, Markdown skips ingestion;
 *  - no record_id otherwise: the latest live record produced for this file id
 *    (alignment_file_id), else the latest with the file's name in an
 *    ingestion job that lists the file (or lists no files). */
static void push_current(lua_State *L, int ix, int file_idx) {
    file_idx = sf_absindex(L, file_idx);
    if (raw_field(L, file_idx, "record_id") == LUA_TSTRING) {
        lua_rawgeti(L, ix, IX_RID);
        lua_insert(L, -2);
        lua_rawget(L, -2); /* record or nil */
        lua_remove(L, -2);
    } else {
        lua_pop(L, 1);
        lua_pushnil(L);
        if (!file_is_markdown(L, file_idx)) {
            int file_id = lua_gettop(L) + 1;
            ensure_fallback(L, ix);
            raw_field(L, file_idx, "file_id");
            if (lua_type(L, file_id) == LUA_TSTRING) {
                lua_rawgeti(L, ix, IX_FID);
                lua_pushvalue(L, file_id);
                lua_rawget(L, -2);
                if (lua_type(L, -1) == LUA_TTABLE) lua_replace(L, file_id - 1);
                else lua_pop(L, 1);
                lua_pop(L, 1);
            }
            if (lua_isnil(L, file_id - 1)) {
                if (raw_field(L, file_idx, "name") != LUA_TSTRING) {
                    lua_pop(L, 1);
                    raw_field(L, file_idx, "filename");
                }
                if (lua_type(L, -1) == LUA_TSTRING) {
                    lua_rawgeti(L, ix, IX_NAME);
                    lua_insert(L, -2);
                    lua_rawget(L, -2);
                    if (lua_type(L, -1) == LUA_TTABLE) {
                        int rec = lua_gettop(L), ok = 1;
                        if (lua_type(L, file_id) == LUA_TSTRING) {
                            lua_rawgeti(L, ix, IX_JOB);
                            lua_pushvalue(L, rec);
                            lua_rawget(L, -2);
                            lua_rawgeti(L, ix, IX_SETS);
                            ok = lua_type(L, -2) != LUA_TTABLE || job_may_hold(L, -1, lua_gettop(L) - 1, file_id);
                            lua_pop(L, 3);
                        }
                        if (ok) {
                            lua_pushvalue(L, rec);
                            lua_replace(L, file_id - 1);
                        }
                    }
                    lua_pop(L, 2);
                } else {
                    lua_pop(L, 1);
                }
            }
            lua_settop(L, file_id - 1);
        }
    }
    /* the record's ingestion job */
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_rawgeti(L, ix, IX_JOB);
        lua_pushvalue(L, -2);
        lua_rawget(L, -2);
        lua_remove(L, -2);
    } else {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_pushnil(L);
    }
}

/* (detail, file) arguments of fn: checks them and pushes the index at 3. */
static void detail_and_file(lua_State *L, const char *fn) {
    check_table(L, 1, fn, "a data job detail");
    check_table(L, 2, fn, "a files[] entry of the detail");
    lua_settop(L, 2);
    push_index(L, 1);
}

static int l_current_record(lua_State *L) {
    detail_and_file(L, "current_record");
    push_current(L, 3, 2);
    return 2;
}

/* The file's status: its current record's (when files[] names the record),
 * else files[].status when present, else the record matched by id or name,
 * else "completed" for Markdown (alignment-ready at once), else nil.
 * Pushes status, record, ingestion job. */
static void push_file_status(lua_State *L, int ix, int file_idx) {
    int rec, linked;
    file_idx = sf_absindex(L, file_idx);
    linked = raw_field(L, file_idx, "record_id") == LUA_TSTRING;
    lua_pop(L, 1);
    push_current(L, ix, file_idx);
    rec = lua_gettop(L) - 1;
    if (linked && lua_type(L, rec) == LUA_TTABLE && raw_field(L, rec, "status") == LUA_TSTRING) goto done;
    lua_settop(L, rec + 1);
    if (raw_field(L, file_idx, "status") == LUA_TSTRING) goto done;
    lua_settop(L, rec + 1);
    if (lua_type(L, rec) == LUA_TTABLE && raw_field(L, rec, "status") == LUA_TSTRING) goto done;
    lua_settop(L, rec + 1);
    if (lua_type(L, rec) != LUA_TTABLE && file_is_markdown(L, file_idx)) lua_pushliteral(L, "completed");
    else lua_pushnil(L);
done:
    lua_insert(L, rec);
}

static int l_file_status(lua_State *L) {
    detail_and_file(L, "file_status");
    push_file_status(L, 3, 2);
    return 3;
}

/* ---- the records of a file ---- */

/* The history index over a detail's records, a table:
 *   [HX_SEQ]   1..2n: ingestion job, record, pair by pair in the detail's order;
 *              a record's ordinal is the number of its pair
 *   [HX_RID]   record_id -> ordinal, or an ascending list of ordinals
 *   [HX_FID]   alignment_file_id -> the same
 *   [HX_NAME]  filename -> the same
 *   [HX_SETS]  ingestion job -> set of its file_ids (job_may_hold)
 * A key held by one record maps to its ordinal, not a list: most keys are. */
enum { HX_SEQ = 1, HX_RID, HX_FID, HX_NAME, HX_SETS, HX_COUNT = HX_SETS };

/* Adds ordinal ord to map[key]; map at map_idx, key at key_idx (absolute). */
static void list_add(lua_State *L, int map_idx, int key_idx, lua_Integer ord) {
    lua_pushvalue(L, key_idx);
    lua_rawget(L, map_idx);
    if (lua_type(L, -1) == LUA_TTABLE) {
        lua_pushinteger(L, ord);
        lua_rawseti(L, -2, (int)sf_rawlen(L, -2) + 1);
    } else {
        lua_pushvalue(L, key_idx);
        if (lua_isnil(L, -2)) {
            lua_pushinteger(L, ord);
        } else { /* one ordinal so far: becomes a list */
            lua_createtable(L, 4, 0);
            lua_pushvalue(L, -3);
            lua_rawseti(L, -2, 1);
            lua_pushinteger(L, ord);
            lua_rawseti(L, -2, 2);
        }
        lua_rawset(L, map_idx);
    }
    lua_pop(L, 1);
}

static lua_Integer list_len(lua_State *L, int idx) {
    int t = lua_type(L, idx);
    return t == LUA_TNUMBER ? 1 : t == LUA_TTABLE ? (lua_Integer)sf_rawlen(L, idx) : 0;
}

static lua_Integer list_at(lua_State *L, int idx, lua_Integer i) {
    lua_Integer ord;
    if (lua_type(L, idx) == LUA_TNUMBER) return lua_tointeger(L, idx);
    lua_rawgeti(L, idx, (int)i);
    ord = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return ord;
}

struct history_walk {
    int hx;            /* the history index */
    lua_Integer count; /* records so far */
};

static void history_record(lua_State *L, int rec, int job, void *ud) {
    struct history_walk *w = ud;
    lua_Integer ord = ++w->count;
    int s;
    lua_rawgeti(L, w->hx, HX_SEQ);
    lua_pushvalue(L, job);
    lua_rawseti(L, -2, (int)(2 * ord - 1));
    lua_pushvalue(L, rec);
    lua_rawseti(L, -2, (int)(2 * ord));
    lua_pop(L, 1);
    for (s = 0; s < 3; s++) {
        if (raw_field(L, rec, match_keys[s]) == LUA_TSTRING) {
            lua_rawgeti(L, w->hx, HX_RID + s);
            list_add(L, lua_gettop(L), lua_gettop(L) - 1, ord);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
}

/* Pushes the history index over the detail at detail_idx. */
static void push_history(lua_State *L, int detail_idx, int include_deleted) {
    struct history_walk w;
    int s;
    detail_idx = sf_absindex(L, detail_idx);
    lua_createtable(L, HX_COUNT, 0);
    w.hx = lua_gettop(L);
    w.count = 0;
    for (s = HX_SEQ; s <= HX_SETS; s++) {
        lua_newtable(L);
        lua_rawseti(L, w.hx, s);
    }
    walk_records(L, detail_idx, include_deleted, history_record, &w);
}

/* Upvalues of the iterator over one file's records: the history index, the
 * file's id (a string or nil), its three lists (by record_id, by
 * alignment_file_id, by name), the last ordinal yielded, the position in
 * each list. */
enum { FR_HX = 1, FR_FILE_ID, FR_LISTS, FR_LAST = FR_LISTS + 3, FR_POS, FR_COUNT = FR_POS + 2 };

/* 1 when the record of ordinal ord, matched by name, may be the file's: its
 * ingestion job lists the file, or lists none, or the file has no id. */
static int name_match_holds(lua_State *L, lua_Integer ord) {
    int holds;
    if (lua_type(L, lua_upvalueindex(FR_FILE_ID)) != LUA_TSTRING) return 1;
    lua_rawgeti(L, lua_upvalueindex(FR_HX), HX_SEQ);
    lua_rawgeti(L, -1, (int)(2 * ord - 1)); /* the job */
    lua_rawgeti(L, lua_upvalueindex(FR_HX), HX_SETS);
    holds = job_may_hold(L, -1, lua_gettop(L) - 1, lua_upvalueindex(FR_FILE_ID));
    lua_pop(L, 3);
    return holds;
}

/* Yields ingestion_job, record: the least ordinal after the last one yielded
 * among the three lists, so each record once, in the detail's order. */
static int file_records_next(lua_State *L) {
    lua_Integer last = lua_tointeger(L, lua_upvalueindex(FR_LAST)), best = 0;
    int s, found = 0;
    for (s = 0; s < 3; s++) {
        int list = lua_upvalueindex(FR_LISTS + s);
        lua_Integer pos = lua_tointeger(L, lua_upvalueindex(FR_POS + s)), n = list_len(L, list);
        for (; pos <= n; pos++) {
            lua_Integer ord = list_at(L, list, pos);
            if (ord > last && (s != 2 || name_match_holds(L, ord))) break;
        }
        lua_pushinteger(L, pos);
        lua_replace(L, lua_upvalueindex(FR_POS + s));
        if (pos <= n) {
            lua_Integer ord = list_at(L, list, pos);
            if (!found || ord < best) best = ord;
            found = 1;
        }
    }
    if (!found) return 0;
    lua_pushinteger(L, best);
    lua_replace(L, lua_upvalueindex(FR_LAST));
    lua_rawgeti(L, lua_upvalueindex(FR_HX), HX_SEQ);
    lua_rawgeti(L, -1, (int)(2 * best - 1));
    lua_rawgeti(L, -2, (int)(2 * best));
    return 2;
}

/* Pushes hx[slot][key], the key being file[field], else file[alt] (alt may
 * be NULL); nil when neither is a string. */
static void push_list(lua_State *L, int hx_idx, int slot, int file_idx, const char *field, const char *alt) {
    if (raw_field(L, file_idx, field) != LUA_TSTRING && alt != NULL) {
        lua_pop(L, 1);
        raw_field(L, file_idx, alt);
    }
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    lua_rawgeti(L, hx_idx, slot);
    lua_insert(L, -2);
    lua_rawget(L, -2);
    lua_remove(L, -2);
}

/* Pushes the iterator over the records of the file at file_idx, from the
 * history index at hx_idx. A record is the file's when it is the record
 * files[] names (record_id), was produced for the file's id
 * (alignment_file_id), or has the file's name in an ingestion job that lists
 * the file or lists none: the keys push_current matches by. A Markdown file
 * without record_id has none, as it has no current record. */
static void push_file_records(lua_State *L, int hx_idx, int file_idx) {
    int s, by_key;
    hx_idx = sf_absindex(L, hx_idx);
    file_idx = sf_absindex(L, file_idx);
    lua_pushvalue(L, hx_idx); /* FR_HX */
    if (raw_field(L, file_idx, "file_id") != LUA_TSTRING) { /* FR_FILE_ID */
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    by_key = raw_field(L, file_idx, "record_id") == LUA_TSTRING || !file_is_markdown(L, file_idx);
    lua_pop(L, 1);
    push_list(L, hx_idx, HX_RID, file_idx, "record_id", NULL); /* FR_LISTS */
    if (by_key) {
        push_list(L, hx_idx, HX_FID, file_idx, "file_id", NULL);
        push_list(L, hx_idx, HX_NAME, file_idx, "name", "filename");
    } else {
        lua_pushnil(L);
        lua_pushnil(L);
    }
    lua_pushinteger(L, 0); /* FR_LAST */
    for (s = 0; s < 3; s++) lua_pushinteger(L, 1); /* FR_POS */
    lua_pushcclosure(L, file_records_next, FR_COUNT);
}

/* records_of(d, file [, opts]) yields ingestion_job, record for every
 * record of the file, in the detail's order (older runs first). */
static int l_records_of(lua_State *L) {
    int include_deleted;
    check_table(L, 1, "records_of", "a data job detail");
    check_table(L, 2, "records_of", "a files[] entry of the detail");
    include_deleted = read_include_deleted(L, 3, "records_of");
    lua_settop(L, 2);
    push_history(L, 1, include_deleted);
    push_file_records(L, 3, 2);
    return 1;
}

/* The function records_by_file returns: file -> records_of's iterator. */
static int l_history_lookup(lua_State *L) {
    if (lua_type(L, 1) != LUA_TTABLE)
        sf_arg_error(L, "detail.records_by_file: its function expects a files[] entry (a table), got %s",
                     luaL_typename(L, 1));
    push_file_records(L, lua_upvalueindex(1), 1);
    return 1;
}

/* records_by_file(d [, opts]) indexes the records once and returns
 * records_of for that detail as a function of the file: a loop over many
 * files stays linear where records_of per file would index every record
 * each time. */
static int l_records_by_file(lua_State *L) {
    int include_deleted;
    check_table(L, 1, "records_by_file", "a data job detail");
    include_deleted = read_include_deleted(L, 2, "records_by_file");
    lua_settop(L, 1);
    push_history(L, 1, include_deleted);
    lua_pushcclosure(L, l_history_lookup, 1);
    return 1;
}

/* ---- each_file ---- */

enum { FU_DETAIL = 1, FU_INDEX, FU_NEXT };

static int files_next(lua_State *L) {
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(FU_NEXT));
    lua_settop(L, 0);
    if (raw_field(L, lua_upvalueindex(FU_DETAIL), "files") != LUA_TTABLE) return 0; /* 1 */
    for (;; i++) {
        lua_rawgeti(L, 1, (int)i); /* 2 */
        if (lua_isnil(L, 2)) return 0;
        if (lua_type(L, 2) == LUA_TTABLE) break;
        lua_pop(L, 1); /* a null or odd entry */
    }
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(FU_NEXT));
    lua_pushvalue(L, lua_upvalueindex(FU_INDEX)); /* 3 */
    push_file_status(L, 3, 2);                    /* 4 status, 5 record, 6 job */
    lua_pushvalue(L, 4);                          /* 7: the status, last */
    lua_remove(L, 4);
    lua_remove(L, 3);
    lua_remove(L, 1);
    return 4;
}

/* each_file(d) yields file, current record or nil, ingestion job or nil and
 * the file's status (file_status's answer), in the order of files[]; the
 * index over the records is built once, so a loop over 20,000 files stays
 * linear where file_status per file would index every record each time. */
static int l_each_file(lua_State *L) {
    check_table(L, 1, "each_file", "a data job detail");
    lua_settop(L, 1);
    push_index(L, 1);
    lua_pushinteger(L, 1);
    lua_pushcclosure(L, files_next, 3);
    return 1;
}

/* ---- record predicates ---- */

static int status_in(lua_State *L, const char *fn, const char *a, const char *b) {
    int yes = 0;
    check_table(L, 1, fn, "a record");
    if (raw_field(L, 1, "status") == LUA_TSTRING) yes = string_is(L, -1, a) || (b != NULL && string_is(L, -1, b));
    lua_pushboolean(L, yes);
    return 1;
}

static int l_record_is_failed(lua_State *L) { return status_in(L, "is_failed", "failed", NULL); }
static int l_record_is_finished(lua_State *L) { return status_in(L, "is_finished", "completed", "failed"); }

/* ---- registration ---- */

static void set_methods(lua_State *L, sf_kind kind, const luaL_Reg *regs) {
    sf_rawgetp(L, LUA_REGISTRYINDEX, &sf_key_kind_mts);
    lua_rawgeti(L, -1, (int)kind);
    lua_getfield(L, -1, "__index");
    sf_setfuncs(L, regs);
    lua_pop(L, 3);
}

/* Needs the core table on top: sets core.detail and the methods on the kinds. */
void sf_open_detail(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"records", l_records},           {"failed_records", l_failed_records},
        {"each_file", l_each_file},       {"current_record", l_current_record},
        {"file_status", l_file_status},   {"is_markdown", l_is_markdown},
        {"each_event", l_each_event},     {"each_record", l_each_record},
        {"is_failed", l_record_is_failed}, {"is_finished", l_record_is_finished},
        {"records_of", l_records_of},     {"records_by_file", l_records_by_file},
        {NULL, NULL}};
    static const luaL_Reg job_methods[] = {
        {"records", l_records},         {"failed_records", l_failed_records}, {"each_file", l_each_file},
        {"current_record", l_current_record}, {"file_status", l_file_status}, {"each_event", l_each_event},
        {"records_of", l_records_of}, {"records_by_file", l_records_by_file},
        {NULL, NULL}};
    static const luaL_Reg ingestion_methods[] = {{"each_record", l_each_record}, {NULL, NULL}};
    static const luaL_Reg record_methods[] = {
        {"is_failed", l_record_is_failed}, {"is_finished", l_record_is_finished}, {NULL, NULL}};
    static const luaL_Reg file_methods[] = {{"is_markdown", l_is_markdown}, {NULL, NULL}};

    lua_createtable(L, 0, 12);
    sf_setfuncs(L, functions);
    lua_setfield(L, -2, "detail");
    set_methods(L, SF_KIND_DATA_JOB, job_methods);
    /* a create answer or list item has no files or records: the methods find none */
    set_methods(L, SF_KIND_DATA_JOB_RESPONSE, job_methods);
    set_methods(L, SF_KIND_INGESTION_JOB, ingestion_methods);
    set_methods(L, SF_KIND_FILE_RECORD, record_methods);
    set_methods(L, SF_KIND_JOB_FILE, file_methods);
}
