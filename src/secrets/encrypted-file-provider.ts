/**
 * @module The `file` secret provider: `<data-dir>/secrets.enc`, one JSON object of name -> value encrypted with
 * AES-256-GCM (node:crypto). The key is derived (scrypt, a random salt per write) from `AUTODEV_MASTER_KEY`, or
 * from the content of a key file that only its owner may read (mode 0600; a looser mode is refused). A wrong key
 * or an altered file fails GCM's check and is refused clearly; every write goes to a temporary file (0600) that is
 * synced and renamed over the old one, so a crash leaves the old or the new file, never half of one.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AutodevError } from '../errors.js';
import type { SecretProvider } from './secret-provider.js';

export const SECRETS_FILE = 'secrets.enc';
export const DEFAULT_KEY_FILE = 'secrets.key';
export const MASTER_KEY_ENV = 'AUTODEV_MASTER_KEY';

const FORMAT = 'autodev-secrets-v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const SALT_BYTES = 16;

const EnvelopeSchema = z.strictObject({
  format: z.literal(FORMAT),
  salt: z.base64(),
  iv: z.base64(),
  tag: z.base64(),
  data: z.base64(),
});
const ContentSchema = z.record(z.string(), z.string());

export interface EncryptedFileOptions {
  /** `<data-dir>/secrets.enc`. */
  file: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Read when `AUTODEV_MASTER_KEY` is not set. */
  keyFile: string;
  prefix: string;
}

/** The master key: `AUTODEV_MASTER_KEY`, else the key file's content; refuses a key file others may read. */
export function readMasterKey(options: Pick<EncryptedFileOptions, 'env' | 'keyFile'>): string {
  const fromEnv = options.env[MASTER_KEY_ENV]?.trim();
  if (fromEnv) return fromEnv;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(options.keyFile);
  } catch {
    throw new AutodevError(
      'SECRET_KEY_MISSING',
      `the encrypted secrets file needs a master key: set ${MASTER_KEY_ENV}, or create the key file ${options.keyFile} ` +
        `(e.g. "umask 077; head -c 32 /dev/urandom | base64 > ${options.keyFile}")`,
    );
  }
  if (!stat.isFile()) {
    throw new AutodevError('SECRET_KEY_MISSING', `the master key file ${options.keyFile} is not a regular file`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new AutodevError(
      'SECRET_KEY_FILE_INSECURE',
      `the master key file ${options.keyFile} has mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}, ` +
        `so other users may read it; run "chmod 600 ${options.keyFile}" (Auto-Dev refuses a looser mode)`,
    );
  }
  const key = fs.readFileSync(options.keyFile, 'utf8').trim();
  if (!key) throw new AutodevError('SECRET_KEY_MISSING', `the master key file ${options.keyFile} is empty`);
  return key;
}

function deriveKey(masterKey: string, salt: Buffer): Buffer {
  return crypto.scryptSync(masterKey, salt, KEY_BYTES);
}

function decrypt(file: string, text: string, masterKey: string): Record<string, string> {
  let envelope: z.infer<typeof EnvelopeSchema>;
  try {
    envelope = EnvelopeSchema.parse(JSON.parse(text));
  } catch {
    throw new AutodevError(
      'SECRET_STORE_UNAVAILABLE',
      `${file} is not an Auto-Dev secrets file (${FORMAT}); move it away or restore it from a backup`,
    );
  }
  const decipher = crypto.createDecipheriv(
    'aes-256-gcm',
    deriveKey(masterKey, Buffer.from(envelope.salt, 'base64')),
    Buffer.from(envelope.iv, 'base64'),
  );
  decipher.setAAD(Buffer.from(FORMAT));
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
  let plain: string;
  try {
    plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new AutodevError(
      'SECRET_KEY_WRONG',
      `cannot decrypt ${file}: the master key (${MASTER_KEY_ENV} or the key file) is not the one it was written ` +
        'with, or the file was altered; nothing was read or changed',
    );
  }
  return ContentSchema.parse(JSON.parse(plain));
}

function encrypt(secrets: Record<string, string>, masterKey: string): string {
  const salt = crypto.randomBytes(SALT_BYTES);
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', deriveKey(masterKey, salt), iv);
  cipher.setAAD(Buffer.from(FORMAT));
  const data = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()]);
  return JSON.stringify({
    format: FORMAT,
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  });
}

/** Writes `content` to `file` atomically: a synced temporary file of mode 0600 renamed over it. */
function writeAtomically(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(temporary, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

export function encryptedFileProvider(options: EncryptedFileOptions): SecretProvider {
  /** Decrypts the file (empty when there is none yet); the key is checked whenever there is a file. */
  const load = (): { secrets: Record<string, string>; masterKey: string } => {
    const masterKey = readMasterKey(options);
    let text: string;
    try {
      text = fs.readFileSync(options.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { secrets: {}, masterKey };
      throw new AutodevError('SECRET_STORE_UNAVAILABLE', `cannot read ${options.file}: ${(error as Error).message}`);
    }
    return { secrets: decrypt(options.file, text, masterKey), masterKey };
  };
  // async: a refusal (wrong key, loose key file) is a rejected promise, never a synchronous throw.
  return {
    kind: 'file',
    writable: true,
    get: async (name) => load().secrets[name],
    set: async (name, value) => {
      const { secrets, masterKey } = load();
      writeAtomically(options.file, encrypt({ ...secrets, [name]: value }, masterKey));
    },
    delete: async (name) => {
      const { secrets, masterKey } = load();
      if (!(name in secrets)) return false;
      const rest = Object.fromEntries(Object.entries(secrets).filter(([key]) => key !== name));
      writeAtomically(options.file, encrypt(rest, masterKey));
      return true;
    },
    list: async () =>
      Object.keys(load().secrets)
        .filter((name) => name.startsWith(`${options.prefix}/`))
        .sort(),
  };
}
