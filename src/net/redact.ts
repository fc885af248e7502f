/**
 * Secrets must never reach logs, errors, step outputs, events or records. Signed URLs carry theirs in the query
 * string (OSS `Signature`, S3 `X-Amz-Signature`), so a URL is shown without its query.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "data:")
      return `data:${parsed.pathname.split(/[;,]/)[0]};… (${url.length} characters)`;
    const hadQuery = parsed.search.length > 0;
    parsed.search = "";
    parsed.username = "";
    parsed.password = "";
    return hadQuery ? `${parsed.toString()}?<redacted>` : parsed.toString();
  } catch {
    return url.length > 80 ? `${url.slice(0, 77)}...` : url;
  }
}

/** Replaces every occurrence of each secret (API keys, signing keys) in a text. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 6) result = result.split(secret).join("<redacted>");
  }
  return result;
}
