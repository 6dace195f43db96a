// Payload encryption (AES-256-GCM) shared by workers, clients and the codec server, so even
// something sensitive that slipped into history is unreadable without the key. The key is given by
// reference: MIGRATOR_CODEC_KEY = env:NAME or file:PATH of a base64 32-byte key. Unset: no codec.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS whose named exports Node's ESM loader cannot see: take the default.
import proto from '@temporalio/proto';

const { temporal } = proto;

export const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class EncryptionCodec implements PayloadCodec {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error(`payload codec key must be 32 bytes, got ${key.length}`);
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16); // names the key, reveals nothing
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCODING), [KEY_ID]: encoder.encode(this.keyId) },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const encoding = p.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCODING) return p;
      const keyId = p.metadata?.[KEY_ID] ? decoder.decode(p.metadata[KEY_ID]) : '';
      if (keyId !== this.keyId) throw new Error(`payload encrypted with key ${keyId}, this codec holds ${this.keyId}`);
      const data = Buffer.from(p.data ?? new Uint8Array());
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    });
  }
}

/** The codec configured by MIGRATOR_CODEC_KEY (a reference), or null. */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): EncryptionCodec | null {
  const ref = env.MIGRATOR_CODEC_KEY;
  if (!ref) return null;
  let text: string | undefined;
  if (ref.startsWith('env:')) text = env[ref.slice(4)];
  else if (ref.startsWith('file:')) text = readFileSync(ref.slice(5), 'utf8');
  else
    throw new Error(
      'MIGRATOR_CODEC_KEY must be env:NAME or file:PATH (a reference to a base64 32-byte key), never the key itself',
    );
  if (!text) throw new Error(`MIGRATOR_CODEC_KEY=${ref}: no key there`);
  return new EncryptionCodec(Buffer.from(text.trim(), 'base64'));
}

export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.ts', import.meta.url));
