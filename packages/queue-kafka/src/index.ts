export { KafkaQueue, type KafkaQueueOptions } from "./kafka-queue";
export { parseBrokers, rdkafkaConfig, mskIamTokenProvider, type KafkaConnection } from "./connection";
