import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

/** The JWS algorithm of every token we sign. Verification accepts this one and nothing else. */
export const SIGNING_ALGORITHM = 'EdDSA';

export interface GeneratedSigningKey {
  kid: string;
  algorithm: typeof SIGNING_ALGORITHM;
  publicJwk: JWK;
  privateJwk: JWK;
}

export async function generateSigningKey(): Promise<GeneratedSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { crv: 'Ed25519', extractable: true });
  let kid: string;
  // Operators type a kid as an argument (`pnpm ops keys:revoke <kid>`): one starting with "-"
  // would be read as an option.
  do kid = randomBytes(12).toString('base64url');
  while (kid.startsWith('-'));
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SIGNING_ALGORITHM };
  return { kid, algorithm: SIGNING_ALGORITHM, publicJwk, privateJwk };
}

export function importPublicKey(jwk: JWK): Promise<CryptoKey> {
  return importJWK(jwk, SIGNING_ALGORITHM) as Promise<CryptoKey>;
}

export function importPrivateKey(jwk: JWK): Promise<CryptoKey> {
  return importJWK(jwk, SIGNING_ALGORITHM) as Promise<CryptoKey>;
}

/**
 * Derives a purpose-bound 256-bit key from the application secret (HKDF-SHA256), so the one
 * secret never serves two purposes directly.
 */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), `stm/${purpose}`, 32));
}

const VERSION = 'v1';

/** AES-256-GCM; the key id is bound as associated data so ciphertexts cannot be swapped between keys. */
export function encryptPrivateKey(privateJwk: JWK, kid: string, encryptionKey: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(privateJwk), 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
}

export function decryptPrivateKey(sealed: string, kid: string, encryptionKey: Buffer): JWK {
  const [version, iv, ciphertext, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !ciphertext || !tag) throw new Error(`Signing key ${kid} is not in a known format`);
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(kid, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as JWK;
  } catch (error) {
    throw new Error(`Signing key ${kid} cannot be decrypted: SECRET_KEY differs from the one that stored it`, {
      cause: error,
    });
  }
}

/**
 * Seals a small secret (a TOTP key) with AES-256-GCM; `context` (e.g. the user id) is bound as
 * associated data, so a sealed value copied to another row does not open there.
 */
export function sealSecret(plain: string, context: string, encryptionKey: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function openSecret(sealed: string, context: string, encryptionKey: Buffer): string {
  const [version, iv, ciphertext, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !ciphertext || !tag) throw new Error('A sealed secret is not in a known format');
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
