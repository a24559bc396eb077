// ehrbridge integration tests: a pushCandidate client made by the npm `soap` package from the
// served WSDL only. Usage: node client.js WSDL_URL JSON_FILE [--soap12]
// JSON_FILE holds the request in the contract's form ({id, event, triggeredAt, data}).
// Prints one JSON line: {"result": <the parsed pushCandidateResponse>, "port": ...,
// "request": {"contentType", "envelopeNs"}, "response": {"contentType", "envelopeNs"}};
// exits 1 on any error (also a SOAP Fault), printing what is known to stderr.
'use strict';

const fs = require('fs');
const soap = require('soap');

// The namespace of the Envelope element of an XML text, or null.
function envelopeNs(xml) {
  if (typeof xml !== 'string') return null;
  const m = /<(?:([\w.-]+):)?Envelope\b([^>]*)>/.exec(xml);
  if (!m) return null;
  const attr = m[1] ? `xmlns:${m[1]}` : 'xmlns';
  const a = new RegExp(`\\s${attr.replace('.', '\\.')}\\s*=\\s*["']([^"']*)["']`).exec(m[2]);
  return a ? a[1] : null;
}

async function main() {
  const [wsdlUrl, jsonFile, ...flags] = process.argv.slice(2);
  if (!wsdlUrl || !jsonFile) {
    console.error('usage: node client.js WSDL_URL JSON_FILE [--soap12]');
    process.exit(2);
  }
  const soap12 = flags.includes('--soap12');
  const args = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  const portName = soap12 ? 'EhrBridgeSoap12Port' : 'EhrBridgeSoap11Port';
  const client = await soap.createClientAsync(wsdlUrl, {
    forceSoap12Headers: soap12,
    disableCache: true,
  });
  const port = client.EhrBridgeService && client.EhrBridgeService[portName];
  if (!port || typeof port.pushCandidate !== 'function') {
    throw new Error(`no operation pushCandidate on EhrBridgeService.${portName} in the WSDL`);
  }
  let rawResponse = null;
  const call = (a) => new Promise((resolve, reject) => {
    port.pushCandidate(a, (err, result, raw) => {
      rawResponse = raw;
      if (err) reject(err); else resolve(result);
    });
  });
  const result = await call(args);
  const reqHeaders = client.lastRequestHeaders || {};
  const resHeaders = client.lastResponseHeaders || {};
  const out = {
    result,
    port: portName,
    request: {
      contentType: reqHeaders['Content-Type'] || reqHeaders['content-type'] || null,
      envelopeNs: envelopeNs(client.lastRequest),
    },
    response: {
      contentType: resHeaders['content-type'] || resHeaders['Content-Type'] || null,
      envelopeNs: envelopeNs(rawResponse),
    },
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  const body = err && err.response && err.response.data;
  console.error(`error: ${err && err.message}`);
  if (err && err.response) console.error(`status: ${err.response.status}`);
  if (body) console.error(`body: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
  if (err && err.stack) console.error(err.stack);
  process.exit(1);
});
