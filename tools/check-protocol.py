#!/usr/bin/env python3
"""Validates Protocol/openapi.yaml and checks every exchange in Protocol/vectors against it.

Exits non-zero on the first kind of failure it finds, naming the vector, step and problem.
Needs openapi-spec-validator and jsonschema (tools/test installs them when missing).
"""
import glob
import json
import re
import os
import sys

import jsonschema
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol_ids import created_id  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec, _ = read_from_filename(os.path.join(ROOT, "Protocol", "openapi.yaml"))
validate(spec)
print("openapi.yaml: valid OpenAPI", spec["openapi"])


def validator(schema):
    return jsonschema.Draft202012Validator({**schema, "components": spec["components"]})


def template(path):
    """The spec's path for a request's: itself, or one with {parameters} where the request has segments."""
    path = path.split("?")[0]
    if path in spec["paths"]:
        return path
    segments = path.split("/")
    for candidate in spec["paths"]:
        parts = candidate.split("/")
        if len(parts) == len(segments) and all(p == s or (p.startswith("{") and p.endswith("}")) for p, s in zip(parts, segments)):
            return candidate
    return path


def operation(method, path):
    return spec["paths"].get(template(path), {}).get(method.lower())


failures = 0
checked = 0
# Top level: exchanges with this server, replayed by its tests. client/: what a device of this version must
# survive from a later server of the same major version (its tests replay those).
vector_files = glob.glob(os.path.join(ROOT, "Protocol", "vectors", "*.json"))
vector_files += glob.glob(os.path.join(ROOT, "Protocol", "vectors", "client", "*.json"))
for file in sorted(vector_files):
    # Devices' client ids stand as placeholders ({{clientId:anna}}): the one the server gave the device
    # when the vector was recorded, or one of the name. Ids a device created: {{createdId:anna:<uuid>}}.
    original = open(file).read()
    client_ids = {d["name"]: d.get("clientId", "client-" + d["name"]) for d in json.loads(original).get("devices", [])}
    client_id = lambda name: client_ids.get(name, "client-" + name)
    text = re.sub(r"\{\{createdId:([a-z0-9-]+):([0-9a-f-]{36})\}\}",
                  lambda m: created_id(m.group(2), client_id(m.group(1))), original)
    text = re.sub(r"\{\{clientId:([a-z0-9-]+)\}\}", lambda m: client_id(m.group(1)), text)
    vector = json.loads(text)
    for index, step in enumerate(vector["steps"], 1):
        where = f"{os.path.relpath(file, os.path.join(ROOT, 'Protocol', 'vectors'))} step {index}"
        request, response = step["request"], step["response"]
        op = operation(request["method"], request["path"])
        if op is None:
            # A path the spec does not have is 404; a method a path does not take, 405 (info.description).
            known_path = template(request["path"]) in spec["paths"]
            if response["status"] != (405 if known_path else 404):
                print(f"{where}: {request['method']} {request['path']} is not in openapi.yaml"); failures += 1
            continue
        status = str(response["status"])
        if status not in op["responses"]:
            print(f"{where}: status {status} is not documented for {request['path']}"); failures += 1
            continue
        body_schema = op["responses"][status]
        if "$ref" in body_schema:
            body_schema = spec["components"]["responses"][body_schema["$ref"].split("/")[-1]]
        if "bodyBase64" in response:
            # A file's bytes: the answer must be documented as bytes, and its headers must describe them.
            if "application/octet-stream" not in body_schema.get("content", {}):
                print(f"{where}: status {status} of {request['path']} is not documented as a file"); failures += 1
            length = len(__import__("base64").b64decode(response["bodyBase64"]))
            if str(length) != response.get("headers", {}).get("content-length"):
                print(f"{where}: content-length does not match the bytes"); failures += 1
            checked += 1
            continue
        schema = body_schema["content"]["application/json"]["schema"]
        errors = list(validator(schema).iter_errors(response["body"]))
        if status.startswith("2") and "body" in request and "requestBody" in op:
            request_schema = op["requestBody"]["content"]["application/json"]["schema"]
            errors += list(validator(request_schema).iter_errors(request["body"]))
        for error in errors[:3]:
            print(f"{where}: {error.message} at {'/'.join(map(str, error.absolute_path))}")
        failures += len(errors)
        checked += 1

print(f"vectors: {checked} exchanges checked against openapi.yaml")
if failures:
    print(f"{failures} problem(s)")
    sys.exit(1)
