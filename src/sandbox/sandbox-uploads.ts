import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { Readable } from "node:stream";
import { Response } from "undici";
import { z } from "zod";
import { sendOssError } from "./sandbox-http.ts";
import type { SandboxSigner } from "./sandbox-signing.ts";
import { formatDashscopeDate } from "./sandbox-time.ts";

/** Lifetime of an upload credential, as in the documented example (dashscope.md 6). */
export const UPLOAD_POLICY_TTL_SECONDS = 300;
/** Lifetime of an uploaded file (dashscope.md 6, step 5). */
export const UPLOAD_FILE_TTL_MS = 48 * 60 * 60 * 1000;
const MAX_FILE_SIZE_MB = 100;
const BUCKET = "dashscope-instant";

/** The `data` object of `GET /uploads?action=getPolicy` (dashscope.md 6, step 1). */
export interface UploadPolicyData {
  policy: string;
  signature: string;
  upload_dir: string;
  upload_host: string;
  expire_in_seconds: number;
  max_file_size_mb: number;
  capacity_limit_mb: number;
  oss_access_key_id: string;
  x_oss_object_acl: string;
  x_oss_forbid_overwrite: string;
}

/** Form fields the target requires besides `file`, in the order the SDK sends them. */
const REQUIRED_FIELDS = [
  "OSSAccessKeyId",
  "Signature",
  "policy",
  "key",
  "x-oss-object-acl",
  "x-oss-forbid-overwrite",
  "success_action_status",
] as const;

const policyDocumentSchema = z.object({
  expiration: z.iso.datetime(),
  conditions: z.array(z.unknown()),
});

export interface UploadServiceOptions {
  /** This server's origin, e.g. `http://127.0.0.1:8790`; the upload host is `{origin}/oss-upload`. */
  origin: () => string;
  signer: SandboxSigner;
  now: () => number;
  /** Directory for uploaded files. */
  workDir: string;
}

export interface UploadService {
  /** Issues a fresh upload credential; what is uploaded with it is bound to `model`. */
  createPolicy(model: string): UploadPolicyData;
  /** Handles `POST /oss-upload`; returns true when a file was stored. */
  handleUpload(request: IncomingMessage, response: ServerResponse): Promise<boolean>;
  /**
   * Bytes stored for an `oss://{key}` URL, for a submit to `model`: undefined when this server stored none, when the
   * file is older than 48 h, or when it was uploaded for another model (a temporary file is bound to the model given
   * when its policy was asked for).
   */
  read(ossUrl: string, model: string): Promise<Buffer | undefined>;
}

export function createUploadService(options: UploadServiceOptions): UploadService {
  // One "account" per server: the hash segment of every upload directory.
  const accountHash = randomBytes(16).toString("hex");
  const stored = new Map<string, { filePath: string; model: string; uploadedAt: number }>();
  /** The model each issued upload directory is bound to. */
  const policyModels = new Map<string, string>();
  const directory = path.join(options.workDir, "uploads");

  const createPolicy = (model: string): UploadPolicyData => {
    const now = options.now();
    const day = formatDashscopeDate(now).slice(0, 10);
    const uploadDir = `${BUCKET}/${accountHash}/${day}/${randomUUID()}`;
    policyModels.set(uploadDir, model);
    const document = {
      expiration: new Date(now + UPLOAD_POLICY_TTL_SECONDS * 1000).toISOString(),
      conditions: [
        { bucket: BUCKET },
        ["content-length-range", 0, MAX_FILE_SIZE_MB * 1024 * 1024],
        ["starts-with", "$key", uploadDir],
      ],
    };
    const policy = Buffer.from(JSON.stringify(document)).toString("base64");
    return {
      policy,
      signature: options.signer.signPolicy(policy),
      upload_dir: uploadDir,
      upload_host: `${options.origin()}/oss-upload`,
      expire_in_seconds: UPLOAD_POLICY_TTL_SECONDS,
      max_file_size_mb: MAX_FILE_SIZE_MB,
      capacity_limit_mb: 999_999_999,
      oss_access_key_id: options.signer.accessKeyId,
      x_oss_object_acl: "private",
      x_oss_forbid_overwrite: "true",
    };
  };

  const handleUpload = async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const contentType = request.headers["content-type"] ?? "";
    if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
      sendOssError(response, 400, "InvalidArgument", "The request must be multipart/form-data.");
      return false;
    }
    if (Number(request.headers["content-length"] ?? 0) > (MAX_FILE_SIZE_MB + 1) * 1024 * 1024) {
      sendOssError(response, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.");
      return false;
    }
    let form: Awaited<ReturnType<Response["formData"]>>;
    try {
      const body = Readable.toWeb(request) as unknown as ReadableStream<Uint8Array>;
      form = await new Response(body, { headers: { "content-type": contentType } }).formData();
    } catch {
      sendOssError(
        response,
        400,
        "MalformedPOSTRequest",
        "The body of your POST request is not well-formed.",
      );
      return false;
    }
    const names = [...form.keys()];
    const missing = [...REQUIRED_FIELDS, "file"].find((name) => !form.has(name));
    if (missing) {
      sendOssError(response, 400, "InvalidArgument", `Missing required form field: ${missing}.`);
      return false;
    }
    if (names.at(-1) !== "file") {
      sendOssError(response, 400, "InvalidArgument", "The file field must be the last field of the form.");
      return false;
    }
    const field = (name: string) => {
      const value = form.get(name);
      return typeof value === "string" ? value : "";
    };
    const policy = field("policy");
    if (field("OSSAccessKeyId") !== options.signer.accessKeyId) {
      sendOssError(response, 403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist.");
      return false;
    }
    if (!options.signer.verifyPolicy(policy, field("Signature"))) {
      sendOssError(
        response,
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
      );
      return false;
    }
    const document = policyDocumentSchema.parse(JSON.parse(Buffer.from(policy, "base64").toString("utf8")));
    if (Date.parse(document.expiration) <= options.now()) {
      sendOssError(response, 403, "AccessDenied", "Invalid according to Policy: Policy expired.");
      return false;
    }
    const key = field("key");
    const prefix = document.conditions
      .map((condition) =>
        Array.isArray(condition) && condition[0] === "starts-with" ? condition[2] : undefined,
      )
      .find((value): value is string => typeof value === "string");
    if (!prefix || !key.startsWith(`${prefix}/`) || key.length <= prefix.length + 1) {
      sendOssError(
        response,
        403,
        "AccessDenied",
        `Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "${prefix}"]`,
      );
      return false;
    }
    if (stored.has(key) && field("x-oss-forbid-overwrite") === "true") {
      sendOssError(
        response,
        409,
        "FileAlreadyExists",
        "The object you specified already exists and can not be overwritten.",
      );
      return false;
    }
    const file = form.get("file");
    if (typeof file === "string" || !file) {
      sendOssError(response, 400, "InvalidArgument", "The file field must carry a file.");
      return false;
    }
    await mkdir(directory, { recursive: true });
    const filePath = path.join(directory, randomUUID());
    await writeFile(filePath, Buffer.from(await file.arrayBuffer()));
    stored.set(key, { filePath, model: policyModels.get(prefix) ?? "", uploadedAt: options.now() });
    const status = field("success_action_status") === "200" ? 200 : 204;
    response.writeHead(status, { "content-length": 0, "x-oss-request-id": randomUUID() });
    response.end();
    return true;
  };

  return {
    createPolicy,
    handleUpload,
    async read(ossUrl, model) {
      const file = stored.get(ossUrl.replace(/^oss:\/\//, ""));
      if (!file || file.model !== model || options.now() - file.uploadedAt >= UPLOAD_FILE_TTL_MS)
        return undefined;
      return readFile(file.filePath);
    },
  };
}
