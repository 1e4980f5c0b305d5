// Does host:port speak TLS? Docker's rule for loopback and --insecure-registry hosts is https when
// the server speaks it, else plain http, so every pull or push to such a registry asks once.
//
// The probe writes a ClientHello over a plain TCP socket and looks at the first byte of the answer:
// a TLS server answers with a handshake record (its ServerHello) or an alert record, anything else
// (an HTTP server's "400 Bad Request", a close, an error) is not TLS. No TLS context is made: a
// handshake through node:tls (loading the module, an OpenSSL context, key exchange) cost ~15 ms of
// CPU per command against a plain-http local registry, ~8% of a push of mounted blobs. Nothing is
// verified here; the real request does that and reports certificate problems with their hint.
import { connect } from 'node:net';
import { abortedError } from './retry-policy.js';

const TLS_HANDSHAKE = 0x16;
const TLS_ALERT = 0x15;

/** A TLS 1.2 ClientHello (1.3 servers answer it too, with their ServerHello or an alert); SNI when the host is a name. */
function clientHello(serverName?: string): Buffer {
  const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
  const ext = (type: number, body: number[]): number[] => [...u16(type), ...u16(body.length), ...body];
  const list16 = (items: number[]): number[] => [...u16(items.length * 2), ...items.flatMap(u16)];
  const extensions = [
    ...(serverName
      ? ext(
          0x0000,
          (() => {
            const name = [...Buffer.from(serverName, 'ascii')];
            return [...u16(name.length + 3), 0x00, ...u16(name.length), ...name];
          })(),
        )
      : []),
    // supported_groups: x25519, secp256r1, secp384r1; ec_point_formats: uncompressed
    ...ext(0x000a, list16([0x001d, 0x0017, 0x0018])),
    ...ext(0x000b, [0x01, 0x00]),
    // signature_algorithms: ecdsa/rsa-pss/rsa with sha256/384/512
    ...ext(0x000d, list16([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601])),
  ];
  // ECDHE (ECDSA/RSA) with AES-GCM and ChaCha20, then plain RSA AES-GCM/CBC.
  const ciphers = list16([0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009c, 0x009d, 0x002f, 0x0035]);
  const body = [0x03, 0x03, ...new Array<number>(32).fill(0x2a), 0x00, ...ciphers, 0x01, 0x00, ...u16(extensions.length), ...extensions];
  const handshake = [0x01, 0x00, ...u16(body.length), ...body];
  return Buffer.from([TLS_HANDSHAKE, 0x03, 0x01, ...u16(handshake.length), ...handshake]);
}

export function speaksTls(hostPort: string, signal: AbortSignal | undefined, timeoutMs = 5000): Promise<boolean> {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  const host = (m?.[1] ?? hostPort).replace(/^\[|\]$/g, '');
  const port = Number(m?.[2] ?? 443);
  const isName = /[a-z]/i.test(host) && !host.includes(':');
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const socket = connect({ host, port });
    const done = (result: boolean | Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onAbort = (): void => done(abortedError(signal!));
    const timer = setTimeout(() => done(false), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => socket.write(clientHello(isName ? host : undefined)));
    socket.once('data', (d: Buffer) => done((d[0] === TLS_HANDSHAKE || d[0] === TLS_ALERT) && d[1] === 0x03));
    socket.once('end', () => done(false));
    socket.once('error', () => done(false));
  });
}
