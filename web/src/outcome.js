// How a conversation ended, for its title in the list: the server's
// answer to its first request (`AUTH as "alice": accepted`, `DOWNLOAD
// "x": not found`). Pure, so node --test checks every answer.

const value = (m, name) => m?.fields.find((f) => f.name === name)?.value;

/** The page's sentence key for how conversation `c` ended, or null when
 *  it holds no ferry request (a TLS conversation not opened). */
export function outcomeKey(c) {
  const messages = c.messages.filter((m) => m.layer !== 'tls');
  const at = messages.findIndex((m) => m.direction === 'to_server' && (m.kind === 'request' || m.kind === 'malformed'));
  if (at < 0) return null;
  const request = messages[at];
  const later = messages.slice(at + 1);
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
