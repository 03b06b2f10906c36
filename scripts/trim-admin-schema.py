#!/usr/bin/env python3
"""Trim Shopware's published Admin API OpenAPI document to the subset synctwin uses.

Output: tests/schema/shopware-admin-subset.json. The Shopware twin's responses are
validated against this file. See tests/schema/README.md for what is in it, how each
twin response maps to a schema, and where the schema disagrees with a real server.

Regenerate (the npm registry is the only network access needed):

    mkdir -p /tmp/swschema && cd /tmp/swschema && npm init -y \
        && npm install @shopware/api-client@1.6.0
    cd /work/main && python3 scripts/trim-admin-schema.py \
        /tmp/swschema/node_modules/@shopware/api-client/api-types/adminApiSchema.json

Drop "@1.6.0" to pick up the newest release; the package name and version are read
from the package.json next to api-types/ and written to the top-level "x-source".
Use --out to write somewhere else; --check exits 1 if the output file would change.

What the script does:
  * copies the wanted `paths` entries verbatim (every method on them);
  * copies the wanted `components.schemas` entries verbatim;
  * closes the result over every local "$ref" (any `#/components/<kind>/<name>`,
    e.g. schemas, responses, parameters, requestBodies), so every ref in the
    output resolves inside the output; refs are never rewritten;
  * adds `x-synctwin-supplements`: a few small schemas written by us (NOT from
    Shopware) for responses that Shopware publishes no usable schema for;
  * writes JSON with sorted keys and indent 2, so reruns are byte-identical.

Python 3 standard library only.
"""

import argparse
import hashlib
import json
import os
import sys

# Entities we need. Each name is taken as-is and also with the "JsonApi" suffix when
# the schema has that flavour. Missing names are fatal: the upstream schema changed.
ENTITY_SCHEMAS = [
    "Product",
    "Order",
    "OrderLineItem",
    "OrderDelivery",
    "OrderTransaction",
    "OrderCustomer",
    "OrderAddress",
    "Customer",
    "StateMachineState",
    "Tax",
    "Currency",
]

# Money structs, JSON:API envelope pieces, error envelope, search criteria.
# Present names are copied; absent ones are listed in x-source.absentSchemas.
EXTRA_SCHEMAS = [
    # money structs (CalculatedPrice is a Store-API-flavoured struct; the entity
    # money fields are inlined in the entity schemas instead of referencing it)
    "CalculatedPrice",
    "CartPrice",
    "CalculatedTax",
    "CalculatedTaxes",
    "TaxRule",
    "Price",
    "CartPriceReference",
    "CartListPrice",
    # JSON:API envelope and error envelope
    "success",
    "failure",
    "error",
    "data",
    "resource",
    "attributes",
    "relationships",
    "relationshipLinks",
    "relationshipToOne",
    "relationshipToMany",
    "linkage",
    "links",
    "link",
    "pagination",
    "meta",
    "jsonapi",
    "info",
    # search request body
    "Criteria",
]

# Paths we need, spelled as we call them. Matching ignores placeholder names, so
# "/order/{id}" also finds "/order/{orderId}". Missing paths are recorded in
# x-source.absentPaths (Shopware does not publish /search-ids/* at all).
WANTED_PATHS = [
    "/oauth/token",
    "/search/order",
    "/search/product",
    "/search/order-delivery",
    "/search/order-transaction",
    "/search/customer",
    "/search-ids/order",
    "/search-ids/product",
    "/order/{id}",
    "/product/{id}",
    "/order-delivery/{id}",
    "/_action/sync",
    "/_action/order/{orderId}/state/{transition}",
    "/_action/order_delivery/{orderDeliveryId}/state/{transition}",
    "/_action/order_transaction/{orderTransactionId}/state/{transition}",
]

ID_PATTERN = "^[0-9a-f]{32}$"

# Schemas written by us, not by Shopware. Each one says why it exists. They may
# reference upstream components; the closure below pulls those in too.
SUPPLEMENTS = {
    "searchIdsResponse": {
        "description": "synctwin supplement: Shopware publishes no /search-ids/{entity} "
        "path. Real body for our entities: {\"total\": N, \"data\": [\"<32-hex id>\", ...]}. "
        "total follows total-count-mode like /search.",
        "type": "object",
        "required": ["total", "data"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "data": {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN}},
        },
    },
    "syncResponse": {
        "description": "synctwin supplement: 6.5+ sync success body. Upstream types "
        "data/notFound/deleted as object, but PHP serialises an empty map as [], so "
        "'notFound': [] and 'deleted': [] (and 'extensions': []) are real.",
        "type": "object",
        "required": ["data", "notFound", "deleted"],
        "properties": {
            "extensions": {"type": ["array", "object"], "maxItems": 0},
            "data": {"$ref": "#/x-synctwin-supplements/entityIdMap"},
            "notFound": {"$ref": "#/x-synctwin-supplements/entityIdMap"},
            "deleted": {"$ref": "#/x-synctwin-supplements/entityIdMap"},
        },
    },
    "entityIdMap": {
        "description": "synctwin supplement: {\"<entity_name>\": [pk, ...]}; a pk is a "
        "32-hex id or, for mapping/translation entities, an object of key fields. "
        "Empty map is serialised as [].",
        "oneOf": [
            {"type": "array", "maxItems": 0},
            {
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {"type": "string", "pattern": ID_PATTERN},
                            {"type": "object"},
                        ]
                    },
                },
            },
        ],
    },
    "stateTransitionResponse": {
        "description": "synctwin supplement: upstream documents 200 with no schema. "
        "OrderActionController returns the new state_machine_state entity serialised "
        "bare (no {\"data\": ...} wrapper).",
        "allOf": [{"$ref": "#/components/schemas/StateMachineState"}],
    },
    "errorEnvelope": {
        "description": "synctwin supplement: upstream #/components/schemas/failure is "
        "unusable (error.meta is $ref object AND type array; items use type \"mixed\", "
        "which validators reject; title/meta required; additionalProperties false "
        "rejects 'template'). Shape per ShopwareHttpException / "
        "WriteConstraintViolationException / ErrorResponseFactory.",
        "type": "object",
        "required": ["errors"],
        "additionalProperties": False,
        "properties": {
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["status", "code", "detail"],
                    "properties": {
                        "status": {"type": "string", "pattern": "^[1-5][0-9]{2}$"},
                        "code": {"type": "string", "minLength": 1},
                        "title": {"type": "string"},
                        "detail": {"type": ["string", "null"]},
                        "template": {"type": "string"},
                        "meta": {
                            "type": "object",
                            "properties": {"parameters": {"type": ["object", "array"]}},
                        },
                        "source": {
                            "type": "object",
                            "properties": {"pointer": {"type": "string"}},
                        },
                    },
                },
            }
        },
    },
    "jsonApiResource": {
        "description": "synctwin supplement: a resource as Shopware's JsonApiEncoder "
        "writes it. Upstream OrderJsonApi etc. put the attributes at top level and "
        "upstream 'relationships' allows no members at all, so no real body validates. "
        "Validate attributes + id against the plain entity schema separately.",
        "type": "object",
        "required": ["id", "type", "attributes"],
        "properties": {
            "id": {"type": "string", "pattern": ID_PATTERN},
            "type": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "attributes": {"type": "object"},
            "links": {"$ref": "#/components/schemas/links"},
            "relationships": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "data": {
                            "oneOf": [
                                {"type": "null"},
                                {"$ref": "#/components/schemas/linkage"},
                                {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/linkage"},
                                },
                            ]
                        },
                        "links": {"$ref": "#/components/schemas/links"},
                    },
                },
            },
            "meta": {"type": ["object", "array", "null"]},
        },
    },
    "jsonApiListResponse": {
        "description": "synctwin supplement: Accept application/vnd.api+json (or */*) "
        "search/list body. Upstream 'success' has additionalProperties false and so "
        "rejects the real top-level 'aggregations'.",
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "array",
                "items": {"$ref": "#/x-synctwin-supplements/jsonApiResource"},
            },
            "included": {
                "type": "array",
                "items": {"$ref": "#/x-synctwin-supplements/jsonApiResource"},
            },
            "links": {"$ref": "#/components/schemas/links"},
            "meta": {
                "type": "object",
                "properties": {
                    "totalCountMode": {"type": "integer", "enum": [0, 1, 2]},
                    "total": {"type": "integer", "minimum": 0},
                },
            },
            "aggregations": {"type": ["object", "array"]},
        },
    },
    "jsonApiDetailResponse": {
        "description": "synctwin supplement: Accept application/vnd.api+json detail body.",
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {"$ref": "#/x-synctwin-supplements/jsonApiResource"},
            "included": {
                "type": "array",
                "items": {"$ref": "#/x-synctwin-supplements/jsonApiResource"},
            },
            "links": {"$ref": "#/components/schemas/links"},
            "meta": {"type": ["object", "array", "null"]},
        },
    },
}


def fail(msg):
    print("trim-admin-schema: error: " + msg, file=sys.stderr)
    sys.exit(2)


def normalize_path(p):
    """'/order/{orderId}/state/{transition}' -> '/order/{}/state/{}'."""
    out, depth = [], 0
    for ch in p:
        if ch == "{":
            depth += 1
            if depth == 1:
                out.append("{}")
            continue
        if ch == "}":
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def unescape_pointer_token(tok):
    return tok.replace("~1", "/").replace("~0", "~")


def collect_refs(node, out):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.add(ref)
        for v in node.values():
            collect_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            collect_refs(v, out)


def find_package_json(schema_path):
    d = os.path.dirname(os.path.abspath(schema_path))
    for _ in range(3):
        cand = os.path.join(d, "package.json")
        if os.path.isfile(cand):
            with open(cand, encoding="utf-8") as f:
                return json.load(f)
        d = os.path.dirname(d)
    return None


def build(src, src_bytes, pkg, src_rel):
    paths = src.get("paths", {})
    comps = src.get("components", {})
    schemas = comps.get("schemas", {})

    # --- paths -----------------------------------------------------------------
    by_norm = {}
    for key in paths:
        by_norm.setdefault(normalize_path(key), []).append(key)
    out_paths, absent_paths, path_map = {}, [], {}
    for want in WANTED_PATHS:
        keys = by_norm.get(normalize_path(want), [])
        if len(keys) > 1:
            fail("ambiguous path %s -> %s" % (want, keys))
        if not keys:
            absent_paths.append(want)
            continue
        out_paths[keys[0]] = paths[keys[0]]
        path_map[want] = keys[0]

    # --- root schemas ------------------------------------------------------------
    out_comps = {}

    def add_component(kind, name):
        section = comps.get(kind)
        if not isinstance(section, dict) or name not in section:
            return False
        out_comps.setdefault(kind, {})[name] = section[name]
        return True

    for name in ENTITY_SCHEMAS:
        if not add_component("schemas", name):
            fail("entity schema %s not found in source" % name)
        add_component("schemas", name + "JsonApi")
    absent_schemas = [n for n in EXTRA_SCHEMAS if not add_component("schemas", n)]
    for name in ENTITY_SCHEMAS:
        if name + "JsonApi" not in schemas:
            absent_schemas.append(name + "JsonApi")

    # securitySchemes are referenced by name (not $ref) from `security`.
    security = src.get("security")
    if security is not None:
        for req in security:
            for scheme in req:
                add_component("securitySchemes", scheme)

    # --- $ref closure ------------------------------------------------------------
    seen = set()
    while True:
        refs = set()
        collect_refs(out_paths, refs)
        collect_refs(out_comps, refs)
        collect_refs(SUPPLEMENTS, refs)
        new = sorted(refs - seen)
        if not new:
            break
        for ref in new:
            seen.add(ref)
            if ref.startswith("#/x-synctwin-supplements/"):
                if ref.split("/", 2)[2] not in SUPPLEMENTS:
                    fail("dangling supplement ref %s" % ref)
                continue
            parts = ref.split("/")
            if len(parts) != 4 or parts[0] != "#" or parts[1] != "components":
                fail("unsupported $ref %r (only #/components/<kind>/<name>)" % ref)
            kind, name = unescape_pointer_token(parts[2]), unescape_pointer_token(parts[3])
            if not add_component(kind, name):
                fail("dangling $ref %r in source" % ref)

    doc = {
        "openapi": src.get("openapi"),
        "info": src.get("info"),
        "paths": out_paths,
        "components": out_comps,
        "x-source": {
            "package": pkg.get("name") if pkg else None,
            "version": pkg.get("version") if pkg else None,
            "file": src_rel,
            "sha256": hashlib.sha256(src_bytes).hexdigest(),
            "shopwareApiVersion": (src.get("info") or {}).get("version"),
            "generator": "scripts/trim-admin-schema.py",
            "pathMap": path_map,
            "absentPaths": absent_paths,
            "absentSchemas": sorted(absent_schemas),
            "note": "paths and components are verbatim copies from the source; "
            "x-synctwin-supplements is written by synctwin, not Shopware.",
        },
        "x-synctwin-supplements": SUPPLEMENTS,
    }
    if security is not None:
        doc["security"] = security
    return doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("schema", help="path to api-types/adminApiSchema.json")
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "tests", "schema", "shopware-admin-subset.json")
    ap.add_argument("--out", default=os.path.normpath(default_out))
    ap.add_argument("--check", action="store_true", help="exit 1 if --out would change")
    args = ap.parse_args()

    with open(args.schema, "rb") as f:
        src_bytes = f.read()
    src = json.loads(src_bytes.decode("utf-8"))
    pkg = find_package_json(args.schema)
    if not pkg or "version" not in pkg:
        fail("no package.json with a version found above %s" % args.schema)

    doc = build(src, src_bytes, pkg, "api-types/" + os.path.basename(args.schema))
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    if args.check:
        try:
            with open(args.out, encoding="utf-8") as f:
                same = f.read() == text
        except FileNotFoundError:
            same = False
        print("up to date" if same else "would change: " + args.out)
        sys.exit(0 if same else 1)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    c = doc["components"]
    print(
        "wrote %s (%d bytes): %d paths, %s; absent paths: %s"
        % (
            args.out,
            len(text.encode("utf-8")),
            len(doc["paths"]),
            ", ".join("%d %s" % (len(v), k) for k, v in sorted(c.items())),
            ", ".join(doc["x-source"]["absentPaths"]) or "none",
        ),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
