import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface Issued {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#8). */
  key: string;
}

export interface Authority extends Issued {
  /** Issues a leaf certificate for the given DNS names and IP addresses, signed by this CA. */
  issue(names: { dns?: string[]; ip?: string[] }): Issued;
}

// RSA keys from Node's crypto (node-forge's pure-JS generator takes seconds per key); forge builds and signs the certificates.
function keyPair(): { forgePrivate: forge.pki.rsa.PrivateKey; forgePublic: forge.pki.rsa.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    forgePrivate: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string),
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string) as forge.pki.rsa.PublicKey,
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

function certificate(
  commonName: string,
  subjectKey: forge.pki.rsa.PublicKey,
  issuer: { name: forge.pki.CertificateField[]; key: forge.pki.rsa.PrivateKey } | null,
  signingKey: forge.pki.rsa.PrivateKey,
  names: { dns?: string[]; ip?: string[] } | null,
): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = subjectKey;
  c.serialNumber = `01${randomBytes(8).toString('hex')}`;
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: commonName }];
  c.setSubject(subject);
  c.setIssuer(issuer ? issuer.name : subject);
  const isCa = names === null;
  const extensions: unknown[] = [
    { name: 'basicConstraints', cA: isCa, critical: true },
    isCa ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true } : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
  ];
  if (!isCa) {
    extensions.push({ name: 'extKeyUsage', serverAuth: true });
    extensions.push({
      name: 'subjectAltName',
      altNames: [...(names.dns ?? []).map((value) => ({ type: 2, value })), ...(names.ip ?? []).map((ip) => ({ type: 7, ip }))],
    });
  }
  c.setExtensions(extensions);
  c.sign(signingKey, forge.md.sha256.create());
  return c;
}

/** A fresh certificate authority, made by the test, trusted by nothing until configured. */
export function createAuthority(commonName = 'CAS test CA'): Authority {
  const k = keyPair();
  const ca = certificate(commonName, k.forgePublic, null, k.forgePrivate, null);
  return {
    cert: forge.pki.certificateToPem(ca),
    key: k.pem,
    issue(names) {
      const leaf = keyPair();
      const c = certificate(names.dns?.[0] ?? names.ip?.[0] ?? 'leaf', leaf.forgePublic, { name: ca.subject.attributes, key: k.forgePrivate }, k.forgePrivate, names);
      return { cert: forge.pki.certificateToPem(c), key: leaf.pem };
    },
  };
}

/** A leaf certificate signed by its own key: no CA vouches for it. */
export function selfSigned(names: { dns?: string[]; ip?: string[] }): Issued {
  const k = keyPair();
  const c = certificate(names.dns?.[0] ?? names.ip?.[0] ?? 'self', k.forgePublic, null, k.forgePrivate, names);
  return { cert: forge.pki.certificateToPem(c), key: k.pem };
}
