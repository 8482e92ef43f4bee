"""The MCP tools' input JSON schemas, derived from the REST endpoints' marshmallow
schemas by flask-smorest's own converter (the one the OpenAPI document uses), so a
field added to a REST schema reaches the tools with its formats, limits and enums."""

from copy import deepcopy

from ..extensions import api

_REF = "#/components/schemas/"


def _json_schema(node, components):
    """OpenAPI 3.0 → JSON Schema: components inlined, `nullable` as a null type."""
    if isinstance(node, list):
        return [_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and node["$ref"].startswith(_REF):
        return _json_schema(deepcopy(components[node["$ref"][len(_REF) :]]), components)
    out = {key: _json_schema(value, components) for key, value in node.items()}
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    nullable_object = {"type": ["object", "null"]}
    if out.get("anyOf", [None])[0] == nullable_object and len(out["anyOf"]) == 2:
        # a nullable nested schema: that schema, or null (not: any object)
        out = {**out.pop("anyOf")[1], **out, "type": ["object", "null"]}
    out.pop("readOnly", None)
    # Said by the keywords (shorter, for the model's context): a trimmed text's
    # length rule, and an example
    trimmed = out.pop("x-trimmed", None)
    if trimmed:
        out["description"] = out["description"].removesuffix(trimmed["rule"]).strip()
        if not out["description"]:
            del out["description"]
        out["maxLength"] = trimmed["maxLength"]
    if isinstance(out.get("example"), str):
        del out["example"]
    return out


def input_schema(schema=None, extra=None, required=(), drop=()) -> dict:
    """A tool's input schema: `schema`'s fields (a marshmallow schema instance),
    less `drop`, plus `extra` properties; `required` adds to the schema's own."""
    converter = api.ma_plugin.converter
    # Read in place (_json_schema copies what it inlines): rendering the whole
    # OpenAPI document for each tool only to take this from it cost more.
    components = api.spec.components.schemas
    derived = converter.schema2jsonschema(schema) if schema is not None else {}
    derived = _json_schema(derived, components)
    properties = {
        name: value
        for name, value in derived.get("properties", {}).items()
        if name not in drop
    }
    properties.update(extra or {})
    out = {"type": "object", "properties": properties}
    needed = [*required, *derived.get("required", [])]
    if needed:
        out["required"] = needed
    if derived.get("additionalProperties") is False:
        out["additionalProperties"] = False
    return out
