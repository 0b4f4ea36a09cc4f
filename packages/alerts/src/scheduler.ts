import { checkAlerts, errorFields, type AlertCheckDeps, type AlertCheckResult } from "@unmeltable/core";

export interface AlertScheduler {
  /** Runs one round now (waits for a round in progress instead of starting a second one). */
  runOnce(): Promise<AlertCheckResult[]>;
  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void>;
}

/**
 * The local stand-in for the scheduled Lambda: runs `checkAlerts` every `intervalMs` (a minute in
 * production). Rounds never overlap: when one takes longer than the interval, the next tick is skipped.
 */
export function startAlertScheduler(deps: AlertCheckDeps & { intervalMs: number }): AlertScheduler {
  let running: Promise<AlertCheckResult[]> | undefined;
  let stopped = false;
  const runOnce = (): Promise<AlertCheckResult[]> => {
    if (running) return running;
    running = checkAlerts(deps)
      .catch((err: unknown) => {
        deps.logger?.error("alert check failed (the next round tries again)", errorFields(err));
        return [];
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped && !running) void runOnce();
  }, deps.intervalMs);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
