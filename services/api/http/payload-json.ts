const decoder = new TextDecoder();

/**
 * A stored payload as JSON text to splice into a response, never parsed and re-serialised: a payload
 * stored before the nesting limit (or published straight to NATS) may nest deeper than JSON.stringify can
 * recurse, and one such message must not fail the response that carries its neighbours.
 *
 * Valid JSON is passed on verbatim, on one line (a raw CR or LF in valid JSON can only be whitespace
 * between tokens, so SSE's `data:` line survives it); anything else (published around the API) becomes a
 * JSON string of its text.
 */
export function payloadJson(payload: Uint8Array | string): string {
  const text = typeof payload === 'string' ? payload : decoder.decode(payload);
  try {
    // V8's JSON.parse is iterative: it validates text of any depth without overflowing the stack.
    JSON.parse(text);
  } catch {
    return JSON.stringify(text);
  }
  return text.trim().replace(/[\r\n]+/g, ' ');
}

/**
 * `JSON.stringify(fields)` with one more member whose value is already JSON text: how a response carries
 * a payload without re-serialising it.
 */
export function withJsonMember(fields: Record<string, unknown>, name: string, json: string): string {
  const head = JSON.stringify(fields);
  return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}${JSON.stringify(name)}:${json}}`;
}
