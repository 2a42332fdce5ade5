"""Validates ELM v3 JSON-LD against the European Commission's EDC SHACL shapes, offline, with pySHACL.

The JSON-LD is parsed to RDF by rdflib's own JSON-LD parser; each context URL the document names is replaced by
the local copy of that context (``../shared/reference``), so nothing is fetched. The shapes graphs are parsed once
per test session (``shapes()``): the full shapes are the controlled-vocabulary restrictions of
``EDC-generic-full.ttl`` *together with* the ``EDC-generic-no-cv.ttl`` they import (``owl:imports`` is not
followed: it would go to the network).

Measured on the 2-core machine: parsing the shapes takes about 0.5 s once per session (pyshacl's and rdflib's
imports another second); one export parses to RDF in ~0.05 s (170–210 triples) and validates in 0.25 s against
the no-cv shapes, 0.3–0.45 s against the full ones.
"""

from __future__ import annotations

import copy
import json
import warnings
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest
from pyshacl import validate
from rdflib import Graph

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
ELM_REFERENCE = REFERENCE / "elm-3"
ELM_CONTEXT_FILE = ELM_REFERENCE / "edc-ap-context.jsonld"
SAMPLE = ELM_REFERENCE / "Sample-MC-Annex1-unsigned.jsonld"

Shapes = Literal["no-cv", "full"]


def require_reference() -> None:
    """Skips, saying why, where ``../shared/reference`` is absent (a user's own clone); CI always has it."""
    if not (ELM_REFERENCE / "EDC-generic-no-cv.ttl").is_file():
        pytest.skip(f"the EDC SHACL shapes are not here ({ELM_REFERENCE}); CI has them")


@cache
def contexts() -> dict[str, Any]:
    """Context URL -> the context (the value of its ``@context``), from the local copies only."""
    folder = REFERENCE / "jsonld-contexts"
    index: dict[str, str] = json.loads((folder / "index.json").read_text())
    found = {url: json.loads((folder / name).read_text())["@context"] for url, name in index.items()}
    found["http://data.europa.eu/snb/model/context/edc-ap"] = json.loads(ELM_CONTEXT_FILE.read_text())["@context"]
    return found


@cache
def shapes(which: Shapes) -> Graph:
    """The EDC shapes graph, parsed once per session."""
    graph = Graph().parse(ELM_REFERENCE / "EDC-generic-no-cv.ttl", format="turtle")
    if which == "full":
        graph.parse(ELM_REFERENCE / "EDC-generic-full.ttl", format="turtle")
    return graph


def inline_contexts(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every context URL replaced by the context itself (KeyError for one not at hand)."""
    local = copy.deepcopy(document)
    named = local.get("@context", [])
    named = named if isinstance(named, list) else [named]
    local["@context"] = [contexts()[c] if isinstance(c, str) else c for c in named]
    return local


def to_graph(document: dict[str, Any]) -> Graph:
    """The RDF graph of an ELM JSON-LD document (rdflib's JSON-LD parser, contexts from local files).

    rdflib 7.x's own JSON-LD parser builds the ``ConjunctiveGraph`` it deprecates (whatever the caller passes):
    that one warning, raised inside rdflib, is silenced here and nowhere else."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="ConjunctiveGraph is deprecated", category=DeprecationWarning)
        return Graph().parse(data=json.dumps(inline_contexts(document)), format="json-ld")


def shacl_report(document: dict[str, Any], which: Shapes = "no-cv") -> tuple[bool, str]:
    """``(conforms, report text)`` of pySHACL over the document against the EDC shapes."""
    require_reference()
    conforms, _, text = validate(
        to_graph(document),
        shacl_graph=shapes(which),
        inference="none",
        abort_on_first=False,
    )  # warnings and infos count as failures too (the EDC shapes declare every constraint a violation)
    return bool(conforms), str(text)
