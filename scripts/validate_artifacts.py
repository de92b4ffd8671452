#!/usr/bin/env python3
"""Independent cross-check: validate every JSON artifact under a state directory against rgov's
JSON Schemas with Python's jsonschema (not rgov's own code). Usage: validate_artifacts.py STATE SCHEMAS

Each artifact names its schema in its `schema` field (rgov.notice/v1 -> notice.schema.json).
Mission snapshots (input) are checked against mission-snapshot.schema.json. Prints one line per
failure and a closing count; exits 1 if anything failed or nothing was checked."""
import json, os, sys
import jsonschema

state, schemas_dir = sys.argv[1], sys.argv[2]
schemas = {}
for name in os.listdir(schemas_dir):
    if name.endswith(".schema.json"):
        with open(os.path.join(schemas_dir, name)) as f:
            s = json.load(f)
        jsonschema.Draft202012Validator.check_schema(s)
        schemas[name[: -len(".schema.json")]] = jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())

checked, failed, by_kind = 0, 0, {}
def check(path, doc):
    """Validates one document; returns 1 if it failed, else 0."""
    global checked
    if os.path.basename(os.path.dirname(path)) in ("missions", "mission"):  # state, or a bundle
        kind = "mission-snapshot"
    else:
        tag = doc.get("schema", "")
        if not tag.startswith("rgov.") or not tag.endswith("/v1"):
            print(f"FAIL {path}: no rgov schema tag ({tag!r})")
            return 1
        kind = tag[len("rgov."):-len("/v1")]
    validator = schemas.get(kind)
    if validator is None:
        print(f"FAIL {path}: no schema file for {kind}")
        return 1
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    checked += 1
    by_kind[kind] = by_kind.get(kind, 0) + 1
    for e in errors[:3]:
        print(f"FAIL {path}: {'/'.join(map(str, e.path))}: {e.message}")
    return 1 if errors else 0

for root, dirs, files in os.walk(state):
    dirs[:] = [d for d in dirs if d not in ("locks", "outbox", "operator-notify-bridge-acks", ".tmp")]
    in_quarantine = os.path.relpath(root, state).split(os.sep)[0] == "quarantine"
    for name in files:
        if not (name.endswith(".json") or name.endswith(".jsonl")) or name.startswith("."):
            continue
        if in_quarantine and name != "reason.json":
            continue  # the quarantined file itself is whatever was wrong; its reason is ours
        path = os.path.join(root, name)
        with open(path) as f:
            # A .jsonl file (a mission's evidence chain) holds one artifact per line.
            docs = [json.loads(line) for line in f] if name.endswith(".jsonl") else [json.load(f)]
        for doc in docs:
            failed += check(path, doc)
print("checked " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())))
print(f"{checked - failed} valid, {failed} invalid")
sys.exit(1 if failed or checked == 0 else 0)
