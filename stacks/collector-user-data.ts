/**
 * The collectors' boot script (EC2 user data, Amazon Linux 2023): mounts the spool volume at the data
 * dir, installs Node.js and the program (`npm ci`: the artifact's lockfile pins every package), picks the
 * Kafka client, and runs `unmeltable collector` as a systemd service.
 * Pure text generation, so the tests can read exactly what an instance will run.
 */
import { NATIVE_KAFKA_CLIENT, type CollectorArtifact, type KafkaClientKind } from "./config";

export interface UserDataInput {
  nodeVersion: string;
  artifact: CollectorArtifact;
  /** Region of the MSK cluster, the SSM parameters and the artifact bucket (the home region). */
  homeRegion: string;
  clusterArn: string;
  tenantsUrl: string;
  tls: { certParameter: string; keyParameter: string };
  /** Device name the spool volume is attached as (AL2023's udev rules link it to the NVMe device). */
  spoolDevice: string;
  ports: { syslog: number; tls: number; https: number };
  /** The collector's Kafka client (stacks/config.ts, `collector.kafkaClient`). */
  kafkaClient: KafkaClientKind;
  /** Publish the collector's own metrics to CloudWatch (the CloudWatch agent scraping /metrics): see `metricsAgent`. */
  metrics?: CollectorMetrics;
}

export interface CollectorMetrics {
  /** Stage name: the metrics' dimension, so the alarms of one stage see only its collectors. */
  stage: string;
  /** CloudWatch namespace (stacks/monitoring.ts, COLLECTOR_NAMESPACE). */
  namespace: string;
  /** The log group the agent writes its EMF documents to (CloudWatch makes the metrics from them). */
  logGroup: string;
  /** The collector's HTTP port, where it serves /metrics (Prometheus text) on the instance. */
  httpPort: number;
}

/**
 * The collector metrics sent to CloudWatch: the spool (the alarm, stacks/monitoring.ts), what is durable,
 * and failures to write to MSK. Everything else stays on the instance's /metrics.
 */
export const PUBLISHED_COLLECTOR_METRICS = [
  "unmeltable_spool_bytes",
  "unmeltable_spool_records",
  "unmeltable_events_durable_total",
  "unmeltable_queue_write_failures_total",
  "unmeltable_queue_write_failing",
];

export const DATA_DIR = "/var/lib/unmeltable";
export const SERVICE = "unmeltable-collector";

/** Single-quote a value for bash. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function installProgram(a: CollectorArtifact, region: string, kafkaClient: KafkaClientKind): string {
  if (a.kind === "s3") {
    return [
      `aws s3 cp --region ${q(region)} ${q(`s3://${a.bucket}/${a.key}`)} /tmp/unmeltable.tgz`,
      "rm -rf /opt/unmeltable && mkdir -p /opt/unmeltable",
      "tar -xzf /tmp/unmeltable.tgz -C /opt/unmeltable --strip-components=1",
      // The artifact holds the built program, its runtime dependencies and their lockfile (cut from the
      // repository's): `npm ci` installs exactly those versions, and builds or downloads the native ones
      // here, for this instance. The native Kafka client is optional: installed only when configured.
      `cd /opt/unmeltable && npm ci --omit=dev${kafkaClient === "native" ? "" : " --omit=optional"} --no-audit --no-fund`,
      // The UDP socket's native receive path, compiled here for this instance (the artifact carries its C
      // source, never a binary of the machine that made it). Without it the collector receives UDP with
      // Node's dgram and says so in the journal; the script only warns.
      "cd /opt/unmeltable && node scripts/build-native.mjs",
    ].join("\n");
  }
  return [
    "dnf install -y git",
    "rm -rf /opt/unmeltable",
    `git clone --depth 1 --branch ${q(a.ref)} ${q(a.url)} /opt/unmeltable`,
    "cd /opt/unmeltable && npm ci --no-audit --no-fund && npm run build",
  ].join("\n");
}

/**
 * Which Kafka client the service gets. The native one is optional and installed by the instance itself
 * (`npm ci` above: the lockfile's version, built for this Node and this glibc); if it did not install
 * or does not load, the collector runs the pure-JS client, and says so here and in the journal. That
 * rather than failing the health check: a collector on the pure-JS client still takes and delivers
 * everything (slower), while a failed check would take it, and with a systematic cause (a new AMI, a
 * missing prebuilt binary) every collector, out of DNS.
 */
function chooseKafkaClient(kafkaClient: KafkaClientKind): string {
  if (kafkaClient === "js") return "KAFKA_CLIENT=js";
  return [
    "KAFKA_CLIENT=native",
    `if ! (cd /opt/unmeltable && /opt/node/bin/node -e ${q(`require(${JSON.stringify(NATIVE_KAFKA_CLIENT.name)})`)}); then`,
    `  echo "unmeltable bootstrap: the native Kafka client (${NATIVE_KAFKA_CLIENT.name} ${NATIVE_KAFKA_CLIENT.version}) did not install or load here: the collector uses the pure-JS client"`,
    `  logger -t unmeltable-bootstrap -p user.warning "native Kafka client unavailable, collector uses the pure-JS client (see /var/log/unmeltable-bootstrap.log)" || true`,
    "  KAFKA_CLIENT=js",
    "fi",
  ].join("\n");
}

export function collectorUserData(i: UserDataInput): string {
  const node = `node-v${i.nodeVersion}-linux-x64`;
  return `#!/bin/bash
# unmeltable collector bootstrap, generated by stacks/collector-user-data.ts. Log: /var/log/unmeltable-bootstrap.log
set -euo pipefail
exec > >(tee -a /var/log/unmeltable-bootstrap.log) 2>&1

# 1. The spool volume (a separate EBS volume that outlives the instance): wait for the attachment,
#    format it the first time only, mount it at the data dir.
for _ in $(seq 1 180); do [ -e ${q(i.spoolDevice)} ] && break; sleep 5; done
DEV=$(readlink -f ${q(i.spoolDevice)})
[ -b "$DEV" ] || { echo "spool volume ${i.spoolDevice} was never attached"; exit 1; }
blkid "$DEV" >/dev/null 2>&1 || mkfs.xfs -L unmeltable-spool "$DEV"
mkdir -p ${DATA_DIR}
grep -q 'LABEL=unmeltable-spool' /etc/fstab || echo 'LABEL=unmeltable-spool ${DATA_DIR} xfs defaults,noatime,nofail 0 2' >> /etc/fstab
mountpoint -q ${DATA_DIR} || mount ${DATA_DIR}

# 2. Node.js ${i.nodeVersion}, the official build, checked against its published SHA-256; a compiler in
#    case a native package (better-sqlite3, the optional native Kafka client) has no prebuilt binary to download.
dnf install -y tar xz gcc-c++ make python3
cd /tmp
curl -fsSLO --retry 10 --retry-all-errors https://nodejs.org/dist/v${i.nodeVersion}/${node}.tar.xz
curl -fsSLO --retry 10 --retry-all-errors https://nodejs.org/dist/v${i.nodeVersion}/SHASUMS256.txt
grep " ${node}.tar.xz\\$" SHASUMS256.txt | sha256sum -c -
rm -rf /opt/node && mkdir -p /opt/node && tar -xJf ${node}.tar.xz -C /opt/node --strip-components=1
export PATH=/opt/node/bin:$PATH

# 3. The program, and its Kafka client.
${installProgram(i.artifact, i.homeRegion, i.kafkaClient)}
${chooseKafkaClient(i.kafkaClient)}
id unmeltable >/dev/null 2>&1 || useradd --system --home-dir ${DATA_DIR} --shell /sbin/nologin unmeltable
chown -R unmeltable:unmeltable ${DATA_DIR}

# 4. Settings. The TLS certificate and key come from SSM Parameter Store at every service start.
TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
INSTANCE_ID=$(curl -fsS -H "X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)
mkdir -p /etc/unmeltable
cat > /etc/unmeltable/collector.env <<EOF
UNMELTABLE_MSK_CLUSTER_ARN=${i.clusterArn}
AWS_REGION=${i.homeRegion}
UNMELTABLE_TENANTS=${i.tenantsUrl}
UNMELTABLE_COLLECTOR_ID=$INSTANCE_ID
UNMELTABLE_KAFKA_CLIENT=$KAFKA_CLIENT
EOF
cat > /usr/local/libexec/unmeltable-tls <<'EOF'
#!/bin/bash
set -euo pipefail
install -d -m 0750 -o root -g unmeltable /etc/unmeltable/tls
for pair in cert:${i.tls.certParameter} key:${i.tls.keyParameter}; do
  aws ssm get-parameter --region ${q(i.homeRegion)} --with-decryption --name "\${pair#*:}" --query Parameter.Value --output text > "/etc/unmeltable/tls/\${pair%%:*}.pem.new"
  chgrp unmeltable "/etc/unmeltable/tls/\${pair%%:*}.pem.new" && chmod 0640 "/etc/unmeltable/tls/\${pair%%:*}.pem.new"
  mv "/etc/unmeltable/tls/\${pair%%:*}.pem.new" "/etc/unmeltable/tls/\${pair%%:*}.pem"
done
EOF
chmod 0755 /usr/local/libexec/unmeltable-tls

# Bigger socket buffers for syslog over UDP bursts.
cat > /etc/sysctl.d/90-unmeltable.conf <<'EOF'
net.core.rmem_max = 33554432
net.core.rmem_default = 8388608
EOF
sysctl --system >/dev/null

# 5. The service. SIGTERM drains: the collector stops accepting and makes everything accepted durable.
cat > /etc/systemd/system/${SERVICE}.service <<'EOF'
[Unit]
Description=unmeltable collector (syslog UDP/TCP ${i.ports.syslog}, TLS ${i.ports.tls}, HTTPS ${i.ports.https}) -> MSK
Wants=network-online.target
After=network-online.target
RequiresMountsFor=${DATA_DIR}

[Service]
User=unmeltable
Group=unmeltable
EnvironmentFile=/etc/unmeltable/collector.env
ExecStartPre=+/usr/local/libexec/unmeltable-tls
ExecStart=/opt/node/bin/node --enable-source-maps /opt/unmeltable/bin/unmeltable.mjs collector --queue kafka --msk-cluster-arn \${UNMELTABLE_MSK_CLUSTER_ARN} --kafka-sasl aws-msk-iam --aws-region \${AWS_REGION} --data-dir ${DATA_DIR} --host 0.0.0.0 --syslog-port ${i.ports.syslog} --tls-port ${i.ports.tls} --https-port ${i.ports.https} --tls-cert /etc/unmeltable/tls/cert.pem --tls-key /etc/unmeltable/tls/key.pem --collector-id \${UNMELTABLE_COLLECTOR_ID}
AmbientCapabilities=CAP_NET_BIND_SERVICE CAP_SYS_NICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SYS_NICE
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
ReadWritePaths=${DATA_DIR}
LimitNOFILE=1048576
Restart=always
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=120

[Install]
WantedBy=multi-user.target
EOF
systemctl daemon-reload
systemctl enable --now ${SERVICE}.service
${i.metrics ? metricsAgent(i.metrics, i.homeRegion) : ""}`;
}

/**
 * The CloudWatch agent (Amazon Linux's package) scrapes the collector's /metrics every minute and
 * publishes the chosen gauges and counters as EMF to the home region, with the stage (and the
 * collector's instance id) as dimensions, so collectors of every region land beside the alarms
 * (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Agent-PrometheusEC2.html).
 * After the service: a collector runs whether or not its metrics do.
 */
function metricsAgent(m: CollectorMetrics, homeRegion: string): string {
  const agent = {
    agent: { region: homeRegion },
    logs: {
      metrics_collected: {
        prometheus: {
          log_group_name: m.logGroup,
          prometheus_config_path: "/opt/aws/amazon-cloudwatch-agent/etc/unmeltable-prometheus.yaml",
          emf_processor: {
            metric_declaration_dedup: true,
            metric_namespace: m.namespace,
            metric_declaration: [
              {
                source_labels: ["job"],
                label_matcher: "^unmeltable-collector$",
                dimensions: [["stage"], ["stage", "collector"]],
                metric_selectors: PUBLISHED_COLLECTOR_METRICS.map((n) => `^${n}$`),
              },
            ],
          },
        },
      },
      force_flush_interval: 5,
    },
  };
  return `
# 6. Metrics to CloudWatch: the CloudWatch agent scrapes the collector's /metrics (stacks/monitoring.ts alarms on the spool).
dnf install -y amazon-cloudwatch-agent
cat > /opt/aws/amazon-cloudwatch-agent/etc/unmeltable-prometheus.yaml <<EOF
global:
  scrape_interval: 1m
  scrape_timeout: 10s
scrape_configs:
  - job_name: unmeltable-collector
    static_configs:
      - targets: ["127.0.0.1:${m.httpPort}"]
        labels:
          stage: ${JSON.stringify(m.stage)}
          collector: "$INSTANCE_ID"
EOF
cat > /opt/aws/amazon-cloudwatch-agent/etc/unmeltable.json <<'EOF'
${JSON.stringify(agent, null, 2)}
EOF
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/unmeltable.json
`;
}
