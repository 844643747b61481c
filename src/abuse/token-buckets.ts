/** How many requests a key may make at once (burst), and how fast that allowance refills. */
export interface BucketRule {
  burst: number;
  perSecond: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets by key, in insertion-ordered Map used as an LRU: a key touched moves to the end, and
 * past maxKeys the least recently seen is forgotten. Forgetting a bucket only hands that key a full
 * burst again, so memory stays bounded under any number of distinct identities or addresses.
 */
export function createTokenBuckets(opts: { maxKeys: number; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const buckets = new Map<string, Bucket>();

  return {
    take(key: string, rule: BucketRule): Take {
      const t = now();
      let bucket = buckets.get(key);
      if (bucket) {
        buckets.delete(key);
        bucket.tokens = Math.min(rule.burst, bucket.tokens + ((t - bucket.at) / 1000) * rule.perSecond);
        bucket.at = t;
      } else {
        bucket = { tokens: rule.burst, at: t };
      }
      buckets.set(key, bucket);
      if (buckets.size > opts.maxKeys) buckets.delete(buckets.keys().next().value as string);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / rule.perSecond)) };
    },
    get size(): number {
      return buckets.size;
    },
  };
}
