import { KafkaQueue } from "@unmeltable/queue-kafka";
import { startMockCluster } from "../helpers/kafka";
import { queueContract } from "./queue.contract";

// The same contract as the embedded queue, against a real Kafka-protocol broker (librdkafka's mock cluster).
queueContract("Kafka (librdkafka mock cluster)", async () => {
  const cluster = await startMockCluster(3);
  return {
    open: async () => new KafkaQueue({ brokers: cluster.brokers, sessionTimeoutMs: 6000, createTopics: (t) => cluster.createTopics(t) }),
    cleanup: () => cluster.stop(),
  };
});
