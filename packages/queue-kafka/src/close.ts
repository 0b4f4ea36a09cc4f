import type { Consumer } from "@platformatic/kafka";

/** Closes a consumer even with streams open (its streams are closed with it), leaving its group if it joined one. */
export function closeForced(consumer: Consumer): Promise<void> {
  return new Promise((resolve, reject) => consumer.close(true, (err) => (err ? reject(err) : resolve())));
}
