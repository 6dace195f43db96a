// The innermost useful message of a workflow failure (ActivityFailure → ApplicationFailure …).
export function failureMessage(err: unknown): string {
  const parts: string[] = [];
  let e = err as { message?: string; cause?: unknown; type?: string } | undefined;
  while (e) {
    if (e.message && !/^(Workflow execution failed|Activity task failed|Child Workflow execution failed)$/.test(e.message)) {
      parts.push(e.type ? `${e.type}: ${e.message}` : e.message);
    }
    e = e.cause as typeof e;
  }
  return parts.at(-1) ?? String(err);
}
