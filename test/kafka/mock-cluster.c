/*
 * A real Kafka-protocol broker for the tests: librdkafka's mock cluster (librdkafka 2.15.1 with
 * test/kafka/librdkafka-mock.patch, built by scripts/build-test-broker.mjs), with a line-based control
 * channel on stdin so fault tests can take brokers down and inject errors.
 *
 *   node scripts/build-test-broker.mjs      (builds node_modules/.cache/unmeltable-test/mock-cluster)
 *   mock-cluster [brokers]
 *
 * Prints the bootstrap servers ("127.0.0.1:PORT,...") as its first line, then answers each command with
 * one line, "ok" or "error <why>":
 *
 *   create <topic> <partitions> [replication]   create a topic (the mock has no CreateTopics API)
 *   down <broker-id> / up <broker-id>           take a broker off the network / bring it back
 *   error <api-key> <count> <error-code>        the next <count> requests of <api-key> fail with <error-code>
 *   track                                       start (or restart) counting requests
 *   requests                                    "ok <api-key>=<count> ..." for the requests counted since
 *
 * The broker also answers CreateTopics and CreatePartitions (added by the patch).
 *
 * It exits when stdin closes, so it never outlives the test that started it. All data is in memory, a few
 * MiB per partition: size test data accordingly.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int brokers = argc > 1 ? atoi(argv[1]) : 3;
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    /* MOCK_CLUSTER_DEBUG=mock,protocol logs what the brokers receive and why they close a connection. */
    if (getenv("MOCK_CLUSTER_DEBUG")) {
        rd_kafka_conf_set(conf, "log_level", "7", errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "debug", getenv("MOCK_CLUSTER_DEBUG"), errstr, sizeof(errstr));
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[1024];
    while (fgets(line, sizeof(line), stdin)) {
        char cmd[32] = {0}, name[256] = {0};
        int a = 0, b = 0, c = 0;
        if (sscanf(line, "create %255s %d %d", name, &a, &b) >= 2) {
            rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, a, b > 0 ? b : (brokers < 3 ? brokers : 3));
            if (e) printf("error %s\n", rd_kafka_err2str(e));
            else printf("ok\n");
        } else if (sscanf(line, "down %d", &a) == 1) {
            rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_down(mc, a);
            printf(e ? "error %s\n" : "ok\n", rd_kafka_err2str(e));
        } else if (sscanf(line, "up %d", &a) == 1) {
            rd_kafka_resp_err_t e = rd_kafka_mock_broker_set_up(mc, a);
            printf(e ? "error %s\n" : "ok\n", rd_kafka_err2str(e));
        } else if (sscanf(line, "error %d %d %d", &a, &b, &c) == 3) {
            for (int i = 0; i < b; i++) rd_kafka_mock_push_request_errors(mc, a, 1, (rd_kafka_resp_err_t)c);
            printf("ok\n");
        } else if (strncmp(line, "track", 5) == 0) {
            rd_kafka_mock_stop_request_tracking(mc);
            rd_kafka_mock_start_request_tracking(mc);
            printf("ok\n");
        } else if (strncmp(line, "requests", 8) == 0) {
            size_t cnt = 0;
            int counts[256] = {0};
            rd_kafka_mock_request_t **reqs = rd_kafka_mock_get_requests(mc, &cnt);
            for (size_t i = 0; i < cnt; i++) {
                int key = rd_kafka_mock_request_api_key(reqs[i]);
                if (key >= 0 && key < 256) counts[key]++;
            }
            rd_kafka_mock_request_destroy_array(reqs, cnt);
            printf("ok");
            for (int k = 0; k < 256; k++)
                if (counts[k]) printf(" %d=%d", k, counts[k]);
            printf("\n");
        } else if (sscanf(line, "%31s", cmd) == 1) {
            printf("error unknown command %s\n", cmd);
        } else {
            continue;
        }
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
