export {
  type DashscopeSubmitResponse,
  type DashscopeTaskListResponse,
  type DashscopeTaskResponse,
  type DashscopeUploadPolicyResponse,
  dashscopeCancelResponseSchema,
  dashscopeSubmitResponseSchema,
  dashscopeTaskListResponseSchema,
  dashscopeTaskResponseSchema,
  dashscopeUploadPolicyResponseSchema,
  dashscopeUsageSchema,
} from "./dashscope-api.ts";
export {
  DASHSCOPE_DEFAULT_BASE_URL,
  type DashscopeCredentials,
  describeDashscopeRegion,
  type LoadDashscopeApiKeyOptions,
  loadDashscopeApiKey,
  loadDashscopeCredentials,
  resolveDashscopeBaseUrl,
} from "./dashscope-credentials.ts";
export {
  type DashscopeErrorBody,
  type DashscopeKeyContext,
  type DashscopeOperation,
  dashscopeErrorBodySchema,
  fromDashscopeNetworkError,
  parseDashscopeErrorBody,
  toDashscopeError,
} from "./dashscope-error.ts";
export {
  type DashscopeUploadFile,
  type DashscopeUploadOptions,
  uploadDashscopeFile,
} from "./dashscope-upload.ts";
export {
  createDashscopeVideoProvider,
  type DashscopeCall,
  type DashscopeSend,
  type DashscopeVideoProvider,
  type DashscopeVideoProviderOptions,
  toUtcIso,
} from "./dashscope-video-provider.ts";
