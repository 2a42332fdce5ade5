"""SD-JWT VC (``dc+sd-jwt``, IETF draft-ietf-oauth-sd-jwt-vc) and the IETF Token Status List.

The form EU Digital Identity Wallets take: the learner's personal data (name, date of birth, results,
evidence) travels as selectively disclosable claims, the achievement and the awarding body in the clear, so
a holder can prove the achievement without revealing the rest. Its status is read from a Status List Token
(draft-ietf-oauth-status-list) that shares each credential's slot with the W3C Bitstring lists.

* ``disclosures``: SD-JWT mechanics (disclosures, digests, decoys-free ``_sd`` arrays), pure.
* ``claims``: which of a credential's facts go in the clear and which are disclosable, pure.
* ``type_metadata``: the ``vct`` of each achievement type and its Type Metadata document.
* ``token_status_list``: the 2-bit list, its encoding, and the signed ``statuslist+jwt``.
* ``issuance``: ``issue_sd_jwt_vc``, what the OpenID4VCI credential endpoint calls.
* ``issuer_metadata``: the ``/.well-known/jwt-vc-issuer`` document (the issuer's JWKS).
"""
