import { PlatformaticKafkaQueue } from "@unmeltable/queue-kafka";
import { startMockCluster } from "../helpers/kafka";
import { queueContract } from "./queue.contract";

// The same contract as the embedded queue, against a real Kafka-protocol broker (librdkafka's mock cluster,
// test/helpers/kafka.ts). The default adapter, pure JavaScript, creates its topics with CreateTopics.
queueContract("Kafka, pure-JS client (@platformatic/kafka)", async () => {
  const cluster = await startMockCluster(3);
  return {
    open: async () => new PlatformaticKafkaQueue({ brokers: cluster.brokers, sessionTimeoutMs: 6000 }),
    cleanup: () => cluster.stop(),
  };
});

// The optional native adapter (`--kafka-client native`): npm test's set-up (scripts/test-setup.mjs) builds
// the native client and stops when it does not load, so this runs wherever the suite does.
// librdkafka's admin client asks for CreateTopics versions below the test broker's: its topics come
// through the broker's control channel.
queueContract("Kafka, native client (@confluentinc/kafka-javascript)", async () => {
  const { NativeKafkaQueue } = await import("@unmeltable/queue-kafka/native");
  const cluster = await startMockCluster(3);
  return {
    open: async () => new NativeKafkaQueue({ brokers: cluster.brokers, sessionTimeoutMs: 6000, createTopics: (t) => cluster.createTopics(t) }),
    cleanup: () => cluster.stop(),
  };
});
