#!/usr/bin/env node
// `npm run typecheck` checks the Kafka adapter against the types of @confluentinc/kafka-javascript, an
// optional native dependency that `npm install` skips where it cannot be built. Say so in one line
// instead of twenty type errors.
import { createRequire } from "node:module";

try {
  createRequire(new URL("../packages/queue-kafka/package.json", import.meta.url)).resolve("@confluentinc/kafka-javascript/package.json");
} catch {
  process.stderr.write(
    "typecheck: the optional Kafka client @confluentinc/kafka-javascript is not installed, and the Kafka adapter is checked against its types: run `npm test` once (its set-up builds it) or see README \"Kafka and Amazon MSK\"\n",
  );
  process.exit(1);
}
