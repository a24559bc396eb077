// ehrbridge integration tests: the npm `soap` client (built from the served WSDL only) over
// HTTPS with the authentication modes of the vendor's "Security of webhooks".
// Usage: node secure_client.js WSDL_URL JSON_FILE [options]
//   --ca FILE            trust FILE (PEM) for the server's certificate (default: none trusted)
//   --insecure           do not verify the server's certificate (what the vendor does)
//   --cert FILE --key FILE  present a client certificate (mTLS)
//   --bearer TOKEN       Authorization: Bearer TOKEN (soap.BearerSecurity)
//   --basic USER:PASS    HTTP Basic (soap.BasicAuthSecurity)
//   --sign-key KEY       the vendor's signature: HMAC-SHA256 hex of the request body in ?sign=
//   --sign-bearer KEY    the same signature as the Bearer value
// JSON_FILE holds the request in the contract's form ({id, event, triggeredAt, data}).
// Prints one JSON line {"result": ..., "status": <HTTP status>}; exits 1 on any error (a SOAP
// Fault or an HTTP error included), printing the status and body to stderr.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const https = require('https');
const soap = require('soap');
const { HttpClient } = require('soap/lib/http');

function parseArgs(argv) {
  const o = { positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--ca') o.ca = next();
    else if (a === '--insecure') o.insecure = true;
    else if (a === '--cert') o.cert = next();
    else if (a === '--key') o.key = next();
    else if (a === '--bearer') o.bearer = next();
    else if (a === '--basic') o.basic = next();
    else if (a === '--sign-key') o.signKey = next();
    else if (a === '--sign-bearer') o.signBearer = next();
    else o.positional.push(a);
  }
  return o;
}

// An HttpClient that uses one TLS agent and signs request bodies as the vendor does.
class SecureHttpClient extends HttpClient {
  constructor(agent, opts) {
    super({});
    this.agent = agent;
    this.opts = opts;
    this.lastStatus = null;
  }

  request(rurl, data, callback, exheaders, exoptions) {
    const headers = { ...(exheaders || {}) };
    let url = rurl;
    if (typeof data === 'string' && data.length) {
      const key = this.opts.signKey || this.opts.signBearer;
      if (key) {
        const sig = crypto.createHmac('sha256', key).update(Buffer.from(data, 'utf8')).digest('hex');
        if (this.opts.signKey) url += (url.includes('?') ? '&' : '?') + 'sign=' + sig;
        else headers.Authorization = 'Bearer ' + sig;
      }
    }
    const options = { ...(exoptions || {}), httpsAgent: this.agent };
    return super.request(url, data, (err, res, body) => {
      if (res) this.lastStatus = res.status;
      callback(err, res, body);
    }, headers, options);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const [wsdlUrl, jsonFile] = o.positional;
  if (!wsdlUrl || !jsonFile) {
    console.error('usage: node secure_client.js WSDL_URL JSON_FILE [options]');
    process.exit(2);
  }
  const agent = new https.Agent({
    ca: o.ca ? fs.readFileSync(o.ca) : undefined,
    cert: o.cert ? fs.readFileSync(o.cert) : undefined,
    key: o.key ? fs.readFileSync(o.key) : undefined,
    rejectUnauthorized: !o.insecure,
    keepAlive: false,
  });
  const httpClient = new SecureHttpClient(agent, o);
  const args = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  const client = await soap.createClientAsync(wsdlUrl, { httpClient, disableCache: true });
  if (o.bearer) client.setSecurity(new soap.BearerSecurity(o.bearer));
  if (o.basic) {
    const i = o.basic.indexOf(':');
    client.setSecurity(new soap.BasicAuthSecurity(o.basic.slice(0, i), o.basic.slice(i + 1)));
  }
  const port = client.EhrBridgeService.EhrBridgeSoap11Port;
  const result = await new Promise((resolve, reject) => {
    port.pushCandidate(args, (err, res) => (err ? reject(err) : resolve(res)));
  });
  process.stdout.write(JSON.stringify({ result, status: httpClient.lastStatus }) + '\n');
}

main().catch((err) => {
  const body = err && err.response && err.response.data;
  console.error(`error: ${err && err.message}`);
  if (err && err.response) console.error(`status: ${err.response.status}`);
  if (body) console.error(`body: ${typeof body === 'string' ? body : JSON.stringify(body)}`);
  process.exit(1);
});
