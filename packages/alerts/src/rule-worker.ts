import { parentPort } from "node:worker_threads";
import { inlineRuleWork } from "@unmeltable/core";
import type { RuleReply, RuleRequest } from "./rule-thread";

/** The derived-field rules API's CPU work, on a thread of its own (rule-thread.ts). */
const port = parentPort!;
port.on("message", (m: RuleRequest) => {
  const work = m.op === "check" ? inlineRuleWork.check(m.pattern, m.needsGroups) : inlineRuleWork.preview(m.spec, m.messages);
  (work as Promise<unknown>).then(
    (result) => port.postMessage({ id: m.id, result } satisfies RuleReply),
    (err: unknown) => port.postMessage({ id: m.id, error: (err as Error).message } satisfies RuleReply),
  );
});
