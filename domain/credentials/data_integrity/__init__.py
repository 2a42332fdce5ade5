"""W3C Verifiable Credential Data Integrity 1.0 proofs: ``eddsa-rdfc-2022`` (Ed25519 keys) and
``ecdsa-rdfc-2019`` (P-256 keys), over RDF Dataset Canonicalization (RDFC-1.0).

* ``contexts``: the JSON-LD contexts a credential may name, all held here (no network): the standard ones
  vendored in ``vendored/`` and Guildhall's own, built from the server's public URL.
* ``rdfc``: the canonical N-Quads of a JSON-LD document (pyoxigraph, Rust), with a fast expansion of the
  documents Guildhall writes itself.
* ``proofs``: making and checking one ``DataIntegrityProof``; a proof set is a list of them, each over the
  same document and verifiable alone.
* ``holder_binding``: a copy with ``credentialSubject.id`` bound to a holder's DID, every proof re-made.
* ``pool``: the process pool that makes proofs off the event loop.
"""
