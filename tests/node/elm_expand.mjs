// JSON-LD expansion of an ELM document in safe mode (jsonld.js): any term, type or value the contexts do not
// define is an error instead of being dropped. Input: {"document": ..., "contexts": {url: context document}};
// only those contexts are served (no network). Output: {"ok": true, "expanded": [...]} or {"ok": false, "error"}.
import jsonld from 'jsonld';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const { document, contexts } = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const documentLoader = async (url) => {
  if (!(url in contexts)) throw new Error(`context not at hand: ${url}`);
  return { contextUrl: null, documentUrl: url, document: contexts[url] };
};

try {
  const expanded = await jsonld.expand(document, { documentLoader, safe: true });
  process.stdout.write(JSON.stringify({ ok: true, expanded }));
} catch (error) {
  const details = error.details ? JSON.stringify(error.details).slice(0, 2000) : '';
  process.stdout.write(JSON.stringify({ ok: false, error: `${error.name}: ${error.message} ${details}` }));
}
