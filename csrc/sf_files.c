/*
 * sf_files.c - client.files: upload (multipart, streamed from disk),
 * retrieve, list, delete and download (streamed to disk), as rows run by
 * sf_endpoints.c. add-files takes
 * the ids these return.
 */
#include "sf_core.h"

static const char *const purposes[] = {"alignment", "fine-tune", "reinforcement-fine-tune",
                                       "preference-fine-tune", "pre-train", NULL};
/* The list filter also takes the ingestion purposes and "" (the API's pattern). */
static const char *const list_purposes[] = {"alignment", "fine-tune", "reinforcement-fine-tune",
                                            "preference-fine-tune", "pre-train", "ingestion",
                                            "vector-ingestion", "", NULL};
static const char *const file_sorts[] = {"created_at", "filename", "type", "bytes", NULL};

static const field_spec upload_fields[] = {
    {"purpose", F_STRING, 0, 1, 64, purposes},
    {"filename", F_STRING, 0, 1, 255, NULL},
    SF_FIELDS_END};

static const field_spec list_fields[] = {
    {"purpose", F_STRING, 0, 0, 64, list_purposes},
    SF_LIST_FIELDS(file_sorts, 1000),
    SF_FIELDS_END};

static const sf_endpoint endpoints[] = {
    /* where, method, path, id, args, fields, fields_what, kind, result, flags, echo */
    {"files:upload", "PUT", "flow/files", NULL, SF_ARGS_UPLOAD, upload_fields, "options", SF_KIND_FILE,
     SF_RESULT_OBJECT, 0, NULL},
    {"files:retrieve", "GET", "flow/files/{id}", "file id", SF_ARGS_NONE, NULL, NULL, SF_KIND_FILE, SF_RESULT_OBJECT,
     0, NULL},
    {"files:delete", "DELETE", "flow/files/{id}", "file id", SF_ARGS_NONE, NULL, NULL, SF_KIND_NONE,
     SF_RESULT_DELETED, 0, NULL},
    {"files:list", "GET", "flow/files", NULL, SF_ARGS_OPTIONAL, list_fields, "params", SF_KIND_FILE_LIST,
     SF_RESULT_LIST, SF_EP_PAGED, NULL},
    {"files:download", "GET", "flow/files/{id}/content", "file id", SF_ARGS_DOWNLOAD, NULL, NULL, SF_KIND_NONE,
     SF_RESULT_DELETED, 0, NULL},
    SF_ENDPOINTS_END};

static const sf_resource files = {"files", "seekrflow.files", &sf_key_files_mt, endpoints};

void sf_open_files(lua_State *L) {
    sf_open_resource(L, &files);
    lua_pop(L, 1);
}
