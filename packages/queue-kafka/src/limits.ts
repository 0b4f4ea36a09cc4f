/** The largest record the Kafka adapters write (the topics they create accept it too). */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
