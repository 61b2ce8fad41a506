#!/usr/bin/env python3
"""Cuts the part of @google-cloud/aiplatform's build/protos/protos.json the Vertex emulator validates against:
the JobService CustomJob methods, their request and response messages, and every message and enum they reach.
Usage: extract-vertex-protos.py PATH/TO/protos.json OUT.json   (the layout of protos.json is kept, so the emulator
reads either file)."""
import json
import sys

ROOT = ["google", "cloud", "aiplatform", "v1"]
METHODS = ["CreateCustomJob", "GetCustomJob", "ListCustomJobs", "CancelCustomJob", "DeleteCustomJob"]


def node(root, path):
    n = root
    for p in path:
        n = n.get("nested", {}).get(p)
        if n is None:
            return None
    return n


def resolve(root, scope, name):
    """protobufjs' lookup: the dotted name relative to the scope, then to each enclosing scope up to the root."""
    if name.startswith("."):
        return name[1:].split(".") if node(root, name[1:].split(".")) is not None else None
    parts = name.split(".")
    s = list(scope)
    while True:
        if node(root, s + parts) is not None:
            return s + parts
        if not s:
            return None
        s.pop()


def main(source, target):
    full = json.load(open(source))
    out = {"nested": {}}
    seen = set()

    def copy(path):
        key = ".".join(path)
        if key in seen:
            return
        seen.add(key)
        src = node(full, path)
        dst = out
        for i, p in enumerate(path):
            dst = dst.setdefault("nested", {}).setdefault(p, {})
            if i < len(path) - 1:
                parent_src = node(full, path[: i + 1])
                for k in ("options",):
                    if k in parent_src and k not in dst and "fields" not in parent_src and "values" not in parent_src:
                        pass
        for k, v in src.items():
            if k != "nested":
                dst[k] = v
        # nested types of a message come along whole (enums, small messages)
        for name, child in src.get("nested", {}).items():
            copy(path + [name])
        for f in src.get("fields", {}).values():
            for t in (f["type"], f.get("keyType")):
                if t is None or t in SCALARS:
                    continue
                target_path = resolve(full, path, t)
                if target_path is None:
                    raise SystemExit(f"cannot resolve {t} in {key}")
                copy(target_path)

    service = node(full, ROOT + ["JobService"])
    svc_out = {"methods": {m: service["methods"][m] for m in METHODS}}
    dst = out
    for p in ROOT:
        dst = dst.setdefault("nested", {}).setdefault(p, {})
    dst.setdefault("nested", {})["JobService"] = svc_out
    for m in METHODS:
        for t in (service["methods"][m]["requestType"], service["methods"][m]["responseType"]):
            copy(resolve(full, ROOT, t))
    copy(ROOT + ["JobState"])
    json.dump(out, open(target, "w"), indent=1, sort_keys=True)
    open(target, "a").write("\n")


SCALARS = {"double", "float", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64",
           "bool", "string", "bytes"}

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
