/**
 * TEMPORARY copy of the call context planned for the "[core]" commit, so the
 * identity module type-checks before it lands; the merge takes main's file.
 */
import type { PeerCertificate } from 'node:tls';

export interface Principal {
  kind: 'api_key' | 'bootstrap' | 'oidc' | 'certificate';
  id: string;
  /** set for a producer-bound API key */
  producerId?: string;
}

export interface CallContext {
  readonly service: string;
  readonly method: string;
  readonly requestId: string;
  readonly signal: AbortSignal;
  readonly shadow: boolean;
  header(name: string): string | undefined;
  peerCertificate(): PeerCertificate | undefined;
  principal: Principal | undefined;
  trace: unknown;
}
