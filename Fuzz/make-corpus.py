#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus from the protocol's vectors, plus hand-written edge cases.

  Corpus/reader/  every request and response body of Protocol/vectors/*.json and each record a pull
                  of them brings, placeholders filled in as the vectors' devices had them, and edge
                  cases of JSON itself (FuzzReader)
  Corpus/push/    every push body of the vectors, with the placeholders FuzzPush fills in: CLIENT and
                  OFFICER for the citizen's and the officer's client id, CASE for the filed case,
                  NEWID for an id the pushing device may create; and edge cases of pushes (FuzzPush)

Run it after the vectors change and commit what it writes (it replaces both folders' contents):
    python3 Fuzz/make-corpus.py
"""
import gzip
import json
import re
import shutil
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
VECTORS = FUZZ.parent / "Protocol" / "vectors"


def created_id(random, client_id):
    """CreatedId.make(from:clientId:): a version-8 UUID ending in the device's tag (PROTOCOL.md §2)."""
    digest = 0xCBF29CE484222325
    for byte in client_id.encode():
        digest = ((digest ^ byte) * 0x100000001B3) % (1 << 64)
    tag = format(digest & 0xFFFFFFFFFFFF, "012x")
    hex_digits = random.replace("-", "")
    free = (hex_digits[0:12] + hex_digits[13:16] + hex_digits[17:32])[-18:]
    return f"{free[0:8]}-{free[8:12]}-8{free[12:15]}-{hex_digits[16]}{free[15:18]}-{tag}"


def as_text(body):
    """A body as the vectors send it: raw text as it is, JSON compact with non-ASCII kept as UTF-8."""
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def reader_text(text, client_ids):
    """Placeholders filled in as the vectors' devices had them."""
    client_id = lambda name: client_ids.get(name, "client-" + name)
    text = re.sub(r"\{\{createdId:([a-z0-9-]+):([0-9a-f-]{36})\}\}", lambda m: created_id(m[2], client_id(m[1])), text)
    text = re.sub(r"\{\{clientId:([a-z0-9-]+)\}\}", lambda m: client_id(m[1]), text)
    text = re.sub(r"\{\{accountId:[a-z0-9-]+\}\}", "00000000-0000-4000-8000-000000000001", text)
    return re.sub(r"\{\{loginCode:[a-z0-9-]+\}\}", "K7QM-2XRT-9HBD", text)


def push_text(text, officers, filed):
    """Placeholders as FuzzPush fills them in: the vector's first created id is the filed case."""
    text = re.sub(r"\{\{clientId:([a-z0-9-]+)\}\}", lambda m: "OFFICER" if m[1] in officers else "CLIENT", text)
    return re.sub(r"\{\{createdId:[a-z0-9-]+:([0-9a-f-]{36})\}\}", lambda m: "CASE" if m[1] == filed else "NEWID", text)


def from_vectors():
    reader, push = {}, {}
    for path in sorted(VECTORS.glob("*.json")):
        vector = json.loads(path.read_text())
        devices = vector.get("devices", [])
        client_ids = {device["name"]: device.get("clientId", "client-" + device["name"]) for device in devices}
        officers = {device["name"] for device in devices if device.get("role") == "officer"}
        created = re.search(r"\{\{createdId:[a-z0-9-]+:([0-9a-f-]{36})\}\}", path.read_text())
        filed = created[1] if created else None
        for number, step in enumerate(vector["steps"], start=1):
            request, response = step["request"], step["response"]
            body = request.get("rawBody", request.get("body"))
            if body is not None:
                reader[f"{path.stem}-{number:02}-request"] = reader_text(as_text(body), client_ids)
                if request["path"].startswith("/sync/push"):
                    push[f"{path.stem}-{number:02}"] = push_text(as_text(body), officers, filed)
            if "body" in response:
                reader[f"{path.stem}-{number:02}-response"] = reader_text(as_text(response["body"]), client_ids)
                # Each record a pull brings, alone: what a device reads back from its store.
                changes = response["body"].get("changes", []) if isinstance(response["body"], dict) else []
                for index, change in enumerate(changes, start=1):
                    if isinstance(change, dict) and isinstance(change.get("data"), dict):
                        name = f"{path.stem}-{number:02}-record-{index:02}"
                        reader[name] = reader_text(as_text(change["data"]), client_ids)
    return reader, push


CASE_ID = created_id("5f0c1e2a-0000-4000-8000-00000000c001", "gpfkvv3o55aqqjc3")
HLC = "1772442000001-0000-gpfkvv3o55aqqjc3"


def delete_push(mutation_id, extra=""):
    return f'{{"clientId":"gpfkvv3o55aqqjc3","mutations":[{{"mutationId":{mutation_id},"caseId":"{CASE_ID}","hlc":"{HLC}","op":"delete"{extra}}}]}}'


# JSON itself at its edges: what the strict reader must refuse or read exactly as Foundation does.
READER_EDGES = {
    "nesting-32": "[" * 32 + "]" * 32,
    "nesting-33": "[" * 33 + "]" * 33,
    "nesting-deep-objects": '{"a":' * 40 + "1" + "}" * 40,
    "nesting-unclosed": "[" * 3000,
    "nesting-in-pull-data": '{"changes":[{"seq":1,"type":"case","id":"a","version":1,"data":' + "[" * 30 + "]" * 30
    + '}],"cursor":"1","hasMore":false}',
    "long-string": '["' + "a\\u00e9\\\"\\\\é漢🙂\\n" * 300 + '"]',
    "long-key": '{"' + "k" * 3000 + '":1}',
    "int64-max": delete_push("9223372036854775807"),
    "int64-min": delete_push("-9223372036854775808"),
    "int64-max-plus-one": delete_push("9223372036854775808"),
    "int64-min-minus-one": delete_push("-9223372036854775809"),
    "int-twenty-digits": delete_push("18446744073709551616"),
    "int-minus-zero": delete_push("-0"),
    "int-as-fraction": delete_push("1.0"),
    "int-as-exponent": delete_push("1e3"),
    "number-forms": '[0,-0,0.5,-0.5e-5,1E+2,1e308,4.9e-324,123456789012345678901234567890]',
    "number-leading-zero": "[012]",
    "invalid-utf8-in-string": b'["\xc3\x28"]',
    "invalid-utf8-surrogate": b'["\xed\xa0\x80"]',
    "invalid-utf8-past-max": b'["\xf4\x90\x80\x80"]',
    "invalid-utf8-overlong": b'["\xc0\xaf"]',
    "invalid-utf8-lone-continuation": b'{"\x80":1}',
    "invalid-utf8-outside-string": b"[\xff]",
    "invalid-utf8-truncated": b'["\xe6\xbc"]',
    "bom": b"\xef\xbb\xbf{}",
    "surrogate-pair": '["\\ud83d\\ude42"]',
    "surrogate-lone-high": '["\\ud800"]',
    "surrogate-lone-low": '["\\udc00"]',
    "surrogate-reversed": '["\\udc00\\ud800"]',
    "escaped-nul": '{"clientId":"\\u0000","mutations":[]}',
    "raw-control-character": '["a\tb"]',
    "duplicate-key": '{"clientId":"c","mutations":[],"mutations":[]}',
    "duplicate-key-escaped": '{"clientId":"c","mutations":[],"mutation\\u0073":[]}',
    "duplicate-key-nested": delete_push("1", ',"x":{"a":1,"a":2}'),
    "duplicate-key-many": "{" + ",".join(f'"k{i}":{i}' for i in range(40)) + ',"k7":0}',
    "trailing-bytes": "{} {}",
    "trailing-comma": '{"a":1,}',
    "whitespace": ' \t\r\n{ "clientId" : "c" ,\n"mutations" : [ ] } \n',
    "empty": "",
    "scalar-string": '"x"',
    "unknown-properties": delete_push("1", ',"x":[1,{"y":null},true,false,"z",-1.5e10]'),
    "redeem": '{"code":"K7QM-2XRT-9HBD","deviceName":"Phone"}',
    "error-envelope": '{"error":{"code":"invalid_request","message":"m","details":{"a":"b"}}}',
    "discovery": '{"server":"casesync-server","protocolVersions":[1],"limits":{"maxBodyBytes":1,"maxTextLength":-9223372036854775808}}',
}

PUSH_HLC = "1772442000003-0000-CLIENT"
OFFICER_HLC = "1772442000001-0000-OFFICER"


def mutation(mutation_id, op, rest, hlc=PUSH_HLC, case="CASE", base=2):
    base_version = "" if base is None else f'"baseVersion":{base},'
    return f'{{{base_version}"caseId":"{case}","hlc":"{hlc}","mutationId":{mutation_id},"op":"{op}"{rest}}}'


def push(*mutations, client="CLIENT"):
    return f'{{"clientId":"{client}","mutations":[{",".join(mutations)}]}}'


NEW_CASE = (',"case":{"authorityId":"gm0344","fields":{"decisionDate":"2026-03-02","decisionReference":"PT-1",'
            '"grounds":"G","title":"T"},"kind":"objection"}')

# Pushes at the rules' edges; the case was filed with mutations 1 and 2 (see Fuzz/Sources/FuzzPush).
PUSH_EDGES = {
    "create-new-case": push(mutation(3, "create", NEW_CASE, case="NEWID", base=None)),
    "create-edit-delete": push(
        mutation(3, "create", NEW_CASE, case="NEWID", base=None),
        mutation(4, "edit", ',"changes":[{"field":"title","from":"T","to":"U"}]', case="NEWID", base=1),
        mutation(5, "delete", "", case="NEWID", base=2)),
    "message": push(mutation(3, "add_message", ',"messageId":"NEWID","body":"Hello"')),
    "retry-of-submit": push(mutation(2, "transition", ',"transition":{"to":"submitted"}', hlc="1772442000002-0000-CLIENT", base=1)),
    "reused-id": push(mutation(2, "delete", "")),
    "long-text": push(mutation(3, "edit", ',"changes":[{"field":"grounds","from":null,"to":"' + "é漢\\n" * 1000 + '"}]')),
    "many-fields": push(mutation(3, "edit", ',"changes":[' + ",".join(
        f'{{"field":"f{i}","from":null,"to":"v"}}' for i in range(60)) + "]")),
    "many-mutations": push(*[mutation(3 + i, "edit", f',"changes":[{{"field":"title","from":null,"to":"{i}"}}]', base=2 + i)
                             for i in range(40)]),
    "mutation-id-max": push(mutation(9223372036854775807, "delete", "")),
    "base-version-max": push(mutation(3, "delete", "", base=9223372036854775807)),
    "clock-at-max": push(mutation(3, "delete", "", hlc="9999999999999-ffff-CLIENT")),
    "clock-ahead": push(mutation(3, "delete", "", hlc="1772442400001-0000-CLIENT")),
    "officer-receives": push(
        mutation(1, "transition", ',"transition":{"to":"received","note":"n"}', hlc=OFFICER_HLC),
        mutation(2, "deadline", ',"deadline":{"action":"postpone","weeks":6,"consent":true,"note":"n"}',
                 hlc="1772442000002-0000-OFFICER", base=3),
        mutation(3, "deadline", ',"deadline":{"action":"pause","effectiveDate":"2199-12-31"}', hlc="1772442000003-0000-OFFICER", base=4),
        client="OFFICER"),
    "officer-decides": push(mutation(1, "transition", ',"transition":{"to":"decided","fields":{"decisionOutcome":"upheld"}}',
                                     hlc=OFFICER_HLC), client="OFFICER"),
    "resolve-conflict": push(mutation(3, "resolve_conflict", ',"conflictId":"CASE","keep":"mine"')),
    "duplicate-key": '{"clientId":"CLIENT","clientId":"CLIENT","mutations":[]}',
    "wrong-client": push(mutation(3, "delete", ""), client="OFFICER"),
    "empty": push(),
}


def write(folder, files):
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, content in sorted(files.items()):
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def main():
    reader, push_bodies = from_vectors()
    reader.update({"edge-" + name: body for name, body in READER_EDGES.items()})
    # gzip as devices send large pushes (a whole member, one cut short, two in a row).
    packed = gzip.compress(reader["05-exactly-once-01-request"].encode(), mtime=0)
    reader.update({"gzip-push": packed, "gzip-cut": packed[:-9], "gzip-twice": packed + packed})
    push_bodies.update({"edge-" + name: body for name, body in PUSH_EDGES.items()})
    # The same body twice is one seed.
    for files in (reader, push_bodies):
        seen = set()
        for name in sorted(files):
            content = files[name] if isinstance(files[name], bytes) else files[name].encode()
            if content in seen:
                del files[name]
            seen.add(content)
    write(FUZZ / "Corpus" / "reader", reader)
    write(FUZZ / "Corpus" / "push", push_bodies)
    print(f"wrote {len(reader)} reader seeds and {len(push_bodies)} push seeds")


if __name__ == "__main__":
    main()
