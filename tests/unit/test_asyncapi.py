"""The committed AsyncAPI document (deploy/asyncapi/pulse.asyncapi.json) is the one the code generates, and it
documents every topic and every event type. When this fails after a change to a service's subscriptions or
publications or to an event model: `uv run python deploy/asyncapi/generate.py`, and commit the document."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shared.events.registry import DATA_MODELS
from shared.topics import EVENT_TYPES, Topic

pytestmark = pytest.mark.unit

GENERATOR = Path(__file__).resolve().parents[2] / "deploy" / "asyncapi" / "generate.py"


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pulse_asyncapi_generate", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def document(generate: ModuleType) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(generate.render())
    return doc


def test_committed_document_is_the_generated_one(generate: ModuleType) -> None:
    committed = generate.DOCUMENT.read_text(encoding="utf-8")
    assert committed == generate.render(), (
        "deploy/asyncapi/pulse.asyncapi.json differs from the code: run `uv run python deploy/asyncapi/generate.py`"
    )


def test_generation_ignores_the_environment(generate: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_TOPIC_PREFIX", "elsewhere-")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "somewhere:19092")
    assert generate.render() == generate.DOCUMENT.read_text(encoding="utf-8")


def test_every_topic_has_a_channel(document: dict[str, Any]) -> None:
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {str(t) for t in Topic} <= addresses
    # Every channel of an envelope topic carries its messages' schema.
    for name, channel in document["channels"].items():
        for message in channel["messages"].values():
            payload = _resolve(document, _resolve(document, message)["payload"])
            assert payload, f"{name}: no payload schema"


def test_every_event_type_is_documented_on_its_topic(document: dict[str, Any]) -> None:
    documented: dict[str, set[str]] = {}
    for channel in document["channels"].values():
        for message in channel["messages"].values():
            payload = _resolve(document, message)["payload"]
            types = documented.setdefault(channel["address"], set())
            types.update(_event_types(document, payload))
    every = set().union(*documented.values())
    assert set(DATA_MODELS) <= every
    for topic, event_types in EVENT_TYPES.items():
        assert event_types <= documented[str(topic)], topic


def test_event_data_is_typed_by_its_model(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for event_type, model in DATA_MODELS.items():
        envelope = schemas[f"{model.__name__}Event"]
        assert envelope["properties"]["event_type"]["const"] == event_type
        assert envelope["properties"]["data"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert set(envelope["required"]) >= {"event_id", "event_type", "occurred_at", "source", "data"}
        assert schemas[model.__name__]["properties"].keys() == model.model_json_schema()["properties"].keys()


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _event_types(document: dict[str, Any], schema: dict[str, Any]) -> Iterator[str]:
    schema = _resolve(document, schema)
    for alternative in schema.get("anyOf", schema.get("oneOf", [])):
        yield from _event_types(document, alternative)
    event_type = schema.get("properties", {}).get("event_type", {})
    if "const" in event_type:
        yield event_type["const"]
