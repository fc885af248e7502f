import { FormData } from "undici";
import { ProviderError } from "../../errors/provider-error.ts";
import { redactUrl } from "../../net/redact.ts";
import { dashscopeUploadPolicyResponseSchema } from "./dashscope-api.ts";
import type { DashscopeSend } from "./dashscope-video-provider.ts";

/** Image bytes to place in DashScope's temporary storage. */
export interface DashscopeUploadFile {
  bytes: Uint8Array;
  /** MIME type, e.g. `image/png`. */
  contentType: string;
  /** File name; only its last path segment is kept, and characters outside `[A-Za-z0-9._-]` become `_`. */
  filename: string;
}

export interface DashscopeUploadOptions {
  send: DashscopeSend;
  /** The API base URL, without a trailing slash. */
  baseUrl: string;
  apiKey: string;
  /** The model the file is bound to; DashScope refuses the file for any other model. */
  model: string;
  file: DashscopeUploadFile;
  signal?: AbortSignal;
}

/**
 * The temporary-upload flow (dashscope.md section 6): ask for a form-upload policy, POST the file to the OSS host
 * it names, and return `oss://{upload_dir}/{filename}`. The file lives 48 h and is private; a submit that uses it
 * must send `X-DashScope-OssResourceResolve: enable`.
 */
export async function uploadDashscopeFile(options: DashscopeUploadOptions): Promise<string> {
  const { send, baseUrl, apiKey, model, file, signal } = options;
  const query = new URLSearchParams({ action: "getPolicy", model });
  const { data: policy } = await send({
    operation: "upload",
    method: "GET",
    url: `${baseUrl}/uploads?${query}`,
    headers: { Authorization: `Bearer ${apiKey}` },
    schema: dashscopeUploadPolicyResponseSchema,
    secrets: [apiKey],
    signal,
  });

  const uploadHost = checkUploadHost(policy.upload_host, baseUrl);
  const key = `${policy.upload_dir.replace(/\/+$/, "")}/${safeFilename(file.filename)}`;
  // OSS PostObject reads the fields in order and requires `file` to be the last one.
  const form = new FormData();
  form.append("OSSAccessKeyId", policy.oss_access_key_id);
  form.append("Signature", policy.signature);
  form.append("policy", policy.policy);
  form.append("key", key);
  form.append("x-oss-object-acl", policy.x_oss_object_acl ?? "private");
  form.append("x-oss-forbid-overwrite", policy.x_oss_forbid_overwrite ?? "true");
  form.append("success_action_status", "200");
  form.append("x-oss-content-type", file.contentType);
  form.append("file", new Blob([file.bytes], { type: file.contentType }), safeFilename(file.filename));

  // No Authorization header: the policy signature is the upload host's credential, and the API key stays with DashScope.
  await send({
    operation: "upload",
    method: "POST",
    url: uploadHost,
    headers: {},
    body: form,
    secrets: [apiKey, policy.signature, policy.policy, policy.oss_access_key_id],
    signal,
  });
  return `oss://${key}`;
}

/**
 * The upload host comes from a response body, so it is checked before anything is sent to it: https only, or http
 * when the API itself is reached over http (a local sandbox).
 */
function checkUploadHost(uploadHost: string, baseUrl: string): string {
  const allowHttp = baseUrl.startsWith("http://");
  let url: URL | undefined;
  try {
    url = new URL(uploadHost);
  } catch {
    url = undefined;
  }
  if (!url || !(url.protocol === "https:" || (allowHttp && url.protocol === "http:")) || url.username) {
    throw new ProviderError(
      `DashScope upload failed: the upload policy named an upload host that is not ${allowHttp ? "an http(s)" : "an https"} URL: ${redactUrl(uploadHost)}`,
      { kind: "invalid_response", code: "untrusted_upload_host", operation: "upload" },
    );
  }
  return url.toString();
}

function safeFilename(filename: string): string {
  const base = filename.split(/[\\/]/).pop() ?? "";
  const cleaned = base.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "");
  return cleaned || "image";
}
