// Update validators reject by throwing; the message reaches the caller.
export function assertState(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}
