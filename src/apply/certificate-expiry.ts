// Which certificates of a cluster need renewing soon: the rule `berth status` warns by, kept apart from
// the SSH that reads them so that it can be tested on its own.

const dayMs = 86_400_000;

/** `berth status` warns this many days before a certificate's notAfter. */
export const expiryWarningDays = 30;

/** Whole days from `now` to `notAfter`, negative once it has passed. */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / dayMs);
}

/** The certificates that expire within `days` of `now` (those already expired too), soonest first. */
export function expiringWithin<T extends { notAfter: Date }>(
  certificates: readonly T[],
  now: Date,
  days: number = expiryWarningDays,
): T[] {
  return certificates
    .filter((c) => c.notAfter.getTime() - now.getTime() < days * dayMs)
    .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime());
}

/** The one line `berth status` prints for a certificate expiringWithin returned. */
export function expiryWarning(c: {
  host: string;
  path: string;
  position?: number;
  subject: string;
  notAfter: Date;
  daysLeft: number;
}): string {
  const where = `${c.host}:${c.path}${c.position ? `#${c.position}` : ''}`;
  const when = c.daysLeft < 0 ? `expired ${-c.daysLeft} day(s) ago` : `expires in ${c.daysLeft} day(s)`;
  return `certificate ${where} (${c.subject}) ${when}, on ${c.notAfter.toISOString()}: renew it`;
}
