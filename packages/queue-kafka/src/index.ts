export { KafkaQueue, KAFKA_CLIENT_MISSING, type KafkaQueueOptions } from "./kafka-queue";
export { parseBrokers, rdkafkaConfig, mskIamTokenProvider, type KafkaConnection } from "./connection";
