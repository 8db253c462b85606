/** The label of every tenant past the first `limit` seen. */
export const OTHER_TENANTS = 'other';

/**
 * Per-tenant metric labels with bounded cardinality: the first `limit` distinct tenants
 * this process sees get their own label (their id), every later one `other`. Each label
 * value is a set of series per metric that Prometheus keeps forever, so an unbounded
 * tenant count must not become unbounded series. First seen, not "largest": the set
 * never changes under a running process, so a tenant's series never moves to `other`
 * halfway through (a restart may pick a different set; the dashboard sums by label).
 */
export function tenantLabeler(limit: number): (tenantId: string) => string {
  const labelled = new Set<string>();
  return (tenantId) => {
    if (labelled.has(tenantId)) return tenantId;
    if (labelled.size >= limit) return OTHER_TENANTS;
    labelled.add(tenantId);
    return tenantId;
  };
}
