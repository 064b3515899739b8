import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidArgumentError } from '@tributary/messagepipeline';
import { OAuth2Client } from 'google-auth-library';

/** Who made a request, or why they may not. */
export type AuthResult =
  | { readonly ok: true; readonly principal: string }
  | {
      readonly ok: false;
      readonly status: 401 | 403;
      readonly code: string;
      readonly message: string;
    };

/**
 * Checks a request's credentials: synchronously for an API key (the common case, no promise per
 * request), through a promise for an ID token (its verification may fetch certificates).
 */
export type Authenticator = (headers: IncomingHttpHeaders) => AuthResult | Promise<AuthResult>;

const SHA256_HEX = /^(?:sha256:)?([0-9a-f]{64})$/i;

/**
 * Parses API key hashes: SHA-256 hex digests (`sha256:` prefix optional), separated by commas,
 * spaces or newlines; `#` starts a comment to the end of its line (key files).
 * @throws {@link InvalidArgumentError} naming the position of an entry that is not a digest
 */
export function parseApiKeyHashes(text: string): Buffer[] {
  const entries = text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .join(',')
    .split(/[\s,]+/)
    .filter((entry) => entry !== '');
  return entries.map((entry, i) => {
    const match = SHA256_HEX.exec(entry);
    if (match?.[1] === undefined) {
      // Never the entry itself: it may be a key pasted by mistake.
      throw InvalidArgumentError.for(
        `API key hash #${i + 1}`,
        'is not a SHA-256 hex digest (64 hex digits, optionally prefixed sha256:)',
      );
    }
    return Buffer.from(match[1], 'hex');
  });
}

/** The digest {@link parseApiKeyHashes} expects for `key`: `printf %s "$KEY" | sha256sum`. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Compares the SHA-256 of the `X-API-Key` header with every stored digest in constant time
 * (`timingSafeEqual` on equal-length digests, no early exit), so neither the key nor which
 * digest matched leaks through timing. Keys themselves are never stored.
 */
function apiKeyMatches(hashes: readonly Buffer[], key: string): boolean {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  let matched = false;
  for (const hash of hashes) matched = timingSafeEqual(digest, hash) || matched;
  return matched;
}

/** Presented keys whose verdict is remembered, at most; the map is emptied when full. */
const VERDICT_CACHE_SIZE = 1_024;

/**
 * {@link apiKeyMatches} once per distinct presented key: a client sends the same key on every
 * request, and its SHA-256 was most of the cost of authenticating one. Verdicts of wrong keys
 * are remembered too, so a hit tells nothing about a key's validity that the answer does not;
 * the comparison with the stored digests stays constant-time. Keys live only in this map (in
 * memory, like the request headers), never in logs; a flood of distinct keys empties it, which
 * only costs the hashes again.
 */
function cachedApiKeyMatcher(hashes: readonly Buffer[]): (key: string) => boolean {
  const verdicts = new Map<string, boolean>();
  return (key) => {
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = apiKeyMatches(hashes, key);
      if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.clear();
      verdicts.set(key, verdict);
    }
    return verdict;
  };
}

/** Options for {@link createAuthenticator}. */
export interface AuthOptions {
  /** SHA-256 digests of the accepted API keys (see {@link parseApiKeyHashes}). */
  readonly apiKeyHashes: readonly Buffer[];
  /** Accept Google-signed ID tokens (`Authorization: Bearer`) with this audience. */
  readonly oidcAudience?: string | undefined;
  /** Emails (service accounts) whose verified ID tokens may call; others get 403. */
  readonly oidcAllowedEmails?: readonly string[] | undefined;
  /** The client that verifies ID tokens. @defaultValue a new `OAuth2Client` (Google's certificates) */
  readonly oauthClient?: OAuth2Client | undefined;
  /** Accept requests without credentials (local runs only). @defaultValue false */
  readonly disabled?: boolean | undefined;
}

const unauthorized = (message: string): AuthResult =>
  Object.freeze({ ok: false, status: 401, code: 'UNAUTHENTICATED', message });

const API_KEY_OK: AuthResult = Object.freeze({ ok: true, principal: 'api-key' });
const UNKNOWN_API_KEY = unauthorized('unknown API key');

/**
 * API keys (`X-API-Key`, stored hashed) and, optionally, Google-signed OIDC ID tokens
 * (`Authorization: Bearer <token>`, verified with `google-auth-library` against the audience;
 * the token's verified email must be allowed). No credentials or wrong ones: 401. A valid token of
 * someone not allowed: 403. Neither keys nor tokens are ever logged or echoed.
 */
export function createAuthenticator(options: AuthOptions): Authenticator {
  if (options.disabled === true) {
    const anonymous: AuthResult = Object.freeze({ ok: true, principal: 'anonymous' });
    return () => anonymous;
  }
  const hashes = options.apiKeyHashes;
  const apiKeyValid = cachedApiKeyMatcher(hashes);
  const audience = options.oidcAudience;
  const allowed = new Set((options.oidcAllowedEmails ?? []).map((email) => email.toLowerCase()));
  const client = audience === undefined ? undefined : (options.oauthClient ?? new OAuth2Client());
  const missing = unauthorized(
    hashes.length > 0 && client !== undefined
      ? 'send an X-API-Key header or a Google ID token (Authorization: Bearer)'
      : hashes.length > 0
        ? 'send an X-API-Key header'
        : 'send a Google ID token (Authorization: Bearer)',
  );
  const verifyIdToken = async (
    verifier: OAuth2Client,
    idToken: string,
    tokenAudience: string,
  ): Promise<AuthResult> => {
    let email: string | undefined;
    try {
      const ticket = await verifier.verifyIdToken({ idToken, audience: tokenAudience });
      const payload = ticket.getPayload();
      email = payload?.email_verified === true ? payload.email?.toLowerCase() : undefined;
    } catch {
      return unauthorized('invalid ID token');
    }
    if (email === undefined || !allowed.has(email)) {
      return {
        ok: false,
        status: 403,
        code: 'PERMISSION_DENIED',
        message: 'this identity may not send events',
      };
    }
    return { ok: true, principal: email };
  };
  return (headers) => {
    const key = header(headers, 'x-api-key');
    if (key !== undefined && hashes.length > 0) {
      return apiKeyValid(key) ? API_KEY_OK : UNKNOWN_API_KEY;
    }
    const authorization = header(headers, 'authorization');
    const bearer =
      authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
    if (bearer !== undefined && client !== undefined && audience !== undefined) {
      return verifyIdToken(client, bearer, audience);
    }
    return missing;
  };
}
