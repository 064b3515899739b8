import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { OAuth2Client } from 'google-auth-library';

/**
 * Stands in for Google's signing keys: serves a public key where `google-auth-library` fetches
 * Google's certificates (`oauth2FederatedSignonPemCertsUrl`) and signs ID tokens with the private
 * half, so the real verification code runs unchanged.
 */
export interface TokenIssuer {
  /** A real OAuth2Client that fetches its certificates from this issuer. */
  readonly client: OAuth2Client;
  /** An RS256 ID token as Google would sign it. */
  token(claims: {
    email: string;
    audience: string;
    emailVerified?: boolean;
    expiresInS?: number;
  }): string;
  /** The same, signed with a key the issuer does not publish. */
  forgedToken(claims: { email: string; audience: string }): string;
  close(): Promise<void>;
}

const base64url = (value: Buffer | string): string => Buffer.from(value).toString('base64url');

function signJwt(privateKey: KeyObject, kid: string, payload: Record<string, unknown>): string {
  const head = base64url(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }));
  const body = base64url(JSON.stringify(payload));
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), privateKey);
  return `${head}.${body}.${base64url(signature)}`;
}

/** Starts a key server on 127.0.0.1. */
export async function startTokenIssuer(): Promise<TokenIssuer> {
  const kid = 'test-key-1';
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end(JSON.stringify({ [kid]: pem }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const client = new OAuth2Client({
    endpoints: { oauth2FederatedSignonPemCertsUrl: `http://127.0.0.1:${address.port}/certs` },
  });
  const claims = (email: string, audience: string, verified: boolean, expiresInS: number) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: 'https://accounts.google.com',
      aud: audience,
      sub: '1234567890',
      email,
      email_verified: verified,
      iat: now,
      exp: now + expiresInS,
    };
  };
  return {
    client,
    token: ({ email, audience, emailVerified = true, expiresInS = 600 }) =>
      signJwt(privateKey, kid, claims(email, audience, emailVerified, expiresInS)),
    forgedToken: ({ email, audience }) => signJwt(forger, kid, claims(email, audience, true, 600)),
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}
