"""JSON-LD 1.1 expansion of the documents Guildhall writes, fast: the contexts are processed once and kept.

pyoxigraph's JSON-LD parser processes every context on every parse (~3 ms of the ~6 ms a credential costs);
expanded JSON-LD (no context) parses and canonicalises in ~1 ms. So the credentials and proof configurations
are expanded here, with context processing (the Context Processing algorithm's part that these contexts use)
done once per context URL list and kept, and pyoxigraph turns the expanded document into RDF.

What is handled: term definitions with ``@id``, ``@type`` (``@id``, ``@vocab``, a datatype), ``@container``
``@set`` / ``@list``, type-scoped contexts (not propagated) and property-scoped contexts, ``@vocab``, compact
IRIs, keyword aliases, ``@protected``. Anything else (``@graph`` / ``@index`` / ``@language`` containers,
``@json``, ``@reverse``, ``@nest``, embedded contexts, a default language or base, a term that would be
dropped, a protected term redefined differently, a relative IRI) raises ``Unexpandable`` and the caller takes
the general way (pyoxigraph with the contexts inlined), which is always right. A test checks that both ways
give the same canonical form for every kind of credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from domain.credentials.data_integrity import contexts

Json = dict[str, Any]
_KEYWORDS = frozenset(
    "@base @container @context @direction @graph @id @import @included @index @json @language @list @nest "
    "@none @prefix @propagate @protected @reverse @set @type @value @version @vocab".split()
)


class Unexpandable(ValueError):
    """The document uses something this expansion does not handle: take the general way."""


@dataclass(frozen=True)
class Term:
    iri: str
    type: str | None = None
    container: frozenset[str] = frozenset()
    scoped: Any = None  # a term's own context (raw), applied where the term is a type or a property
    protected: bool = False

    def same_as(self, other: Term) -> bool:
        return (self.iri, self.type, self.container, _key(self.scoped)) == (
            other.iri,
            other.type,
            other.container,
            _key(other.scoped),
        )


def _key(value: Any) -> bytes:
    return msgspec.json.encode(value, order="sorted")


@dataclass
class Context:
    terms: dict[str, Term] = field(default_factory=dict)
    vocab: str | None = None
    previous: Context | None = None  # set by a type-scoped context: reverted to inside nested nodes
    derived: dict[tuple[str, str], Context] = field(default_factory=dict, repr=False)

    def copy(self) -> Context:
        return Context(dict(self.terms), self.vocab, self.previous)

    def with_scoped(self, kind: str, name: str, local: Any) -> Context:
        """This context with a term's scoped context applied (kept: contexts never change)."""
        key = (kind, name)
        found = self.derived.get(key)
        if found is None:
            found = _process(self, local, override_protected=kind == "property", propagate=kind != "type")
            self.derived[key] = found
        return found


def _process(active: Context, local: Any, *, override_protected: bool = False, propagate: bool = True) -> Context:
    result = active.copy()
    if not propagate and result.previous is None:
        result.previous = active
    for item in local if isinstance(local, list) else [local]:
        if not isinstance(item, dict):
            raise Unexpandable("only inline context objects are processed here")
        for name in item:
            if name in ("@base", "@import", "@language", "@direction", "@propagate"):
                raise Unexpandable(f"{name} in a context")
        if "@vocab" in item:
            vocab = item["@vocab"]
            if not isinstance(vocab, str) or ":" not in vocab:
                raise Unexpandable("a relative or null @vocab")
            result.vocab = vocab
        protected = item.get("@protected") is True
        defined: dict[str, bool] = {}
        for term in item:
            if term not in ("@version", "@protected", "@vocab"):
                _define(result, item, term, defined, protected, override_protected)
    return result


def _definition(term: str, value: Any) -> Json:
    definition = {"@id": value} if isinstance(value, str) else value
    if not isinstance(definition, dict):
        raise Unexpandable(f"the term {term!r} has an invalid definition")
    for name in definition:
        if name not in ("@id", "@type", "@container", "@context", "@protected"):
            raise Unexpandable(f"{name} in the definition of {term!r}")
    return definition


def _define(active: Context, local: Json, term: str, defined: dict[str, bool], protected: bool, override: bool) -> None:
    if defined.get(term):
        return
    if term in defined:
        raise Unexpandable("a cyclic IRI mapping")
    defined[term] = False
    value = local[term]
    if value is None or term.startswith("@"):
        raise Unexpandable(f"the term {term!r} cannot be handled here")
    definition = _definition(term, value)
    expanded = _term_iri(active, local, term, definition.get("@id"), defined, protected, override)
    kind = definition.get("@type")
    if kind is not None:
        if not isinstance(kind, str):
            raise Unexpandable(f"the type of {term!r}")
        if kind not in ("@id", "@vocab", "@json", "@none"):
            kind = _iri_in(active, local, kind, defined, protected, override)
    container = definition.get("@container")
    containers = frozenset(container if isinstance(container, list) else [container] if container else [])
    new = Term(expanded, kind, containers, definition.get("@context"), definition.get("@protected", protected))
    previous = active.terms.get(term)
    if previous is not None and previous.protected and not override and not previous.same_as(new):
        raise Unexpandable(f"the protected term {term!r} is redefined")
    active.terms[term] = new
    defined[term] = True


def _term_iri(
    active: Context, local: Json, term: str, iri: Any, defined: dict[str, bool], protected: bool, override: bool
) -> str:
    if isinstance(iri, str) and iri in _KEYWORDS:
        if iri not in ("@id", "@type"):
            raise Unexpandable(f"{term!r} aliases {iri}")
        return iri
    if isinstance(iri, str):
        return _iri_in(active, local, iri, defined, protected, override)
    if iri is None and ":" in term:
        return _iri_in(active, local, term, defined, protected, override)
    if iri is None and active.vocab:
        return active.vocab + term
    raise Unexpandable(f"the term {term!r} has no IRI")


def _iri_in(active: Context, local: Json, value: str, defined: dict[str, bool], protected: bool, override: bool) -> str:
    """An IRI in a context being processed: terms and prefixes of the same context are defined first."""
    if value in local and value not in defined:
        _define(active, local, value, defined, protected, override)
    if ":" in value:
        prefix = value.split(":", 1)[0]
        if prefix in local and prefix not in defined:
            _define(active, local, prefix, defined, protected, override)
    return expand_iri(active, value, vocab=True)


def expand_iri(active: Context, value: str, *, vocab: bool) -> str:
    if value in _KEYWORDS:
        return value
    if vocab:
        term = active.terms.get(value)
        if term is not None:
            return term.iri
    if ":" in value:
        prefix, suffix = value.split(":", 1)
        if prefix == "_" or suffix.startswith("//"):
            return value
        term = active.terms.get(prefix)
        if term is not None and term.iri not in _KEYWORDS:
            return term.iri + suffix
        return value
    if vocab and active.vocab:
        return active.vocab + value
    raise Unexpandable(f"the relative IRI {value!r}")


_processed: dict[tuple[str, ...], Context] = {}
_PROCESSED_MAX = 64


def _document_context(urls: Any, public_url: str) -> Context:
    if isinstance(urls, str):
        urls = [urls]
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise Unexpandable("the document's @context is not a list of URLs")
    key = (public_url, *urls)
    found = _processed.get(key)
    if found is None:
        try:
            locals_ = [contexts.load(url, public_url)["@context"] for url in urls]
        except contexts.UnknownContext as exc:
            raise Unexpandable(str(exc)) from exc
        found = _process(Context(), locals_)
        if len(_processed) >= _PROCESSED_MAX:  # only lists of known URLs get here; a hostile variety is bounded
            _processed.clear()
        _processed[key] = found
    return found


def expand(document: Json, public_url: str) -> list[Any]:
    """The expanded form of ``document`` (its ``@context`` a list of context URLs held here)."""
    active = _document_context(document.get("@context"), public_url)
    return [_node(active, {k: v for k, v in document.items() if k != "@context"})]


def _alias(active: Context, key: str) -> str:
    """``@id`` or ``@type`` for a key that is (or aliases) one, the key itself for another keyword, else ""."""
    if key[:1] == "@":
        return key
    term = active.terms.get(key)
    return term.iri if term is not None and term.iri[:1] == "@" else ""


def _types(active: Context, node: Json) -> list[str]:
    types: list[str] = []
    for key, value in node.items():
        if _alias(active, key) == "@type":
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                raise Unexpandable("a non-string type")
            types.extend(values)
    return types


def _node(active: Context, node: Json) -> Json:
    if "@context" in node:
        raise Unexpandable("an embedded context")
    if active.previous is not None:
        active = active.previous
    type_scoped = active
    types = _types(active, node)
    for name in sorted(types):
        term = type_scoped.terms.get(name)
        if term is not None and term.scoped is not None:
            active = active.with_scoped("type", name, term.scoped)
    out: Json = {}
    for key, value in node.items():
        keyword = _alias(active, key)
        if keyword == "@id":
            if not isinstance(value, str):
                raise Unexpandable("a non-string @id")
            out["@id"] = expand_iri(active, value, vocab=False)
        elif keyword == "@type":
            out["@type"] = [expand_iri(type_scoped, v, vocab=True) for v in types]
        elif key.startswith("@"):
            raise Unexpandable(f"the keyword {key}")
        else:
            _property(active, key, value, out)
    return out


def _property(active: Context, key: str, value: Any, out: Json) -> None:
    term = active.terms.get(key)
    iri = term.iri if term is not None else expand_iri(active, key, vocab=True)
    if ":" not in iri or iri.startswith("@"):
        raise Unexpandable(f"the property {key!r} would be dropped")
    if value is None:
        return
    if term is not None and (term.container - {"@set", "@list"} or term.type in ("@json", "@none")):
        raise Unexpandable(f"the container or type of {key!r}")
    scalars = nodes = active
    if term is not None and term.scoped is not None:
        # A property's own context applies to its values: to a scalar in the context around it, to a node
        # in the context before any type-scoped one (which does not reach into nested nodes).
        scalars = active.with_scoped("property", key, term.scoped)
        nodes = (active.previous or active).with_scoped("property", key, term.scoped)
    items = value if isinstance(value, list) else [value]
    expanded = [_value(scalars, nodes, key, item) for item in items if item is not None]
    if term is not None and "@list" in term.container:
        expanded = [{"@list": expanded}]
    elif not expanded and not isinstance(value, list):
        return
    out.setdefault(iri, []).extend(expanded)


def _value(scalars: Context, nodes: Context, key: str, item: Any) -> Any:
    if isinstance(item, list):
        raise Unexpandable("a list of lists")
    if isinstance(item, dict):
        if any(k.startswith("@") and k not in ("@id", "@type") for k in item):
            raise Unexpandable("a value object or keyword")
        return _node(nodes, item)
    term = scalars.terms.get(key)
    kind = term.type if term is not None else None
    if isinstance(item, str) and kind in ("@id", "@vocab"):
        return {"@id": expand_iri(scalars, item, vocab=kind == "@vocab")}
    if kind is not None and kind not in ("@id", "@vocab"):
        return {"@value": item, "@type": kind}
    return {"@value": item}
