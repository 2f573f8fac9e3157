/*
 * sf_data_jobs.c - the seekrflow.data_jobs resource (client.data_jobs): its
 * endpoints as rows (run by sf_endpoints.c) and the module registration.
 * The helpers on decoded details live in sf_detail.c.
 *
 * The checks follow the API's request models: enums and ranges are checked,
 * nothing stricter (an empty vector_database_id or instructions string is the
 * server's to judge). Fields the models make nullable accept seekrflow.null,
 * sent as JSON null, to clear them.
 */
#include "sf_core.h"

static const char *const job_types[] = {"principle_files", "context_grounded_files",
                                        "context_grounded_vector_db", NULL};
static const char *const sort_fields[] = {"name", "created_at", "job_type", NULL};

#define MAX_TEXT 1000000L
#define MAX_FILE_IDS 1000
static const field_spec list_fields[] = {
    {"job_type", F_STRING, 0, 1, 64, job_types},
    SF_LIST_FIELDS(sort_fields, 100),
    SF_FIELDS_END};

/* The fields create and update share, checked by one rule. */
#define JOB_TEXT_FIELDS                                                   \
    {"system_prompt", F_STRING, F_NULLABLE, 1, MAX_TEXT, NULL},           \
    {"instructions", F_STRING, F_NULLABLE, 1, MAX_TEXT, NULL},            \
    {"vector_database_id", F_STRING, F_NULLABLE, 0, SF_MAX_ID_LEN, NULL}, \
    {"description", F_STRING, 0, 0, 100000, NULL}

static const field_spec create_fields[] = {
    {"name", F_STRING, F_REQUIRED, 1, 255, NULL},
    {"job_type", F_STRING, F_REQUIRED, 1, 64, job_types},
    JOB_TEXT_FIELDS,
    SF_FIELDS_END};

static const field_spec update_fields[] = {
    {"name", F_STRING, F_NULLABLE, 1, 255, NULL},
    JOB_TEXT_FIELDS,
    SF_FIELDS_END};

static const field_spec add_files_fields[] = {
    {"file_ids", F_STRING_LIST, F_REQUIRED, 1, MAX_FILE_IDS, NULL},
    {"method", F_STRING, F_NULLABLE, 1, 64, NULL},
    SF_FIELDS_END};

static const field_spec remove_files_fields[] = {
    {"file_ids", F_STRING_LIST, F_REQUIRED, 1, MAX_FILE_IDS, NULL},
    SF_FIELDS_END};

static const field_spec clone_fields[] = {
    {"name", F_STRING, F_NULLABLE, 1, 255, NULL},
    SF_FIELDS_END};

static const field_spec prompt_fields[] = {
    {"instructions", F_STRING, F_REQUIRED, 0, MAX_TEXT, NULL},
    {"document_summary", F_STRING, F_NULLABLE, 0, MAX_TEXT, NULL},
    SF_FIELDS_END};

#define JOB "data job id"
#define J(path) "flow/data-jobs" path

static const sf_endpoint endpoints[] = {
    /* where, method, path, id, args, fields, fields_what, kind, result, flags, echo */
    {"data_jobs:list", "GET", J(""), NULL, SF_ARGS_OPTIONAL, list_fields, "params", SF_KIND_DATA_JOB_LIST,
     SF_RESULT_LIST, SF_EP_PAGED, NULL},
    {"data_jobs:retrieve", "GET", J("/{id}"), JOB, SF_ARGS_NONE, NULL, NULL, SF_KIND_DATA_JOB, SF_RESULT_OBJECT, 0,
     NULL},
    {"data_jobs:create", "POST", J(""), NULL, SF_ARGS_REQUIRED, create_fields, "job", SF_KIND_DATA_JOB_RESPONSE,
     SF_RESULT_OBJECT, 0, "description"},
    {"data_jobs:update", "PATCH", J("/{id}"), JOB, SF_ARGS_REQUIRED, update_fields, "changes", SF_KIND_DATA_JOB,
     SF_RESULT_OBJECT, SF_EP_NONEMPTY, "description"},
    {"data_jobs:delete", "DELETE", J("/{id}"), JOB, SF_ARGS_NONE, NULL, NULL, SF_KIND_NONE, SF_RESULT_DELETED, 0,
     NULL},
    {"data_jobs:add_files", "POST", J("/{id}/add-files"), JOB, SF_ARGS_FILE_IDS, add_files_fields, "files",
     SF_KIND_DATA_JOB, SF_RESULT_OBJECT, 0, NULL},
    {"data_jobs:remove_files", "POST", J("/{id}/remove-files"), JOB, SF_ARGS_FILE_IDS, remove_files_fields, "files",
     SF_KIND_DATA_JOB, SF_RESULT_OBJECT, 0, NULL},
    {"data_jobs:start", "POST", J("/{id}/start"), JOB, SF_ARGS_NONE, NULL, NULL, SF_KIND_DATA_JOB, SF_RESULT_OBJECT,
     0, NULL},
    {"data_jobs:cancel", "POST", J("/{id}/cancel"), JOB, SF_ARGS_NONE, NULL, NULL, SF_KIND_DATA_JOB,
     SF_RESULT_OBJECT, 0, NULL},
    {"data_jobs:clone", "POST", J("/{id}/clone"), JOB, SF_ARGS_OPTIONAL, clone_fields, "options", SF_KIND_DATA_JOB,
     SF_RESULT_OBJECT, 0, NULL},
    {"data_jobs:generate_system_prompt", "POST", J("/gen_system_prompt"), NULL, SF_ARGS_REQUIRED, prompt_fields,
     "request", SF_KIND_NONE, SF_RESULT_OBJECT, 0, NULL},
    {"data_jobs:outputs", "GET", J("/{id}/outputs"), JOB, SF_ARGS_NONE, NULL, NULL, SF_KIND_OUTPUT, SF_RESULT_ARRAY,
     0, NULL},
    SF_ENDPOINTS_END};

static const sf_resource data_jobs = {"data_jobs", "seekrflow.data_jobs", &sf_key_data_jobs_mt, endpoints};

/* Needs the core table on top; sets core.data_jobs to the methods table
 * (luaopen_seekrflow_core publishes it as seekrflow.data_jobs). */
void sf_open_data_jobs(lua_State *L) {
    sf_open_resource(L, &data_jobs);
    /* The most file ids one add_files/remove_files takes: callers with more
     * (remediate.retry over a large job) send them in batches of this size. */
    lua_pushinteger(L, MAX_FILE_IDS);
    lua_setfield(L, -2, "max_file_ids");
    lua_setfield(L, -2, "data_jobs");
}
