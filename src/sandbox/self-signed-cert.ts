import net from 'node:net';
import { generate } from 'selfsigned';

/** A throwaway TLS certificate for a local server, valid for its host name and loopback. */
export async function selfSignedCert(hostname: string): Promise<{ key: string; cert: string }> {
  const names = new Set([hostname, 'localhost', '127.0.0.1', '::1']);
  const altNames = [...names].map((n) => (net.isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n }));
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
