export {
  FAULT_KINDS,
  FAULT_ROUTES,
  type FaultCommand,
  type FaultController,
  type FaultKind,
  type FaultRoute,
  type FaultSpec,
  type TaskFailureSpec,
} from "./sandbox-faults.ts";
export {
  type SandboxHandle,
  type SandboxOptions,
  type SandboxStats,
  type SandboxTimings,
  startSandbox,
} from "./sandbox-server.ts";
export type { SandboxParameterErrors } from "./sandbox-submit.ts";
export type { SandboxListReading } from "./sandbox-task-bodies.ts";
export type { SandboxTaskStatus, SandboxTaskSummary } from "./sandbox-tasks.ts";
