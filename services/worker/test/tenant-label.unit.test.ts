// Per-tenant labels stay bounded: the first N tenants seen keep their own, the rest share one.
import { OTHER_TENANTS, tenantLabeler } from '../src/tenant-label.js';

it('labels the first N distinct tenants by id and every later one `other`', () => {
  const label = tenantLabeler(2);
  expect(['a', 'b', 'a', 'c', 'b', 'd'].map(label)).toEqual(['a', 'b', 'a', 'other', 'b', 'other']);
});

it('never moves a labelled tenant to `other`, however many come after', () => {
  const label = tenantLabeler(3);
  for (const id of ['x', 'y', 'z']) label(id);
  for (let i = 0; i < 1000; i++) expect(label(`t${i}`)).toBe(OTHER_TENANTS);
  expect(['z', 'y', 'x'].map(label)).toEqual(['z', 'y', 'x']);
});

it('with a limit of 0 labels every tenant `other`', () => {
  const label = tenantLabeler(0);
  expect(label('a')).toBe(OTHER_TENANTS);
  expect(label('a')).toBe(OTHER_TENANTS);
});
