import type { TenantCursor } from '@transcribe/db';

/** `<tx>-<id>`: what clients see of a tenant-stream position (TenantCursor in contracts). */
export function formatCursor(cursor: TenantCursor): string {
  return `${cursor.tx}-${cursor.id}`;
}

/** Parses a string already validated by the contract's TenantCursor. */
export function parseCursor(value: string): TenantCursor {
  const [tx, id] = value.split('-');
  return { tx: tx!, id: Number(id) };
}

/** Strictly after, in the tenant stream's order. */
export function cursorAfter(a: TenantCursor, b: TenantCursor): boolean {
  const ta = BigInt(a.tx);
  const tb = BigInt(b.tx);
  return ta > tb || (ta === tb && a.id > b.id);
}
