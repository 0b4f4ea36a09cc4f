// The optional native Kafka adapter (@confluentinc/kafka-javascript, librdkafka), reachable only through
// this entry (`@unmeltable/queue-kafka/native`) so that nothing bundled for Lambda can reach the addon.
export { NativeKafkaQueue, KAFKA_CLIENT_MISSING, loadKafkaClient, type NativeKafkaQueueOptions } from "./native-queue";
export { rdkafkaConfig, type RdkafkaConfig } from "./native-connection";
