/** Kill functions of the processes this test process started and has not seen end. */
const pending = new Set<() => void>();

const killAll = () => {
  for (const kill of pending) kill();
  pending.clear();
};

let installed = false;
function install() {
  if (installed) return;
  installed = true;
  process.once("exit", killAll);
  // A runner's worker whose runner died (its IPC channel closed) may never be told to stop: its children go now.
  if (process.connected) process.once("disconnect", killAll);
  // Node ends on these signals without an `exit` event: kill the children, then let the signal do what it would have.
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Registers a child process's kill so that a test process that ends without its teardown (timeout, crash, Ctrl-C,
 * a runner stopping its workers) never leaves a server or worker behind. Returns the function that unregisters it
 * (call it when the child has ended).
 */
export function killOnExit(kill: () => void): () => void {
  install();
  pending.add(kill);
  return () => pending.delete(kill);
}
