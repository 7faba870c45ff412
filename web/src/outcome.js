// How a conversation ended, for its title in the list: the server's
// answer to its request (`DOWNLOAD "x": not found`), and after an accepted
// login, to the operation it opened (`AUTH as "alice": accepted · DOWNLOAD
// "notes.txt": ok`). Pure, so node --test checks every answer.

const value = (m, name) => m?.fields.find((f) => f.name === name)?.value;
const isRequest = (m) => m.direction === 'to_server' && (m.kind === 'request' || m.kind === 'malformed');

/** The outcome of `request`, read from the messages after it. */
function outcomeOf(request, later) {
  const reply = later.find((m) => m.direction === 'to_client' && value(m, 'status') !== undefined);
  if (!reply) return 'outcome_no_answer';
  const ok = value(reply, 'status') === '0';
  switch (request.kind === 'malformed' ? null : request.op) {
    case 'AUTH':
      return ok ? 'outcome_accepted' : 'outcome_denied';
    case 'DOWNLOAD':
      return ok ? 'outcome_ok' : 'outcome_not_found';
    case 'UPLOAD': {
      if (!ok) return 'outcome_refused';
      const final = later.find((m) => m.kind === 'final status');
      if (!final) return 'outcome_accepted';
      return value(final, 'status') === '0' ? 'outcome_stored' : 'outcome_not_stored';
    }
    case 'RESUME': {
      if (!ok) return 'outcome_refused';
      const result = value(reply, 'result');
      if (result === '10') return 'outcome_not_found';
      if (result === '20') return 'outcome_mismatch';
      return result === '0' ? 'outcome_ok' : 'outcome_no_answer';
    }
    case 'MGET': {
      if (!ok) return 'outcome_refused';
      const skipped = later.some((m) => m.kind === 'entry' && value(m, 'entry_status') !== '0');
      return skipped ? 'outcome_skipped' : 'outcome_ok';
    }
    default:
      return ok ? 'outcome_ok' : 'outcome_refused';
  }
}

/** Conversation `c`'s requests and how each ended: `{ request, key }`
 *  (the request's message and the page's sentence key), the login first
 *  and then the operation it opened. Empty when it holds no ferry request
 *  (a TLS conversation not opened). */
export function outcomes(c) {
  const messages = c.messages.filter((m) => m.layer !== 'tls');
  const out = [];
  let at = messages.findIndex(isRequest);
  while (at >= 0) {
    const request = messages[at];
    const later = messages.slice(at + 1);
    const key = outcomeOf(request, later);
    out.push({ request, key });
    // A connection carries one operation, after a login if it has one.
    if (request.op !== 'AUTH' || key !== 'outcome_accepted') break;
    const next = later.findIndex(isRequest);
    at = next < 0 ? -1 : at + 1 + next;
  }
  return out;
}
