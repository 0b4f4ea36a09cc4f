// The Kafka adapter every part of unmeltable uses by default: pure JavaScript (@platformatic/kafka), no
// native addon. The librdkafka adapter is a separate entry, `@unmeltable/queue-kafka/native`.
export { PlatformaticKafkaQueue, type KafkaQueueOptions } from "./js-queue";
export { platformaticConnection, mskIamTokenRefresher, type PlatformaticConnectionOptions } from "./js-connection";
export { parseBrokers, mskIamTokenProvider, type KafkaConnection } from "./connection";
export { MAX_RECORD_BYTES } from "./limits";
export { checkKafkaOptions, brokerProblem, mskClusterArnProblem, KafkaOptionsError, KAFKA_OPTIONS } from "./kafka-options";
