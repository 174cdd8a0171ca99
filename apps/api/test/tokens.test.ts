import { decryptPrivateKey, deriveKey, signAccessToken } from '@stm/auth';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, json, PASSWORD, rejection, rest, signUp, signUpAdmin, TEST_SECRET, type TestApp, trpc } from './helpers';

let t: TestApp;
let baseUrl: string;
const ISSUER = 'secure-task-manager';
const AUDIENCE = 'secure-task-manager-api';

beforeAll(async () => {
  t = await createTestApp();
  baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => t.close());

function claimsOf(token: string) {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}
function headerOf(token: string) {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
}

async function expectRefused(token: string) {
  const response = await rest(t.app, 'GET', '/api/auth/me', { token });
  expect(response.statusCode).toBe(401);
  expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  expect(json(response).data.reason).toBe('INVALID_TOKEN');
}

describe('access tokens', () => {
  it('carry exactly the documented claims, typed at+jwt, with a kid, in UTC seconds', async () => {
    const { accessToken, user } = await signUp(t, 'claims_user');
    const header = headerOf(accessToken);
    expect(header).toEqual({ alg: 'EdDSA', kid: t.app.services.keyring.currentKid, typ: 'at+jwt' });
    const claims = claimsOf(accessToken);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'role', 'sid', 'sub']);
    expect(claims).toMatchObject({ sub: String(user.id), role: 'user', iss: ISSUER, aud: AUDIENCE });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('verify in a separate plain jose client through the published JWKS, with no shared secret', async () => {
    const { accessToken } = await signUp(t, 'jwks_user');
    const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: ['EdDSA'],
    });
    expect(payload.sub).toBeDefined();
    expect(protectedHeader.kid).toBe(t.app.services.keyring.currentKid);
    const set = (await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    for (const key of set.keys) {
      expect(key).not.toHaveProperty('d');
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
  });
});

describe('forged and stale tokens are refused', () => {
  let victim: { userId: number; sessionId: string };
  let attackerToken: string;

  beforeAll(async () => {
    const signed = await signUp(t, 'forgery_target');
    const claims = claimsOf(signed.accessToken);
    victim = { userId: Number(claims.sub), sessionId: claims.sid as string };
    attackerToken = (await signUp(t, 'forger')).accessToken;
  });

  const validClaims = () => ({ role: 'admin', sid: victim.sessionId });

  it('alg "none"', async () => {
    const token = new UnsecuredJWT(validClaims())
      .setSubject(String(victim.userId))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('10m')
      .setJti('x')
      .encode();
    await expectRefused(token);
    // Also with a kid and at+jwt type in the header.
    const [, payload] = token.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: t.app.services.keyring.currentKid })).toString('base64url');
    await expectRefused(`${header}.${payload}.`);
  });

  it('HS256 signed with the public key as the secret (algorithm confusion)', async () => {
    const publicJwk = t.app.services.keyring.jwks().keys[0]!;
    for (const secret of [JSON.stringify(publicJwk), String(publicJwk.x), Buffer.from(String(publicJwk.x), 'base64url')]) {
      const token = await new SignJWT(validClaims())
        .setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid, typ: 'at+jwt' })
        .setSubject(String(victim.userId))
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('10m')
        .setJti('x')
        .sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : new Uint8Array(secret));
      await expectRefused(token);
    }
  });

  it('signed by a key we do not know, under an unknown or a real kid', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    for (const kid of ['unknown-kid', t.app.services.keyring.currentKid!]) {
      const token = await new SignJWT(validClaims())
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' })
        .setSubject(String(victim.userId))
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('10m')
        .setJti('x')
        .sign(privateKey);
      await expectRefused(token);
    }
  });

  it('with a public key embedded in the header (jwk / jku injection)', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const token = await new SignJWT(validClaims())
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', jwk: await exportJWK(publicKey), jku: 'http://127.0.0.1:1/jwks' })
      .setSubject(String(victim.userId))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('10m')
      .setJti('x')
      .sign(privateKey);
    await expectRefused(token);
  });

  it('with a tampered payload (role raised to admin)', async () => {
    const [header, payload, signature] = attackerToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const raised = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    await expectRefused(`${header}.${raised}.${signature}`);
    const swapped = Buffer.from(JSON.stringify({ ...claims, sub: String(victim.userId) })).toString('base64url');
    await expectRefused(`${header}.${swapped}.${signature}`);
  });

  it('with the wrong issuer, audience, type, or times, even when signed by our key', async () => {
    const key = await t.app.services.keyring.signingKey();
    const subject = { userId: victim.userId, role: 'user' as const, sessionId: victim.sessionId };
    const base = { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 600 };
    await expectRefused((await signAccessToken(key, subject, { ...base, issuer: 'someone-else' })).token);
    await expectRefused((await signAccessToken(key, subject, { ...base, audience: 'another-api' })).token);
    // Expired an hour ago, and not valid for another hour.
    await expectRefused((await signAccessToken(key, subject, { ...base, ttlSeconds: 60, now: Date.now() - 3_600_000 })).token);
    await expectRefused((await signAccessToken(key, subject, { ...base, now: Date.now() + 3_600_000 })).token);

    for (const typ of [undefined, 'JWT', 'refresh+jwt']) {
      const token = await new SignJWT({ role: 'user', sid: victim.sessionId })
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, ...(typ ? { typ } : {}) })
        .setSubject(String(victim.userId))
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('10m')
        .setJti('x')
        .sign(key.privateKey);
      await expectRefused(token);
    }
  });

  it('signed by our key for a session that is not the subject’s, or does not exist', async () => {
    const key = await t.app.services.keyring.signingKey();
    const base = { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 600 };
    const attackerClaims = claimsOf(attackerToken);
    const crossed = await signAccessToken(key, { userId: victim.userId, role: 'user', sessionId: attackerClaims.sid as string }, base);
    await expectRefused(crossed.token);
    const unknownSession = await signAccessToken(key, { userId: victim.userId, role: 'user', sessionId: '00000000-0000-4000-8000-000000000000' }, base);
    await expectRefused(unknownSession.token);
  });

  it('an opaque refresh token presented as an access token', async () => {
    const { refreshToken } = await signUp(t, 'refresh_as_access');
    await expectRefused(refreshToken);
  });
});

describe('a refused access token', () => {
  /** The 401 of one token over REST and over tRPC (over HTTP), without the parts that name the path. */
  async function refusalsOf(token: string) {
    const overRest = await rest(t.app, 'GET', '/api/auth/me', { token });
    const overTrpc = await trpc(t.app, 'query', 'auth.me', undefined, { token });
    expect(overRest.statusCode).toBe(401);
    expect(overTrpc.statusCode).toBe(401);
    const { path: _restPath, ...restData } = json(overRest).data;
    const { path: _trpcPath, ...trpcData } = json(overTrpc).error.data;
    return { rest: { ...json(overRest), data: restData }, trpc: { ...json(overTrpc).error, data: trpcData } };
  }

  it('says only "expired" or "invalid_token", whichever check failed, over REST and tRPC', async () => {
    const admin = await signUpAdmin(t, 'refusal_admin');
    const user = await signUp(t, 'refusal_user');
    const key = await t.app.services.keyring.signingKey();
    const claims = claimsOf(user.accessToken);
    const subject = { userId: Number(claims.sub), role: 'user' as const, sessionId: claims.sid as string };
    const base = { issuer: ISSUER, audience: AUDIENCE, ttlSeconds: 600 };

    const expired = await refusalsOf((await signAccessToken(key, subject, { ...base, ttlSeconds: 60, now: Date.now() - 3_600_000 })).token);
    expect(expired.rest.data.details).toEqual({ problem: 'expired' });
    expect(expired.trpc.data.details).toEqual({ problem: 'expired' });

    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const foreignKey = await new SignJWT({ role: 'user', sid: subject.sessionId })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
      .setSubject(String(subject.userId))
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('10m')
      .setJti('x')
      .sign(privateKey);
    const [header, , signature] = user.accessToken.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${signature}`;
    const loggedOut = await signUp(t, 'refusal_out');
    await t.caller(loggedOut.accessToken).auth.logout();
    const revokedKeyUser = await signUp(t, 'refusal_key');
    const invalid = [
      foreignKey,
      tampered,
      'not.a.jwt',
      (await signAccessToken(key, subject, { ...base, issuer: 'someone-else' })).token,
      (await signAccessToken(key, subject, { ...base, now: Date.now() + 3_600_000 })).token,
      (await signAccessToken(key, { ...subject, sessionId: '00000000-0000-4000-8000-000000000000' }, base)).token,
      loggedOut.accessToken,
    ];
    const answers = [];
    for (const token of invalid) answers.push(await refusalsOf(token));
    // A revoked key last: it revokes every token signed so far.
    await t.caller(admin.accessToken).admin.keys.revoke({ kid: headerOf(revokedKeyUser.accessToken).kid as string });
    answers.push(await refusalsOf(revokedKeyUser.accessToken));
    for (const answer of answers) {
      expect(answer.rest).toEqual(answers[0]!.rest);
      expect(answer.trpc).toEqual(answers[0]!.trpc);
    }
    expect(answers[0]!.rest).toEqual({
      type: 'urn:stm:problem:invalid-token',
      title: 'Unauthorized',
      status: 401,
      detail: 'The access token is invalid',
      instance: '/api/auth/me',
      reason: 'INVALID_TOKEN',
      details: { problem: 'invalid_token' },
      message: 'The access token is invalid',
      code: 'UNAUTHORIZED',
      data: { code: 'UNAUTHORIZED', httpStatus: 401, reason: 'INVALID_TOKEN', details: { problem: 'invalid_token' } },
    });
    expect(answers[0]!.trpc.data.details).toEqual({ problem: 'invalid_token' });
  });

  it('is one signed by our key with a lifetime longer than any access token may have', async () => {
    const user = await signUp(t, 'long_lived');
    const key = await t.app.services.keyring.signingKey();
    const claims = claimsOf(user.accessToken);
    const subject = { userId: Number(claims.sub), role: 'user' as const, sessionId: claims.sid as string };
    const base = { issuer: ISSUER, audience: AUDIENCE };
    // The longest the setting allows is a day: that is accepted, a second more is not.
    const longest = (await signAccessToken(key, subject, { ...base, ttlSeconds: 86_400 })).token;
    expect((await rest(t.app, 'GET', '/api/auth/me', { token: longest })).statusCode).toBe(200);
    for (const ttlSeconds of [86_401, 10 * 365 * 86_400]) {
      const token = (await signAccessToken(key, subject, { ...base, ttlSeconds })).token;
      const refused = await refusalsOf(token);
      expect(refused.rest.data).toMatchObject({ reason: 'INVALID_TOKEN', details: { problem: 'invalid_token' } });
      expect(refused.trpc.data).toMatchObject({ reason: 'INVALID_TOKEN', details: { problem: 'invalid_token' } });
      expect(await rejection(t.caller(token).auth.me())).toMatchObject({ code: 'UNAUTHORIZED', reason: 'INVALID_TOKEN' });
    }
  });
});

describe('signing key rotation and revocation', () => {
  it('rotation keeps tokens of the previous key valid; revoking a key kills its tokens at once', async () => {
    const admin = await signUpAdmin(t, 'rotating_admin');
    const before = await signUp(t, 'before_rotation');
    const oldKid = headerOf(before.accessToken).kid as string;

    const rotated = await t.caller(admin.accessToken).admin.keys.rotate();
    expect(rotated.previousKid).toBe(oldKid);
    expect(rotated.kid).not.toBe(oldKid);
    // Old token still works (and is served from the verified-token cache after the first call).
    await expect(t.caller(before.accessToken).auth.me()).resolves.toBeTruthy();
    await expect(t.caller(before.accessToken).auth.me()).resolves.toBeTruthy();

    const after = await t.caller().auth.login({ username: 'before_rotation', password: 'a long enough passphrase' });
    expect(headerOf(after.access_token).kid).toBe(rotated.kid);
    const jwks = json(await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
    expect(jwks.keys.map((k: { kid: string }) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort());

    const revoked = await rest(t.app, 'POST', `/api/admin/keys/${oldKid}/revoke`, { token: admin.accessToken });
    // The admin's own token was signed by the old key too: revocation is total.
    expect(revoked.statusCode).toBe(200);
    expect(json(revoked)).toEqual({ kid: oldKid, newKid: null });
    await expectRefused(before.accessToken);
    await expectRefused(admin.accessToken);
    await expect(t.caller(after.access_token).auth.me()).resolves.toBeTruthy();
    const jwksAfter = json(await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }));
    expect(jwksAfter.keys.map((k: { kid: string }) => k.kid)).toEqual([rotated.kid]);
  });

  it('revoking the current key creates a new one, and sign-in keeps working', async () => {
    const admin = await signUpAdmin(t, 'revoking_admin');
    const currentKid = t.app.services.keyring.currentKid!;
    const result = await t.caller(admin.accessToken).admin.keys.revoke({ kid: currentKid });
    expect(result.newKid).toEqual(expect.any(String));
    expect(t.app.services.keyring.currentKid).toBe(result.newKid);
    await expectRefused(admin.accessToken);
    const again = await t.caller().auth.login({ username: 'revoking_admin', password: 'a long enough passphrase' });
    await expect(t.caller(again.access_token).admin.keys.list()).resolves.toBeTruthy();
  });

  it('a key revoked by another instance (straight in the database) stops its tokens on the next request', async () => {
    const user = await signUp(t, 'remote_revocation');
    await expect(t.caller(user.accessToken).auth.me()).resolves.toBeTruthy();
    await t.app.services.database.db
      .updateTable('signing_keys')
      .set({ revoked_at: new Date() })
      .where('kid', '=', headerOf(user.accessToken).kid as string)
      .execute();
    expect(await rejection(t.caller(user.accessToken).auth.me())).toMatchObject({ code: 'UNAUTHORIZED' });
    // With its current key gone, the next sign-in makes a new one instead of failing.
    await t.app.services.keyring.reload();
    const again = await t.caller().auth.login({ username: 'remote_revocation', password: 'a long enough passphrase' });
    expect(headerOf(again.access_token).kid).not.toBe(headerOf(user.accessToken).kid);
    await expect(t.caller(again.access_token).auth.me()).resolves.toBeTruthy();
  });

  it('an instance that has not polled yet never signs with a key another instance rotated out or revoked', async () => {
    // A second instance on the same database that would not poll for an hour.
    const other = await createTestApp({ SETTINGS_REFRESH_MS: '3600000' }, { database: t.database });
    try {
      const admin = await signUpAdmin(t, 'two_instance_admin');
      await signUp(t, 'two_instance_user');
      const signIn = async () => (await other.caller().auth.login({ username: 'two_instance_user', password: PASSWORD })).access_token;
      expect(headerOf(await signIn()).kid).toBe(t.app.services.keyring.currentKid);

      const rotated = await t.caller(admin.accessToken).admin.keys.rotate();
      expect(headerOf(await signIn()).kid).toBe(rotated.kid);

      const revoked = await t.caller(admin.accessToken).admin.keys.revoke({ kid: rotated.kid });
      const token = await signIn();
      expect(headerOf(token).kid).toBe(revoked.newKid);
      // Works on both instances at once.
      expect((await rest(other.app, 'GET', '/api/auth/me', { token })).statusCode).toBe(200);
      expect((await rest(t.app, 'GET', '/api/auth/me', { token })).statusCode).toBe(200);
      // A refresh on the lagging instance too.
      const { refresh_token } = await other.caller().auth.login({ username: 'two_instance_user', password: PASSWORD });
      await t
        .caller(admin.accessToken)
        .admin.keys.rotate()
        .catch(() => undefined);
      const newest = t.app.services.keyring.currentKid;
      const refreshed = await other.caller().auth.refresh({ refresh_token: refresh_token });
      expect(headerOf(refreshed.access_token).kid).toBe(newest);
    } finally {
      await other.close();
    }
  });

  it('a retired key leaves the JWKS once every token it can have signed has expired', async () => {
    const admin = await signUpAdmin(t, 'jwks_retire_admin');
    const { kid: current, previousKid } = await t.caller(admin.accessToken).admin.keys.rotate();
    const kids = async () => (json(await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).keys as { kid: string }[]).map((key) => key.kid);
    expect(await kids()).toEqual(expect.arrayContaining([current, previousKid]));
    // A day (the longest access token lifetime) and the clock tolerance later, in the database's terms.
    await t.database.db
      .updateTable('signing_keys')
      .set({ retired_at: new Date(Date.now() - (86_400 + 6) * 1000) })
      .where('kid', '=', previousKid as string)
      .execute();
    await t.app.services.keyring.reload();
    expect(await kids()).not.toContain(previousKid);
    expect(await kids()).toContain(current);
    // Its tokens verify no more (the admin's own was signed by it); the key is still listed, as retired.
    expect(await rejection(t.caller(admin.accessToken).auth.me())).toMatchObject({ code: 'UNAUTHORIZED' });
    const again = await t.caller().auth.login({ username: 'jwks_retire_admin', password: PASSWORD });
    expect((await t.caller(again.access_token).admin.keys.list()).items.find((key) => key.kid === previousKid)).toMatchObject({ status: 'retired' });
  });

  it('revoking an unknown key answers 404', async () => {
    const admin = await signUpAdmin(t, 'unknown_key_admin');
    const response = await rest(t.app, 'POST', '/api/admin/keys/no-such-kid/revoke', { token: admin.accessToken });
    expect(response.statusCode).toBe(404);
  });

  // U+0000 reached PostgreSQL, which cannot hold it in text, and answered 500.
  it('refuses a kid with U+0000 with 400', async () => {
    const admin = await signUpAdmin(t, 'nul_kid_admin');
    const overTrpc = await trpc(t.app, 'mutation', 'admin.keys.revoke', { kid: 'k\u0000' }, { token: admin.accessToken });
    expect(overTrpc.statusCode).toBe(400);
    expect(json(overTrpc).error.data.fieldErrors.kid).toEqual(['Must not contain the character U+0000']);
    // The REST bridge passes path parameters on undecoded: "k%00" is simply no key.
    const overRest = await rest(t.app, 'POST', '/api/admin/keys/k%00/revoke', { token: admin.accessToken });
    expect(overRest.statusCode).toBe(404);
  });
});

describe('signing keys at rest', () => {
  it('are stored only encrypted (AES-256-GCM under a key derived from SECRET_KEY), each bound to its kid', async () => {
    const admin = await signUpAdmin(t, 'at_rest_admin');
    await t.caller(admin.accessToken).admin.keys.rotate();
    const rows = await t.database.db.selectFrom('signing_keys').select(['kid', 'public_jwk', 'private_key']).execute();
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const encryptionKey = deriveKey(TEST_SECRET, 'signing-keys');
    for (const row of rows) {
      const stored = JSON.stringify(row);
      expect(row.private_key).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
      expect(stored).not.toMatch(/BEGIN|PRIVATE KEY|"d"\s*:|\\"d\\"/);
      // What the stored text hides: the private scalar, in none of its usual spellings.
      const privateJwk = decryptPrivateKey(row.private_key, row.kid, encryptionKey);
      const d = Buffer.from(privateJwk.d as string, 'base64url');
      expect(d).toHaveLength(32);
      for (const spelling of [d.toString('base64url'), d.toString('base64'), d.toString('hex')]) expect(stored).not.toContain(spelling);
      const publicJwk = typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk;
      expect(publicJwk).not.toHaveProperty('d');
      // Another secret, or the ciphertext moved to another key id, decrypts nothing.
      expect(() => decryptPrivateKey(row.private_key, row.kid, deriveKey(`${TEST_SECRET}-other`, 'signing-keys'))).toThrow(/cannot be decrypted/);
      expect(() => decryptPrivateKey(row.private_key, `${row.kid}x`, encryptionKey)).toThrow(/cannot be decrypted/);
    }
  });
});
