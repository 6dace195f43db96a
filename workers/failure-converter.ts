// Failure messages and stack traces go into an encoded attributes payload, so the payload codec
// encrypts them too. Loaded by path into the workflow sandbox: imports @temporalio/common only.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
