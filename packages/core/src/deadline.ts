import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The time (epoch ms) by which the current invocation must have answered: a Lambda function's end minus
 * what it keeps for itself. Set around a call with withDeadline; adapters read it to bound their own
 * waiting (the OpenSearch adapter's search timeouts and bulk retries) without every port method taking
 * a parameter. Undefined outside withDeadline: adapters use their own defaults.
 */
const deadlines = new AsyncLocalStorage<number>();

export function withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  return deadlines.run(deadline, fn);
}

export function currentDeadline(): number | undefined {
  return deadlines.getStore();
}
