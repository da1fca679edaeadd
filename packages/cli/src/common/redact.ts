/**
 * Credentials never reach a terminal or a log: URLs lose their password (`http://user:***@host`), and any secret
 * registered here (a password from the environment, say) is masked wherever it appears. Used by every CLI output
 * stream, so a line that some library prints with a URL in it is covered too.
 */
const MASK = '***';
const secrets = new Set<string>();
/** user:password@ in any scheme://; the user name is kept (it tells which account), the password is not. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^\s/@:'"]*):([^\s/@'"]*)@/gi;
/** user:password@host in a value that is not a well-formed URL (a missing colon after the scheme, say). */
const LOOSE_CREDENTIALS = /([^\s/@:'"]+):([^\s/@'"]+)@[^\s@]/;
/** Secrets shorter than this would mask ordinary words; such passwords are still removed from URLs. */
const MIN_SECRET_LENGTH = 4;

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) {
    secrets.add(value);
    // A password travels percent-encoded in URLs and base64-encoded in basic auth headers.
    secrets.add(encodeURIComponent(value));
  }
}

/** Registers the passwords of the URLs and the values of the secret-looking variables of `env`. */
export function registerSecretsFrom(env: NodeJS.ProcessEnv, urls: readonly (string | undefined)[] = []): void {
  for (const [key, value] of Object.entries(env)) {
    if (/PASSWORD|SECRET|TOKEN|API_KEY/i.test(key)) registerSecret(value);
    if (value && value.includes('@')) registerSecret(passwordOf(value));
  }
  for (const url of urls) if (url) registerSecret(passwordOf(url));
}

function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    if (password) return decodeURIComponent(password);
  } catch {
    // not a URL: see below
  }
  return LOOSE_CREDENTIALS.exec(url)?.[2];
}

export function redact(text: string): string {
  let out = text.replace(URL_CREDENTIALS, `$1:${MASK}@`);
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}

/** A URL as it may be printed: without its password. */
export function displayUrl(url: string): string {
  return redact(url);
}

let installed = false;

/** Every write to stdout and stderr of this process goes through redact(). */
export function redactProcessOutput(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : undefined;
      return text === undefined ? write(chunk, ...rest) : write(redact(text), ...rest);
    }) as typeof stream.write;
  }
}
