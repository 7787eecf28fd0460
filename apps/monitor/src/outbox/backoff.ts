/** How a sink retries: capped exponential backoff with jitter, optionally giving up. */
export interface RetryPolicy {
  readonly initial: number;
  readonly max: number;
  readonly factor: number;
  /** Attempts before giving up (the notification is kept as dead); null: never give up. */
  readonly maxAttempts: number | null;
}

/**
 * The wait after `failures` consecutive failed attempts (1, 2, …): the capped exponential
 * `min(max, initial · factor^(failures−1))`, with "equal jitter": half of it fixed, half random.
 * The fixed half keeps a down sink from being hammered; the random half spreads the retries of
 * many notifications (and many monitors) so they do not arrive in lockstep.
 */
export function retryDelay(policy: RetryPolicy, failures: number, random: () => number): number {
  const base = Math.min(policy.max, policy.initial * policy.factor ** Math.max(0, failures - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

/** True when the attempt that just failed was the last one allowed. */
export function exhausted(policy: RetryPolicy, attempts: number): boolean {
  return policy.maxAttempts !== null && attempts >= policy.maxAttempts;
}
