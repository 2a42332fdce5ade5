"""Canonical N-Quads (RDF Dataset Canonicalization, RDFC-1.0) of a JSON-LD document, offline.

pyoxigraph (Rust) parses JSON-LD and canonicalises, but loads no remote context: each context URL the
document names is replaced by the context itself (``contexts.load``), which JSON-LD 1.1 processes exactly as
the remote one. An unknown URL raises ``UnknownContext``: nothing is fetched. The canonical form is the
canonicalised dataset's N-Quads sorted in code point order (RDFC-1.0 §4.4 step 5).
"""

from __future__ import annotations

from typing import Any

import msgspec
import pyoxigraph as ox

from domain.credentials.data_integrity import contexts
from domain.credentials.data_integrity.expansion import Unexpandable, expand

Json = dict[str, Any]


class NotJsonLd(ValueError):
    """The document cannot be read as JSON-LD (with the contexts held here)."""


def _inline(value: Any, public_url: str) -> Any:
    """``value`` with every context URL replaced by the context it names."""
    if isinstance(value, str):
        return contexts.load(value, public_url)["@context"]
    if isinstance(value, list):
        return [_inline(v, public_url) for v in value]
    return value


def _with_inline_contexts(node: Any, public_url: str) -> Any:
    if isinstance(node, dict):
        return {
            k: _inline(v, public_url) if k == "@context" else _with_inline_contexts(v, public_url)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_with_inline_contexts(v, public_url) for v in node]
    return node


def _canonical(text: bytes) -> str:
    try:
        dataset = ox.Dataset(ox.parse(text, ox.RdfFormat.JSON_LD))
    except (SyntaxError, ValueError) as exc:
        raise NotJsonLd(f"the document is not JSON-LD this server can read: {exc}") from exc
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    serialized = ox.serialize(dataset, format=ox.RdfFormat.N_QUADS)
    assert serialized is not None
    lines = serialized.decode().splitlines(keepends=True)
    lines.sort()
    return "".join(lines)


def canonical_nquads_general(document: Json, public_url: str) -> str:
    """Any JSON-LD document naming only contexts held here (the slow, general way: ~5–7 ms a credential)."""
    return _canonical(msgspec.json.encode(_with_inline_contexts(document, public_url)))


def canonical_nquads(document: Json, public_url: str) -> str:
    """The canonical N-Quads of ``document``: expanded here when every term is one ``expansion`` knows
    (Guildhall's own credentials, ~4 times faster), else by pyoxigraph with the contexts inlined."""
    try:
        expanded = expand(document, public_url)
    except Unexpandable:
        return canonical_nquads_general(document, public_url)
    return _canonical(msgspec.json.encode(expanded))
