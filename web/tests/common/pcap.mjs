// Writes classic pcap files of TCP conversations for the page's tests:
// Ethernet, IPv4 and TCP headers around the bytes each side sends, with
// the handshake, acknowledgements and the close, as tcpdump would have
// recorded them on loopback (checksums left zero, as offloading leaves
// them in real captures).

const CLIENT_IP = [127, 0, 0, 1];
const SERVER_IP = [127, 0, 0, 1];
const SYN = 0x02;
const FIN = 0x01;
const PSH = 0x08;
const ACK = 0x10;

/** One conversation: `port` the client's, `steps` what each side sends
 *  in turn (`{ from: 'client' | 'server', bytes, mss, again }`: bytes cut
 *  into segments of at most `mss`, and the segments whose indices are in
 *  `again` captured a second time, as a retransmission). */
export function pcap(conversations, serverPort = 20000) {
  const packets = [];
  let time = 1_700_000_000_000_000;
  for (const { port, steps } of conversations) {
    const seq = { client: 1000, server: 5000 };
    const send = (from, flags, bytes = new Uint8Array(), at = seq[from]) => {
      const other = from === 'client' ? 'server' : 'client';
      time += 100;
      packets.push({
        time,
        frame: tcp({
          src: from === 'client' ? port : serverPort,
          dst: from === 'client' ? serverPort : port,
          srcIp: from === 'client' ? CLIENT_IP : SERVER_IP,
          dstIp: from === 'client' ? SERVER_IP : CLIENT_IP,
          seq: at,
          ack: flags & ACK ? seq[other] : 0,
          flags,
          bytes,
        }),
      });
    };
    send('client', SYN);
    seq.client += 1;
    send('server', SYN | ACK, undefined, seq.server);
    seq.server += 1;
    send('client', ACK);
    for (const { from, bytes, mss = 1448, again = [] } of steps) {
      const other = from === 'client' ? 'server' : 'client';
      for (let at = 0, k = 0; at < bytes.length; at += mss, k++) {
        const piece = bytes.subarray(at, at + mss);
        send(from, PSH | ACK, piece);
        if (again.includes(k)) send(from, PSH | ACK, piece);
        seq[from] += piece.length;
      }
      send(other, ACK);
    }
    send('client', FIN | ACK);
    seq.client += 1;
    send('server', FIN | ACK);
    seq.server += 1;
    send('client', ACK);
  }
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  const records = packets.map(({ time: us, frame }) => {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(Math.floor(us / 1e6), 0);
    record.writeUInt32LE(us % 1e6, 4);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    return Buffer.concat([record, frame]);
  });
  return Buffer.concat([header, ...records]);
}

function tcp({ src, dst, srcIp, dstIp, seq, ack, flags, bytes }) {
  const frame = Buffer.alloc(14 + 20 + 20 + bytes.length);
  frame.writeUInt16BE(0x0800, 12);
  const ip = 14;
  frame[ip] = 0x45;
  frame.writeUInt16BE(20 + 20 + bytes.length, ip + 2);
  frame[ip + 8] = 64;
  frame[ip + 9] = 6;
  frame.set(srcIp, ip + 12);
  frame.set(dstIp, ip + 16);
  const t = ip + 20;
  frame.writeUInt16BE(src, t);
  frame.writeUInt16BE(dst, t + 2);
  frame.writeUInt32BE(seq >>> 0, t + 4);
  frame.writeUInt32BE(ack >>> 0, t + 8);
  frame[t + 12] = 5 << 4;
  frame[t + 13] = flags;
  frame.writeUInt16BE(65535, t + 14);
  frame.set(bytes, t + 20);
  return frame;
}

/** A ferry name or other length-prefixed field: u32 length, then bytes. */
export function prefixed(text) {
  const bytes = Buffer.from(text, 'utf8');
  const out = Buffer.alloc(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/** A u32, big-endian. */
export function u32(n) {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n, 0);
  return out;
}
