// Runs a VC-API exchange as the Learner Credential Wallet does (app/lib/exchanges.ts, composeVp.ts in
// openwallet-foundation-labs/learner-credential-wallet): POST {} to the exchange URL (the request's
// protocols.vcapi), read the verifiablePresentationRequest (a DIDAuthentication query with challenge and
// domain), make a did:key (Ed25519), sign a presentation holding no credential with Ed25519Signature2020
// (proofPurpose authentication, the request's challenge and domain) and POST {verifiablePresentation} to the
// same URL. The wallet's own libraries are @digitalcredentials forks of these Digital Bazaar packages.
//
// stdin: {"deepLink": "https://lcw.app/request?request=...", "mode": "normal" | "wrong-challenge" |
//         "replay" | "foreign-key" | "forged-key" | "tampered", "version": 1 | 2,
//         "suite": "Ed25519Signature2020" (LCW's, the default) | "eddsa-rdfc-2022"}
//   mode wrong-challenge signs another challenge; foreign-key signs with (and names) another DID's key;
//   forged-key signs with another key but names the holder's; tampered changes the presentation after
//   signing; replay runs the exchange and then sends the same presentation again.
// stdout: {"request": <the exchange invitation>, "vpr": ..., "holder": did, "status": http status,
//          "response": body, "replay": {"status", "response"}?}
import fs from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {driver} from '@digitalbazaar/did-method-key';
import {Ed25519VerificationKey2020} from '@digitalbazaar/ed25519-verification-key-2020';
import {Ed25519Signature2020, suiteContext} from '@digitalbazaar/ed25519-signature-2020';
import * as credentialsContext from '@digitalbazaar/credentials-context';
import * as dataIntegrityContext from '@digitalbazaar/data-integrity-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const mode = input.mode || 'normal';

// What LCW does with a scanned https://lcw.app/request?request=... (walletRequestApi.ts parseWalletApiUrl).
const link = new URL(input.deepLink);
const invitation = JSON.parse(decodeURI(link.searchParams.get('request')));
const exchangeUrl = invitation.protocols.vcapi;

const contexts = new Map();
for(const [url, doc] of credentialsContext.contexts) contexts.set(url, doc);
contexts.set(suiteContext.CONTEXT_URL, suiteContext.CONTEXT);
for(const [url, doc] of dataIntegrityContext.contexts) contexts.set(url, doc);
const didKeyDriver = driver();
didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519VerificationKey2020.from});

async function documentLoader(url) {
  if(contexts.has(url)) return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  if(url.startsWith('did:key:')) {
    const document = await didKeyDriver.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  throw new Error(`no network in this test: ${url}`);
}

async function post(body) {
  const response = await fetch(exchangeUrl, {
    method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)
  });
  const text = await response.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return {status: response.status, body: parsed};
}

async function newDid() {
  const verificationKeyPair = await Ed25519VerificationKey2020.generate();
  const {didDocument} = await didKeyDriver.fromKeyPair({verificationKeyPair});
  verificationKeyPair.id = `${didDocument.id}#${verificationKeyPair.fingerprint()}`;
  verificationKeyPair.controller = didDocument.id;
  return {did: didDocument.id, key: verificationKeyPair};
}

const started = await post({});
const vpr = started.body.verifiablePresentationRequest;
const holder = await newDid();
let signingKey = holder.key;
if(mode === 'foreign-key' || mode === 'forged-key') {
  const other = await newDid();
  signingKey = other.key;  // names the other DID's key: not a key of the holder's DID
  if(mode === 'forged-key') {  // signs with the other key but names the holder's own key
    signingKey.id = holder.key.id;
    signingKey.controller = holder.did;
  }
}
const presentation = vc.createPresentation({holder: holder.did, version: input.version || 1.0});
const challenge = mode === 'wrong-challenge' ? 'not-the-challenge' : vpr.challenge;
let suite = new Ed25519Signature2020({key: signingKey});
if(input.suite === 'eddsa-rdfc-2022') {  // the same key as a Multikey, a DataIntegrityProof
  const multikey = await Ed25519Multikey.from({
    id: signingKey.id, controller: signingKey.controller, type: 'Multikey',
    publicKeyMultibase: signingKey.publicKeyMultibase, secretKeyMultibase: signingKey.privateKeyMultibase
  });
  suite = new DataIntegrityProof({signer: multikey.signer(), cryptosuite: eddsaRdfc2022});
}
const verifiablePresentation = await vc.signPresentation({
  presentation, suite, challenge, domain: vpr.domain, documentLoader
});
if(mode === 'tampered') verifiablePresentation.id = 'urn:uuid:6a8f3ad4-6d35-4b8e-9d1c-6f0c2b3f1a77';
const answered = await post({verifiablePresentation});
const out = {
  invitation, startStatus: started.status, vpr, holder: holder.did, presentation: verifiablePresentation,
  status: answered.status, response: answered.body
};
if(mode === 'replay') {
  const again = await post({verifiablePresentation});
  out.replay = {status: again.status, response: again.body};
}
console.log(JSON.stringify(out));
