// The credential checks @digitalbazaar/vc and @digitalcredentials/vc (the VC library verifier-core runs) make
// after a proof verifies: context, type, issuer, subject, and validFrom / validUntil against now (their
// exported _checkCredential, which verifyCredential calls). Input: {"credential": <credential JSON>}.
// Output: {"digitalbazaar": {ok, error}, "verifierCore": {ok, error, log}} — verifierCore's log holds the
// "expiration" step verifier-core shows to wallet users.
import { _checkCredential as dbCheck } from '@digitalbazaar/vc';
import { _checkCredential as dcCheck } from './node_modules/@digitalcredentials/vc/lib/index.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { credential } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

function run(check) {
  const log = [];
  try {
    check({ credential, log, mode: 'verify' });
    return { ok: true, error: null, log };
  } catch (error) {
    return { ok: false, error: error.message, log: error.log ?? log };
  }
}

process.stdout.write(JSON.stringify({ digitalbazaar: run(dbCheck), verifierCore: run(dcCheck) }));
