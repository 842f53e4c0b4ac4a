import { randomUUID, type webcrypto } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyResult,
  jwtVerify,
  SignJWT,
} from 'jose';

/** An OIDC issuer with its own RS256 key pair: signs tokens and publishes its JWKS. */
export class JwtIssuer {
  private constructor(
    readonly issuer: string,
    private readonly privateKey: webcrypto.CryptoKey,
    readonly jwks: JSONWebKeySet,
    private readonly kid: string,
  ) {}

  static async create(issuer: string): Promise<JwtIssuer> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    return new JwtIssuer(issuer, privateKey, { keys: [jwk] }, kid);
  }

  /** Signs `claims` with iss, iat, nbf and exp (now + lifetime) filled in. */
  async sign(claims: JWTPayload, lifetimeSeconds: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iat: now,
      nbf: now,
      jti: randomUUID(),
      ...claims,
      iss: this.issuer,
      exp: now + lifetimeSeconds,
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .sign(this.privateKey);
  }

  /** Verifies a token's signature and time claims against a key set, as a relying party would. */
  static verify(token: string, jwks: JSONWebKeySet): Promise<JWTVerifyResult> {
    return jwtVerify(token, createLocalJWKSet(jwks), { algorithms: ['RS256', 'ES256'], clockTolerance: 0 });
  }
}
