// Canonical values → parameters node-postgres sends, and target values → canonical values.

/** Epoch ms → ISO-8601 UTC text (exact; a timestamptz[] cast reads it without float rounding). */
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** timestamptz as node-postgres returns it (Date) → epoch ms. */
export function millis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return new Date(String(value)).getTime();
}

export function optionalMillis(value: unknown): number | null {
  return value === null || value === undefined ? null : millis(value);
}

/** A parsed JSON value → jsonb parameter text; JSON null is stored as SQL NULL. */
export function jsonText(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
