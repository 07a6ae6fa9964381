/**
 * @module The `ssm` secret provider: AWS SSM Parameter Store through `@aws-sdk/client-ssm`. Each secret is a
 * SecureString parameter of its full name (`/auto-dev/npm/token`), read with decryption; `list` pages through
 * DescribeParameters under the prefix (names only, no values cross the wire). Region and endpoint come from the
 * settings (an emulator or a VPC endpoint); credentials from the SDK's usual chain, or the AWS_* variables of the
 * environment it is given. Errors name the operation and the parameter, never a value.
 */
import type { SSMClient, SSMClientConfig } from '@aws-sdk/client-ssm';
import { AutodevError } from '../errors.js';
import type { SecretProvider } from './secret-provider.js';

export interface SsmProviderOptions {
  prefix: string;
  region: string | null;
  endpoint: string | null;
  env: Readonly<Record<string, string | undefined>>;
  /** DescribeParameters page size (1..50). */
  pageSize?: number;
}

const DEFAULT_PAGE_SIZE = 50;

function isNotFound(error: unknown): boolean {
  return (error as { name?: unknown }).name === 'ParameterNotFound';
}

function failure(operation: string, name: string, error: unknown): AutodevError {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new AutodevError('SECRET_STORE_UNAVAILABLE', `SSM ${operation} ${name} failed (${reason})`);
}

export function ssmClientConfig(options: SsmProviderOptions): SSMClientConfig {
  const { env } = options;
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return {
    ...(region ? { region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: {
            accessKeyId,
            secretAccessKey,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}

/** The AWS SDK (~0.3 CPU-s to load) is imported on the first call, not by every process that builds the registry. */
const loadSdk = () => import('@aws-sdk/client-ssm');

export function ssmProvider(options: SsmProviderOptions): SecretProvider {
  let client: SSMClient | undefined;
  const sdk = async () => {
    const aws = await loadSdk();
    client ??= new aws.SSMClient(ssmClientConfig(options));
    return { aws, client };
  };
  return {
    kind: 'ssm',
    writable: true,
    async get(name) {
      try {
        const { aws, client } = await sdk();
        const out = await client.send(new aws.GetParameterCommand({ Name: name, WithDecryption: true }));
        return out.Parameter?.Value;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw failure('GetParameter', name, error);
      }
    },
    async set(name, value) {
      try {
        const { aws, client } = await sdk();
        await client.send(
          new aws.PutParameterCommand({ Name: name, Value: value, Type: 'SecureString', Overwrite: true }),
        );
      } catch (error) {
        throw failure('PutParameter', name, error);
      }
    },
    async delete(name) {
      try {
        const { aws, client } = await sdk();
        await client.send(new aws.DeleteParameterCommand({ Name: name }));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw failure('DeleteParameter', name, error);
      }
    },
    async list() {
      const names: string[] = [];
      try {
        const { aws, client } = await sdk();
        const pages = aws.paginateDescribeParameters(
          { client, pageSize: options.pageSize ?? DEFAULT_PAGE_SIZE },
          { ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: [options.prefix] }] },
        );
        for await (const page of pages) {
          for (const parameter of page.Parameters ?? []) if (parameter.Name) names.push(parameter.Name);
        }
      } catch (error) {
        throw failure('DescribeParameters', options.prefix, error);
      }
      return names.sort();
    },
  };
}
