//! The legacy pcap container, read in the byte order its magic number
//! says: microsecond and nanosecond timestamps, and the "modified" pcap
//! (Alexey Kuznetsov's patched libpcap, `editcap -F modpcap`), whose records
//! carry 8 more header bytes.
//!
//! Every length comes from the file and is checked against what is left
//! of it: a record that claims more than the file holds ends the reading
//! (`cut_short`), never an allocation.

/// The global header's size.
const HEADER: usize = 24;

/// What the magic number says about the records.
#[derive(Debug, Clone, Copy)]
struct Form {
    big_endian: bool,
    nanos: bool,
    /// Bytes of each record's header: 16, or 24 for the modified form.
    record_header: usize,
}

/// A legacy pcap file: its link type and its records.
#[derive(Debug)]
pub(crate) struct Legacy<'a> {
    /// The link type of every record.
    pub linktype: i32,
    form: Form,
    rest: &'a [u8],
    /// A record claimed more bytes than the file holds.
    pub cut_short: bool,
}

/// One record: capture time, bytes kept, length on the wire.
#[derive(Debug)]
pub(crate) struct Record<'a> {
    pub ts_us: u64,
    pub data: &'a [u8],
    pub origlen: u32,
}

impl<'a> Legacy<'a> {
    /// Reads the global header, if `bytes` starts with a legacy pcap magic.
    pub fn open(bytes: &'a [u8]) -> Option<Legacy<'a>> {
        let header = bytes.get(..HEADER)?;
        let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let (big_endian, nanos, record_header) = match magic {
            0xa1b2_c3d4 => (false, false, 16),
            0xd4c3_b2a1 => (true, false, 16),
            0xa1b2_3c4d => (false, true, 16),
            0x4d3c_b2a1 => (true, true, 16),
            0xa1b2_cd34 => (false, false, 24),
            0x34cd_b2a1 => (true, false, 24),
            _ => return None,
        };
        let form = Form {
            big_endian,
            nanos,
            record_header,
        };
        Some(Legacy {
            linktype: (form.u32(&header[20..24]) & 0x0fff_ffff) as i32,
            form,
            rest: &bytes[HEADER..],
            cut_short: false,
        })
    }
}

impl Form {
    fn u32(self, b: &[u8]) -> u32 {
        let b = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
}

impl<'a> Iterator for Legacy<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.rest.is_empty() || self.cut_short {
            return None;
        }
        let form = self.form;
        let Some(head) = self.rest.get(..form.record_header) else {
            self.cut_short = true;
            return None;
        };
        let (sec, sub) = (form.u32(&head[0..4]), form.u32(&head[4..8]));
        let (caplen, origlen) = (form.u32(&head[8..12]) as usize, form.u32(&head[12..16]));
        let body = &self.rest[form.record_header..];
        let Some(data) = body.get(..caplen) else {
            self.cut_short = true;
            return None;
        };
        self.rest = &body[caplen..];
        let sub_us = if form.nanos {
            u64::from(sub) / 1000
        } else {
            u64::from(sub)
        };
        Some(Record {
            ts_us: u64::from(sec) * 1_000_000 + sub_us,
            data,
            origlen,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(magic: u32, big: bool, records: &[(u32, u32, &[u8])], extra: usize) -> Vec<u8> {
        let word = |v: u32| {
            if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend(word(magic));
        out.extend(if big { [0, 2, 0, 4] } else { [2, 0, 4, 0] });
        out.extend([0; 8]);
        out.extend(word(65535));
        out.extend(word(1));
        for (sec, sub, data) in records {
            for v in [*sec, *sub, data.len() as u32, data.len() as u32 + 1] {
                out.extend(word(v));
            }
            out.extend(std::iter::repeat_n(0, extra));
            out.extend(*data);
        }
        out
    }

    #[test]
    fn every_form_reads_the_same_records() {
        let records: [(u32, u32, &[u8]); 2] = [(1, 500, b"abc"), (2, 7, b"")];
        for (magic, big, extra, scale) in [
            (0xa1b2_c3d4, false, 0, 1),
            (0xa1b2_c3d4, true, 0, 1),
            (0xa1b2_3c4d, false, 0, 1000),
            (0xa1b2_3c4d, true, 0, 1000),
            (0xa1b2_cd34, false, 8, 1),
            (0xa1b2_cd34, true, 8, 1),
        ] {
            let scaled: Vec<_> = records
                .iter()
                .map(|(s, u, d)| (*s, u * scale, *d))
                .collect();
            let bytes = file(magic, big, &scaled, extra);
            let mut pcap = Legacy::open(&bytes).unwrap();
            assert_eq!(pcap.linktype, 1, "{magic:x} {big}");
            let got: Vec<_> = pcap
                .by_ref()
                .map(|r| (r.ts_us, r.data.to_vec(), r.origlen))
                .collect();
            assert_eq!(
                got,
                [(1_000_500, b"abc".to_vec(), 4), (2_000_007, Vec::new(), 1)],
                "{magic:x} big-endian {big}"
            );
            assert!(!pcap.cut_short);
        }
    }

    #[test]
    fn a_record_longer_than_the_file_ends_the_reading() {
        let mut bytes = file(0xa1b2_c3d4, false, &[(1, 0, b"abcdef")], 0);
        bytes.truncate(bytes.len() - 2);
        let mut pcap = Legacy::open(&bytes).unwrap();
        assert!(pcap.next().is_none());
        assert!(pcap.cut_short);
    }
}
