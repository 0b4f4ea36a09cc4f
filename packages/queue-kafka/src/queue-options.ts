import type { TopicSpec } from "@unmeltable/core";
import type { KafkaConnection } from "./connection";

/** What both Kafka adapters take besides the connection (each adds its compression choices). */
export interface KafkaQueueBaseOptions extends KafkaConnection {
  /** Give up on a produce after this long (the collector then spools to disk). Default 30 s. */
  produceTimeoutMs?: number;
  /** Consumer group session timeout (default 10 s): how soon a crashed member's partitions move on. */
  sessionTimeoutMs?: number;
  /** Replication factor for topics this adapter creates (default 3, or fewer brokers). */
  replicationFactor?: number;
  /**
   * Creates topics instead of the Admin API's CreateTopics, for a broker without that API: the test
   * suite's librdkafka mock cluster gets its topics through its control channel this way.
   */
  createTopics?: (topics: TopicSpec[]) => Promise<void>;
}
