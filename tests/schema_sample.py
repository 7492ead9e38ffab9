"""An introspection answer with the input shapes the kinds being added use (an enum, an ID, a nested input
object with an upload in it, lists, JSON, a Boolean defaulting to true) and mutations that are not kinds,
for the two readers of schemas: the page's forms (clipforge/web/forms.js) and `clipforge make`."""

from __future__ import annotations

from typing import Any


def t(kind: str, name: str | None = None, of: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": kind, "name": name, "ofType": of}


def nn(of: dict[str, Any]) -> dict[str, Any]:
    return t("NON_NULL", None, of)


def lst(of: dict[str, Any]) -> dict[str, Any]:
    return t("LIST", None, of)


def field(name: str, type_: dict[str, Any], default: str | None = None) -> dict[str, Any]:
    return {"name": name, "description": None, "type": type_, "defaultValue": default}


STRING, ID, INT, UPLOAD, JSON, BOOL = (
    t("SCALAR", n) for n in ("String", "ID", "Int", "Upload", "JSON", "Boolean")
)

SAMPLE: dict[str, Any] = {
    "__schema": {
        "queryType": {"name": "Query"},
        "mutationType": {
            "fields": [
                {
                    "name": "createProductAd",
                    "description": "An ad.",
                    "args": [{"name": "input", "type": nn(t("INPUT_OBJECT", "ProductAdInput"))}],
                    "type": nn(t("UNION", "CreateJobResult")),
                },
                {  # not a kind: returns no Job
                    "name": "expandIdea",
                    "description": None,
                    "args": [{"name": "input", "type": nn(t("INPUT_OBJECT", "ProductAdInput"))}],
                    "type": nn(t("OBJECT", "Expansion")),
                },
                {  # not a kind: no `input`
                    "name": "cancelJob",
                    "description": None,
                    "args": [{"name": "id", "type": nn(ID)}],
                    "type": nn(t("UNION", "CreateJobResult")),
                },
            ]
        },
        "types": [
            {"kind": "OBJECT", "name": "Query", "fields": []},
            {"kind": "OBJECT", "name": "Job", "fields": [{"name": "id", "type": nn(ID)}]},
            {"kind": "OBJECT", "name": "Expansion", "fields": [{"name": "idea", "type": STRING}]},
            {
                "kind": "OBJECT",
                "name": "InvalidInput",
                "fields": [{"name": "code", "type": nn(STRING)}, {"name": "message", "type": nn(STRING)}],
            },
            {
                "kind": "UNION",
                "name": "CreateJobResult",
                "possibleTypes": [{"name": "Job"}, {"name": "InvalidInput"}],
            },
            {
                "kind": "INPUT_OBJECT",
                "name": "ProductAdInput",
                "inputFields": [
                    field("productName", nn(STRING)),
                    field("style", nn(t("ENUM", "AdStyle"))),
                    field("sceneId", ID),
                    field("scene", t("INPUT_OBJECT", "SceneInput")),
                    field("duration", nn(INT), "5"),
                    field("tags", lst(nn(STRING))),
                    field("photoUrls", lst(nn(STRING))),
                    field("photos", lst(nn(UPLOAD))),
                    field("storyboard", JSON),
                    field("captions", nn(BOOL), "true"),
                    field("idempotencyKey", STRING),
                ],
            },
            {
                "kind": "INPUT_OBJECT",
                "name": "SceneInput",
                "inputFields": [
                    field("imagePrompt", nn(STRING)),
                    field("productReferenceImage", UPLOAD),
                ],
            },
            {"kind": "ENUM", "name": "AdStyle", "enumValues": [{"name": "LUXURY"}, {"name": "BOLD"}]},
        ],
    }
}

# What both readers must make of the sample, filled in the same way (see the tests).
EXPECTED_INPUT = {
    "productName": "Aurora Lamp",
    "style": "BOLD",
    "sceneId": "scene-1",
    "scene": {"imagePrompt": "a lamp on a desk", "productReferenceImage": None},
    "tags": ["warm", "desk"],
    "photos": [None, None],
    "storyboard": {"scenes": [{"text": "hi"}]},
    "captions": False,
}
EXPECTED_FILES = [
    "variables.input.photos.0",
    "variables.input.photos.1",
    "variables.input.scene.productReferenceImage",
]
