"""VC-API exchanges that deliver a learner's credential into the Digital Credentials Consortium's Learner
Credential Wallet (LCW): the only way that wallet receives credentials.

* ``invitations``: the exchange invitation (``{"credentialRequestOrigin", "protocols": {"vcapi": url}}``) as
  the deep link and QR code LCW opens (``https://lcw.app/request?request=…``, ``dccrequest://request?…``).
* ``didauth``: checking the wallet's DIDAuth presentation (Ed25519Signature2020 or eddsa-rdfc-2022 by its
  did:key, the exchange's challenge and domain): real canonicalisation and signature checks, in the proof pool.
* ``exchanges``: creating an exchange (the learner), answering the wallet's first POST with a
  ``verifiablePresentationRequest`` and its second with the credential bound to the wallet's DID
  (``data_integrity.holder_binding``), single use and expiring.
"""
