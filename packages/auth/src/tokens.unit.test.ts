import { describe, expect, it } from 'vitest';
import { generateOpaqueToken, hashOpaqueToken } from './tokens';

describe('opaque tokens', () => {
  it('are 256-bit base64url secrets, each different, none starting with "-" (read as an option when pasted into a command)', () => {
    // One in 64 random draws starts with "-": 2,000 of them would show it all but certainly.
    const tokens = Array.from({ length: 2_000 }, generateOpaqueToken);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
      expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    }
  });

  it('are stored as a SHA-256 hash that differs from the token and is the same for the same token', () => {
    const token = generateOpaqueToken();
    expect(hashOpaqueToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashOpaqueToken(token)).toBe(hashOpaqueToken(token));
    expect(hashOpaqueToken(token)).not.toContain(token);
  });
});
