"""refresh.py cuts Kombo's full document to kombo-openapi.json, the same bytes every time."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.contract.refresh import DEFAULT_OUTPUT, OPERATIONS, cut, dumps, main

COPIED = "2026-05-02"


def subset() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEFAULT_OUTPUT.read_bytes())
    return document


def full_document() -> dict[str, Any]:
    """The copy grown back into a document like Kombo's: more paths, more methods on
    kombo's paths, components only those use, tags, webhooks, an unused scheme."""
    document = subset()
    del document["info"]["x-subset-of"]
    schemas = document["components"]["schemas"]
    # Interleaved with kombo's own, so keeping the input's order is what is tested.
    document["components"]["schemas"] = {
        "GetAtsJobsPositiveResponse": {
            "type": "object",
            "properties": {"data": {"$ref": "#/components/schemas/Job"}},
        },
        **dict(list(schemas.items())[:3]),
        "Job": {"type": "object", "properties": {"stage": {"$ref": "#/components/schemas/Stage"}}},
        "Stage": {"type": "object"},
        "PostAtsCandidatesRequestBody": {"type": "object"},
        **dict(list(schemas.items())[3:]),
        "Unused": {"type": "string"},
    }
    document["components"]["parameters"] = {
        "JobId": {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
    }
    document["components"]["securitySchemes"]["Other"] = {"type": "http", "scheme": "basic"}
    paths = document["paths"]
    document["paths"] = {
        "/ats/jobs/{job_id}": {
            "parameters": [{"$ref": "#/components/parameters/JobId"}],
            "get": {
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "$ref": "#/components/schemas/GetAtsJobsPositiveResponse"
                                }
                            }
                        },
                    }
                }
            },
        },
        **paths,
    }
    paths["/ats/candidates"]["post"] = {
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/PostAtsCandidatesRequestBody"}
                }
            }
        },
        "responses": {"default": {"$ref": "#/components/responses/ErrorResponseATS"}},
    }
    paths["/integrations/{integration_id}"]["delete"] = {"responses": {}}
    document["tags"] = [{"name": "Unified ATS API"}]
    document["webhooks"] = {"data-changed": {"post": {"responses": {}}}}
    return document


def test_cutting_the_copy_gives_the_copy_back_byte_for_byte() -> None:
    assert dumps(cut(subset(), COPIED)) == DEFAULT_OUTPUT.read_bytes()


def test_cutting_a_full_document_gives_the_copy() -> None:
    assert dumps(cut(full_document(), COPIED)) == DEFAULT_OUTPUT.read_bytes()


def test_the_copy_holds_exactly_the_operations_kombo_calls() -> None:
    paths = subset()["paths"]
    assert {path: tuple(item) for path, item in paths.items()} == OPERATIONS


def test_components_are_followed_transitively_and_only_those_referenced_are_kept() -> None:
    document = full_document()
    response = document["paths"]["/check-api-key"]["get"]["responses"]["200"]
    response["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/GetAtsJobsPositiveResponse"
    }

    schemas = cut(document, COPIED)["components"]["schemas"]

    assert {"GetAtsJobsPositiveResponse", "Job", "Stage"} <= set(schemas)
    assert "Unused" not in schemas and "PostAtsCandidatesRequestBody" not in schemas
    assert "GetCheckApiKeyPositiveResponse" not in schemas


def test_the_copy_says_what_it_is() -> None:
    info = cut(full_document(), "2026-06-30")["info"]

    assert info["x-subset-of"] == (
        "Kombo's public OpenAPI document (openapi.json, info.version 1.0.0, copy of"
        " 2026-06-30): only the five paths kombo calls, with the components they reference"
    )


def test_a_document_without_an_operation_kombo_calls_is_refused() -> None:
    document = full_document()
    del document["paths"]["/ats/applications/{application_id}/attachments"]["post"]

    with pytest.raises(ValueError, match=r"POST /ats/applications/\{application_id\}"):
        cut(document, COPIED)


def test_a_dangling_reference_is_refused() -> None:
    document = copy.deepcopy(full_document())
    del document["components"]["schemas"]["GetCheckApiKeyPositiveResponse"]

    with pytest.raises(ValueError, match="GetCheckApiKeyPositiveResponse"):
        cut(document, COPIED)


def test_the_script_writes_the_cut_document(tmp_path: Path) -> None:
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(full_document(), indent=2), encoding="utf-8")
    output = tmp_path / "kombo-openapi.json"

    assert main([str(source), "--copied", COPIED, "--output", str(output)]) == 0

    assert output.read_bytes() == DEFAULT_OUTPUT.read_bytes()
