import { inject } from "vitest";

/** The Inngest server binary the global setup built or reused; fails the suite with the build's error otherwise. */
export function inngestBinary(): string {
  const binary = inject("inngestServerBinary");
  if (!binary) throw new Error(inject("inngestServerError") || "the Inngest server binary is not available");
  return binary;
}
