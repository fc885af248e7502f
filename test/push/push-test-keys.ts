import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * An RSA key and a self-signed X.509 certificate for it, made by openssl (node:crypto cannot issue certificates), so
 * the verifier is tested on the certificate form EventBridge serves.
 */
export function makeTestCertificate(): { privateKeyPem: string; certificatePem: string } {
  const directory = mkdtempSync(path.join(os.tmpdir(), "push-cert-"));
  try {
    const keyPath = path.join(directory, "key.pem");
    const certificatePath = path.join(directory, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=eventbridge-emulator",
        "-days",
        "2",
      ].concat(["-keyout", keyPath, "-out", certificatePath]),
      { stdio: "ignore" },
    );
    return {
      privateKeyPem: readFileSync(keyPath, "utf8"),
      certificatePem: readFileSync(certificatePath, "utf8"),
    };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** A RegExp matching exactly this origin. */
export function exactOrigin(origin: string): RegExp {
  return new RegExp(`^${origin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}
