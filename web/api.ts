/** The ledger's HTTP API (spec/api.md), same origin as the page. Answers are data, not yet trusted. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; code?: string; field?: string },
  ) {
    super(problem.detail ?? problem.title ?? `the server answered ${status}`);
  }
}

async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  let problem: ProblemError['problem'] = {};
  try {
    problem = (await res.json()) as ProblemError['problem'];
  } catch {
    // not a problem document; keep the status
  }
  throw new ProblemError(res.status, problem);
}

export const api = {
  async json<T>(path: string): Promise<T> {
    return (await (await check(await fetch(path))).json()) as T;
  },
  /**
   * Every item of a paginated list (`uses`, `consents`; spec/api.md "Pages"), following `next`
   * for at most `maxPages` pages of 1,000: a page never waits on a list without end.
   */
  async pages<T>(path: string, field: 'uses' | 'consents', maxPages = 20): Promise<T[]> {
    const items: T[] = [];
    for (let page = 0, after: string | null = null; page < maxPages; page++) {
      const answer: Record<string, unknown> = await api.json(`${path}?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      items.push(...(answer[field] as T[]));
      if (typeof answer.next !== 'string') break;
      after = answer.next;
    }
    return items;
  },
  async text(path: string): Promise<string> {
    return (await check(await fetch(path))).text();
  },
  async post<T>(path: string, body: string): Promise<T> {
    const res = await fetch(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return (await (await check(res)).json()) as T;
  },
};
