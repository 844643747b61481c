import { problemError, unreachable } from './dab-client.js';

export interface AuditExportRequest {
  /** Base URL of dab. */
  url: string;
  /** An auditor's bearer JWT, or a function that returns a current one. */
  bearer: string | (() => string | Promise<string>);
  /** Query of GET /v1/audit/export: filters, format, order. */
  query: Record<string, string>;
  /**
   * Give up when dab sends nothing for this long. An export of millions of rows may run for
   * minutes, so there is no overall deadline; a stalled one must still end.
   */
  idleTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** The export started but did not finish: dab stopped sending, or the connection broke. */
export class DabStreamError extends Error {
  override name = 'DabStreamError';
}

/**
 * Streams GET /v1/audit/export: yields the body's chunks as they arrive, and reads the next one
 * only when the consumer asks, so a slow disk or pipe slows dab down instead of filling memory.
 * Errors before the first byte are DabProblemError / DabUnreachableError, as for every dab call.
 */
export async function* streamAuditExport(req: AuditExportRequest): AsyncGenerator<Uint8Array> {
  const bearer = typeof req.bearer === 'function' ? await req.bearer() : req.bearer;
  const endpoint = new URL(`/v1/audit/export?${new URLSearchParams(req.query)}`, req.url);
  const idleMs = req.idleTimeoutMs ?? 60_000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // The clock runs only while waiting for dab, never while the consumer is busy with a chunk.
  const waitForDab = () => (timer = setTimeout(() => controller.abort(), idleMs));
  const consumerTurn = () => clearTimeout(timer);

  waitForDab();
  try {
    let response: Response;
    try {
      response = await (req.fetch ?? fetch)(endpoint, {
        headers: { authorization: `Bearer ${bearer}`, accept: 'application/x-ndjson, text/csv, application/problem+json' },
        signal: controller.signal,
      });
    } catch (err) {
      throw unreachable(endpoint, err);
    }
    if (!response.ok) throw problemError(response, await response.text());
    if (!response.body) return;
    try {
      for await (const chunk of response.body) {
        consumerTurn();
        yield chunk;
        waitForDab();
      }
    } catch (err) {
      if (controller.signal.aborted) throw new DabStreamError(`dab sent nothing for ${idleMs / 1000} s`);
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new DabStreamError(`the connection to dab broke mid-export (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
  } finally {
    consumerTurn();
    // Stops the download when the consumer gave up early (an error writing the output, say).
    controller.abort();
  }
}
