// ehrbridge integration tests: the vendor's "Data encryption" made with Node's crypto module,
// the way a Node webhook sender does it: AES-256-CBC, PKCS#7 padding, hex output.
// Usage: node encrypt.js encrypt KEY [IV] < plaintext   prints the ciphertext in hex
//        node encrypt.js decrypt KEY [IV] < hex          prints the plaintext
// KEY is 32 bytes of text or 64 hex digits, IV 16 bytes of text or 32 hex digits. Without IV a
// random one is made and written before the ciphertext (encrypt), or read from its first 16
// bytes (decrypt).
'use strict';

const crypto = require('crypto');

function material(text, n) {
  if (text.length === 2 * n && /^[0-9a-fA-F]+$/.test(text)) return Buffer.from(text, 'hex');
  const b = Buffer.from(text, 'utf8');
  if (b.length !== n) throw new Error(`expected ${n} bytes of text or ${2 * n} hex digits`);
  return b;
}

function main() {
  const [mode, keyText, ivText] = process.argv.slice(2);
  if (!['encrypt', 'decrypt'].includes(mode) || !keyText) {
    console.error('usage: node encrypt.js encrypt|decrypt KEY [IV] < input');
    process.exit(2);
  }
  const key = material(keyText, 32);
  const input = require('fs').readFileSync(0);
  if (mode === 'encrypt') {
    const iv = ivText ? material(ivText, 16) : crypto.randomBytes(16);
    const c = crypto.createCipheriv('aes-256-cbc', key, iv);
    const ct = Buffer.concat([c.update(input), c.final()]);
    process.stdout.write((ivText ? ct : Buffer.concat([iv, ct])).toString('hex'));
  } else {
    let bytes = Buffer.from(input.toString('utf8').trim(), 'hex');
    let iv;
    if (ivText) {
      iv = material(ivText, 16);
    } else {
      iv = bytes.subarray(0, 16);
      bytes = bytes.subarray(16);
    }
    const d = crypto.createDecipheriv('aes-256-cbc', key, iv);
    process.stdout.write(Buffer.concat([d.update(bytes), d.final()]));
  }
}

try {
  main();
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(1);
}
