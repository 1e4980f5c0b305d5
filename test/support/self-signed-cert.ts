// A throwaway self-signed certificate and key made by openssl (TLS registries, token signing,
// TLS probes in tests).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface SelfSignedCert {
  keyPath: string;
  certPath: string;
}

/** Writes key.pem and cert.pem into `dir` for `subject` (e.g. "/CN=127.0.0.1"), with an optional subjectAltName. */
export async function selfSignedCert(dir: string, subject: string, subjectAltName?: string): Promise<SelfSignedCert> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const san = subjectAltName ? ['-addext', `subjectAltName=${subjectAltName}`] : [];
  await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', subject, ...san]);
  return { keyPath, certPath };
}
