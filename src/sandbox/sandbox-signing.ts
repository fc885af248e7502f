import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The sandbox's stand-in for OSS signatures: HMAC-SHA1 (as OSS uses) with a key made per server, so a signature
 * only verifies on the server that issued it and any change to the signed text breaks it.
 */
export interface SandboxSigner {
  /** The access key id shown in policies and result URLs (not a secret: OSS shows it too). */
  readonly accessKeyId: string;
  /** Signature of an upload policy (the base64 policy document, as OSS signs it). */
  signPolicy(policy: string): string;
  verifyPolicy(policy: string, signature: string): boolean;
  /** Signature of a result object path and its expiry (epoch seconds). */
  signResult(path: string, expiresSeconds: number): string;
  verifyResult(path: string, expiresSeconds: number, signature: string): boolean;
}

export function createSandboxSigner(): SandboxSigner {
  const key = randomBytes(32);
  const sign = (text: string) => createHmac("sha1", key).update(text).digest("base64");
  const verify = (text: string, signature: string) => {
    const expected = Buffer.from(sign(text));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  };
  const resultText = (path: string, expiresSeconds: number) => `GET\n\n\n${expiresSeconds}\n${path}`;
  return {
    accessKeyId: "LTAI5tSandboxAccessKey",
    signPolicy: (policy) => sign(`policy\n${policy}`),
    verifyPolicy: (policy, signature) => verify(`policy\n${policy}`, signature),
    signResult: (path, expiresSeconds) => sign(resultText(path, expiresSeconds)),
    verifyResult: (path, expiresSeconds, signature) => verify(resultText(path, expiresSeconds), signature),
  };
}
