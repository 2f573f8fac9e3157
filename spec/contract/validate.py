#!/usr/bin/env python3
"""Check a simulator request log against the published models.

Usage: python3 validate.py LOG.json

LOG.json is {"mode": "default"|"spec-minimal", "client_agent": "<User-Agent prefix>",
"entries": [<entries of /_sim/requests>]}. Every response (except injected faults) is
validated against the schema of its route and status; every request whose User-Agent starts
with client_agent (the client under test) is validated against its request model. Prints one
line per violation and a closing count; exits 1 when anything does not conform.

Needs python3-jsonschema (Debian). The schemas are seekrflow-api.schema.json beside this file.
"""
import email.parser
import email.policy
import json
import os
import re
import sys
import urllib.parse

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DETAIL = "DataJobDetailResponse"
NO_BODY = object()  # a response that must have no body (204)
RAW = object()      # a response that is not JSON (file content)

# route -> (request kind, request model, {success status: response model})
# request kinds: None (no body, no query), "json", "query", "multipart"
ROUTES = {
    "POST /v1/flow/data-jobs": ("json", "DataJobCreateRequest", {201: "DataJobResponse"}),
    "GET /v1/flow/data-jobs": ("query", "DataJobListQuery", {200: "DataJobListResponse"}),
    "GET /v1/flow/data-jobs/{id}": (None, None, {200: DETAIL}),
    "PATCH /v1/flow/data-jobs/{id}": ("json", "DataJobUpdateRequest", {200: DETAIL}),
    "DELETE /v1/flow/data-jobs/{id}": (None, None, {204: NO_BODY}),
    "POST /v1/flow/data-jobs/{id}/add-files": ("json", "DataJobAddFileRequest", {200: DETAIL}),
    "POST /v1/flow/data-jobs/{id}/remove-files":
        ("json", "DataJobRemoveFilesRequest", {200: DETAIL}),
    "POST /v1/flow/data-jobs/{id}/start": (None, None, {200: DETAIL}),
    "POST /v1/flow/data-jobs/{id}/cancel": (None, None, {200: DETAIL}),
    "POST /v1/flow/data-jobs/{id}/clone": ("json", "DataJobCloneRequest", {201: DETAIL}),
    "POST /v1/flow/data-jobs/gen_system_prompt":
        ("json", "GenerateSystemPromptRequest", {200: "GenerateSystemPromptResponse"}),
    "GET /v1/flow/data-jobs/{id}/outputs": (None, None, {200: "AlignmentOutputList"}),
    "GET /v1/flow/alignment/{id}/outputs": (None, None, {200: "AlignmentOutputList"}),
    "PUT /v1/flow/files": ("multipart", "FileUploadForm", {200: "FileResponse"}),
    "GET /v1/flow/files": ("query", "FileListQuery", {200: "FileList"}),
    "GET /v1/flow/files/{id}": (None, None, {200: "FileResponse"}),
    "GET /v1/flow/files/{id}/content": (None, None, {200: RAW}),
    "DELETE /v1/flow/files/{id}": (None, None, {200: "FileDeleteResponse"}),
}

# Error statuses the simulator may send and the body each must have. 422 carries pydantic's
# list; in spec-minimal mode it also answers "not found" with 422 and a detail string.
ERRORS = {400: ["DetailMessage"], 401: ["DetailMessage"], 403: ["DetailMessage"],
          404: ["DetailMessage"], 405: ["DetailMessage"], 409: ["DetailMessage"],
          422: ["HTTPValidationError"]}
MINIMAL_ERRORS = dict(ERRORS)
MINIMAL_ERRORS[422] = ["HTTPValidationError", "DetailMessage"]


def load_schemas():
    with open(os.path.join(HERE, "seekrflow-api.schema.json"), encoding="utf-8") as f:
        doc = json.load(f)
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


VALIDATORS = {}


def validator(doc, model):
    if model not in VALIDATORS:
        schema = {"$schema": doc["$schema"], "$defs": doc["$defs"], "$ref": "#/$defs/" + model}
        VALIDATORS[model] = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker())
    return VALIDATORS[model]


def problems(doc, model, value):
    out = []
    for err in sorted(validator(doc, model).iter_errors(value), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in err.path) or "(top)"
        out.append("%s at %s: %s" % (model, where, err.message[:300]))
    return out


def check_response(doc, mode, entry):
    route, status = entry.get("route"), entry.get("status")
    spec = ROUTES.get(route)
    success = spec[2] if spec else {}
    errors = MINIMAL_ERRORS if mode == "spec-minimal" else ERRORS
    if status in success:
        models = [success[status]]
    elif status in errors:
        models = errors[status]
    else:
        return ["unexpected status %s for %s" % (status, route)]
    body = entry.get("response")
    if models[0] is NO_BODY:
        return [] if body in (None, "") else ["a %s response must have no body" % status]
    if models[0] is RAW:
        return []
    if not (entry.get("response_type") or "").startswith("application/json"):
        return ["response is %s, not JSON" % entry.get("response_type")]
    try:
        value = json.loads(body)
    except (TypeError, ValueError) as e:
        return ["response is not JSON: %s" % e]
    found = []
    for model in models:
        p = problems(doc, model, value)
        if not p:
            return []
        found.extend(p)
    return found


def query_object(doc, model, query):
    """The query string as an object, integers where the model wants integers."""
    pairs = urllib.parse.parse_qsl(query or "", keep_blank_values=True, strict_parsing=False)
    props = doc["$defs"][model].get("properties", {})
    out, errs = {}, []
    for k, v in pairs:
        if k in out:
            errs.append("query parameter %s is sent twice" % k)
        if props.get(k, {}).get("type") == "integer" and re.fullmatch(r"-?[0-9]+", v):
            out[k] = int(v)
        else:
            out[k] = v
    return out, errs


def multipart_object(entry):
    ctype = entry.get("headers", {}).get("content-type", "")
    raw = ("Content-Type: %s\r\n\r\n" % ctype).encode() + entry.get("body", "").encode("utf-8",
                                                                                       "surrogateescape")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    if not msg.is_multipart():
        return None, ["upload is not multipart/form-data (%s)" % ctype]
    form = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        if filename is not None:
            form.setdefault(name, []).append(filename)
        else:
            form[name] = part.get_content().strip("\r\n") if part.get_content_maintype() == "text" \
                else part.get_payload(decode=True).decode("utf-8", "replace")
    return form, []


def check_request(doc, entry):
    route = entry.get("route")
    spec = ROUTES.get(route)
    if not spec:
        return ["the client called %s %s, which is not an API route" % (entry.get("method"),
                                                                       entry.get("path"))]
    kind, model = spec[0], spec[1]
    body, query = entry.get("body") or "", entry.get("query") or ""
    if kind is None:
        out = []
        if body:
            out.append("%s takes no body, the client sent %r" % (route, body[:80]))
        if query:
            out.append("%s takes no query, the client sent %r" % (route, query[:80]))
        return out
    if kind == "query":
        value, errs = query_object(doc, model, query)
        if body:
            errs.append("%s takes no body" % route)
        return errs + problems(doc, model, value)
    if query:
        return ["%s takes no query, the client sent %r" % (route, query[:80])]
    if kind == "multipart":
        value, errs = multipart_object(entry)
        return errs or problems(doc, model, value)
    ctype = entry.get("headers", {}).get("content-type", "")
    if not ctype.startswith("application/json"):
        return ["%s needs a JSON body, the client sent content-type %r" % (route, ctype)]
    try:
        value = json.loads(body)
    except ValueError as e:
        return ["request body is not JSON: %s" % e]
    return problems(doc, model, value)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        log = json.load(f)
    doc = load_schemas()
    mode, agent = log.get("mode", "default"), log.get("client_agent")
    bad = responses = requests = 0
    for entry in log["entries"]:
        label = "%s %s -> %s" % (entry.get("method"), entry.get("path"), entry.get("status"))
        if not entry.get("fault"):
            responses += 1
            for p in check_response(doc, mode, entry):
                bad += 1
                print("response %s: %s" % (label, p))
        ua = entry.get("headers", {}).get("user-agent", "")
        if agent and ua.startswith(agent):
            requests += 1
            for p in check_request(doc, entry):
                bad += 1
                print("request %s: %s" % (label, p))
    print("%d responses and %d client requests checked (%s mode), %d problems" %
          (responses, requests, mode, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
