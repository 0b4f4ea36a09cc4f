/**
 * Private S3 buckets (no public access, SSE-S3 encryption, owner-enforced objects, TLS-only policy) and
 * the configuration bucket holding `tenants.json` (versioned, so a bad edit can be rolled back).
 * Ops upload tenants.json themselves (docs/deploy.md); the deploy never overwrites it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "./config";

export interface PrivateBucket {
  bucket: aws.s3.Bucket;
  name: pulumi.Output<string>;
  arn: pulumi.Output<string>;
}

export function privateBucket(
  name: string,
  cfg: StageConfig,
  opts: { versioning?: boolean; lifecycle?: aws.s3.BucketLifecycleConfigurationArgs["rules"] } = {},
): PrivateBucket {
  const bucket = new aws.s3.Bucket(name, {
    // Production buckets are kept by `sst remove` (the app's removal policy is "retain" there); other
    // stages' buckets are emptied and removed with the stage.
    forceDestroy: cfg.kind !== "production",
  });
  new aws.s3.BucketPublicAccessBlock(`${name}PublicAccessBlock`, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new aws.s3.BucketOwnershipControls(`${name}Ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
  new aws.s3.BucketServerSideEncryptionConfiguration(`${name}Encryption`, {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
  });
  new aws.s3.BucketPolicy(`${name}TlsOnly`, {
    bucket: bucket.id,
    policy: pulumi.jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ],
    }),
  });
  if (opts.versioning) new aws.s3.BucketVersioning(`${name}Versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } });
  if (opts.lifecycle) new aws.s3.BucketLifecycleConfiguration(`${name}Lifecycle`, { bucket: bucket.id, rules: opts.lifecycle });
  return { bucket, name: bucket.bucket, arn: bucket.arn };
}

export const TENANTS_KEY = "tenants.json";

/** The configuration bucket and the tenants location every function and collector reads. */
export function createConfigStore(cfg: StageConfig) {
  const store = privateBucket("ConfigBucket", cfg, {
    versioning: true,
    lifecycle: [{ id: "old-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } }],
  });
  return {
    ...store,
    tenantsUrl: pulumi.interpolate`s3://${store.name}/${TENANTS_KEY}`,
    tenantsObjectArn: pulumi.interpolate`${store.arn}/${TENANTS_KEY}`,
  };
}
