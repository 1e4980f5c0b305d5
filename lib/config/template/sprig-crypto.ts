// sprig's hashes, random strings and uuid (crypto.go); certificate/key generators and other
// functions tsbuild does not implement fail with a clear error when called.
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { fixed, type TemplateFunc } from './func-types.js';
import { FuncError } from './template-error.js';

/** hash/adler32 */
export function adler32(s: string): number {
  let a = 1;
  let b = 0;
  for (const byte of Buffer.from(s, 'utf8')) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function randomFrom(alphabet: string, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
let ASCII = '';
for (let c = 32; c < 127; c++) ASCII += String.fromCharCode(c);

const NOT_IMPLEMENTED = [
  'bcrypt',
  'htpasswd',
  'genPrivateKey',
  'derivePassword',
  'buildCustomCert',
  'genCA',
  'genCAWithKey',
  'genSelfSignedCert',
  'genSelfSignedCertWithKey',
  'genSignedCert',
  'genSignedCertWithKey',
  'encryptAES',
  'decryptAES',
  'getHostByName',
];

export function cryptoFunctions(): Record<string, TemplateFunc> {
  const fns: Record<string, TemplateFunc> = {
    sha1sum: fixed(['string'], (s) => createHash('sha1').update(s, 'utf8').digest('hex')),
    sha256sum: fixed(['string'], (s) => createHash('sha256').update(s, 'utf8').digest('hex')),
    adler32sum: fixed(['string'], (s) => String(adler32(s))),
    uuidv4: fixed([], () => randomUUID()),
    randAlphaNum: fixed(['int'], (n) => randomFrom(ALPHA + DIGITS, n)),
    randAlpha: fixed(['int'], (n) => randomFrom(ALPHA, n)),
    randNumeric: fixed(['int'], (n) => randomFrom(DIGITS, n)),
    randAscii: fixed(['int'], (n) => randomFrom(ASCII, n)),
    randBytes: fixed(['int'], (n) => randomBytes(Math.max(n, 0)).toString('base64')),
    shuffle: fixed(['string'], (s) => {
      const r = [...s];
      for (let i = r.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [r[i], r[j]] = [r[j]!, r[i]!];
      }
      return r.join('');
    }),
  };
  for (const name of NOT_IMPLEMENTED) {
    fns[name] = {
      params: [],
      variadic: 'any',
      fn: () => {
        throw new FuncError(`function ${JSON.stringify(name)} is not implemented by tsbuild`);
      },
    };
  }
  return fns;
}
