// Bitstring Status List checks as independent verifiers run them, offline.
// Input: {"credential": <credential JSON>, "lists": {<statusListCredential URL>: <status list credential JSON>}}
// (the lists as the server publishes them; only those are served, no network).
// Output, per checker:
//  - "digitalbazaar": @digitalbazaar/vc-bitstring-status-list checkStatus: {verified, statuses: [{purpose, status}]}
//    (status true = the bit is set: revoked or suspended), or {error}.
//  - "verifierCore": the checker @digitalcredentials/verifier-core picks for the credential's status
//    (getCredentialStatusChecker: @digitalcredentials/vc-bitstring-status-list), run as verifier-core runs it:
//    {verified, statuses: [{purpose, valid}]} (valid false = revoked or suspended), or {error}.
// Both are run with verifyBitstringStatusListCredential false: they accept only Data Integrity proofs on the
// list credential, and "signedList" reports what each says when asked to verify the list's own proof.
import { checkStatus as dbCheckStatus } from '@digitalbazaar/vc-bitstring-status-list';
import { DataIntegrityProof } from '@digitalbazaar/data-integrity';
import { cryptosuite as eddsaRdfc2022 } from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import { getCredentialStatusChecker } from './node_modules/@digitalcredentials/verifier-core/dist/credentialStatus.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { credential, lists } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const documentLoader = async (url) => {
  if (!(url in lists)) throw new Error(`NotFoundError: not at hand: ${url}`);
  return { contextUrl: null, documentUrl: url, document: lists[url] };
};

const message = (error) => {
  const inner = (error?.cause?.errors ?? []).map((e) => e.message);
  return [error.message, ...inner].join('; ');
};

async function digitalbazaar(verifyList) {
  const result = await dbCheckStatus({
    credential,
    documentLoader,
    suite: new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 }),
    verifyBitstringStatusListCredential: verifyList,
    verifyMatchingIssuers: true,
  });
  if (result.error) return { verified: false, error: message(result.error) };
  const statuses = result.results.map((r) => ({ purpose: r.credentialStatus.statusPurpose, status: r.status }));
  return { verified: result.verified, statuses };
}

async function verifierCore(verifyList) {
  const checker = getCredentialStatusChecker(credential);
  if (checker === null) return { error: 'verifier-core has no status checker for this credentialStatus' };
  const result = await checker({
    credential,
    documentLoader,
    suite: new DataIntegrityProof({ cryptosuite: eddsaRdfc2022 }),
    verifyBitstringStatusListCredential: verifyList,
    verifyMatchingIssuers: false, // as verifier-core calls it
  });
  if (result.error) return { verified: false, error: message(result.error) };
  const statuses = result.results.map((r) => ({ purpose: r.credentialStatus.statusPurpose, valid: r.verified }));
  return { verified: result.verified, statuses };
}

const out = {
  digitalbazaar: await digitalbazaar(false),
  verifierCore: await verifierCore(false),
  signedList: { digitalbazaar: await digitalbazaar(true), verifierCore: await verifierCore(true) },
};
process.stdout.write(JSON.stringify(out));
