/** Basic-auth credentials (QuestDB's HTTP `http.user`/`http.password`, PG `pg.user`/`pg.password`). */
export interface QuestDbCredentials {
  username: string;
  password: string;
}

/** Splits `http://user:pass@host:9000/` into a credential-free base URL (fetch rejects userinfo) and credentials. */
export function splitCredentials(url: string): { baseUrl: string; credentials: QuestDbCredentials | undefined } {
  const parsed = new URL(url);
  const credentials = parsed.username
    ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) }
    : undefined;
  parsed.username = '';
  parsed.password = '';
  return { baseUrl: parsed.href.replace(/\/+$/, ''), credentials };
}

export function authHeaders(credentials: QuestDbCredentials | undefined): Record<string, string> {
  if (!credentials) return {};
  const token = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  return { authorization: `Basic ${token}` };
}

/** True when `GET /exec?query=select 1` answers 200 within `timeoutMs`: the server is up and runs SQL. */
export async function answersSelectOne(
  httpUrl: string,
  credentials: QuestDbCredentials | undefined,
  timeoutMs = 2_000,
): Promise<boolean> {
  try {
    const response = await fetch(`${httpUrl}/exec?query=${encodeURIComponent('select 1')}`, {
      headers: authHeaders(credentials),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
