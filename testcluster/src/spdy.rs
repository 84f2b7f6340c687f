//! SPDY/3.1 framing as Kubernetes' streaming connections speak it (`kubectl port-forward` over
//! an `Upgrade: SPDY/3.1` connection, or tunnelled in WebSocket binary messages): frames parsed
//! from and written to bytes, header blocks compressed with zlib primed with the protocol's
//! dictionary, one compression context per direction for the whole connection. No flow control:
//! Kubernetes' SPDY peers (moby/spdystream) neither send nor need WINDOW_UPDATE.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// The zlib dictionary of SPDY/3 header blocks (draft 3, section 2.6.10.1).
const DICTIONARY: &[u8] = include_bytes!("spdy_dictionary.bin");

const VERSION: u16 = 3;
const FLAG_FIN: u8 = 0x01;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
/// Frames longer than this are refused rather than buffered: no peer of ours sends them.
const MAX_FRAME: usize = 16 << 20;

/// RST_STREAM status: the stream is refused (e.g. a stream id used twice).
pub const PROTOCOL_ERROR: u32 = 1;

/// Header name/value pairs, names in lower case as SPDY requires.
pub type Headers = Vec<(String, String)>;

/// One frame, as far as a server of Kubernetes' streams needs to tell them apart.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// The client opens a stream.
    SynStream {
        /// The stream's id.
        stream: u32,
        /// Whether the client's half is closed at once.
        fin: bool,
        /// Its headers (for port-forward: `streamtype`, `port`, `requestid`).
        headers: Headers,
    },
    /// The answer to a SYN_STREAM.
    SynReply {
        /// The stream answered.
        stream: u32,
        /// The answer's headers.
        headers: Headers,
    },
    /// A stream is torn down.
    RstStream {
        /// The stream.
        stream: u32,
        /// Why (SPDY's status code).
        status: u32,
    },
    /// A ping, answered by echoing its id.
    Ping(u32),
    /// The peer ends the connection.
    GoAway,
    /// Bytes on a stream.
    Data {
        /// The stream.
        stream: u32,
        /// Whether this ends the sender's half.
        fin: bool,
        /// The bytes.
        data: Vec<u8>,
    },
    /// SETTINGS, HEADERS, WINDOW_UPDATE and unknown types: read (header blocks decompressed to keep
    /// the context in step) and otherwise ignored.
    Ignored(u16),
}

/// The value of header `name`.
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads frames from the bytes one direction of a connection carries.
pub struct Reader {
    inflate: Decompress,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            inflate: Decompress::new(true),
        }
    }
}

impl Reader {
    /// The first whole frame at the front of `buffer`, removed from it; `None` until one has
    /// arrived whole.
    pub fn next(&mut self, buffer: &mut Vec<u8>) -> Result<Option<Frame>, String> {
        if buffer.len() < 8 {
            return Ok(None);
        }
        let length = u32_at(buffer, 4) as usize & 0x00ff_ffff;
        if length > MAX_FRAME {
            return Err(format!("a SPDY frame of {length} bytes is too large"));
        }
        if buffer.len() < 8 + length {
            return Ok(None);
        }
        let frame: Vec<u8> = buffer.drain(..8 + length).collect();
        let flags = frame[4];
        let payload = &frame[8..];
        if frame[0] & 0x80 == 0 {
            return Ok(Some(Frame::Data {
                stream: u32_at(&frame, 0) & 0x7fff_ffff,
                fin: flags & FLAG_FIN != 0,
                data: payload.to_vec(),
            }));
        }
        let version = u16::from_be_bytes([frame[0], frame[1]]) & 0x7fff;
        if version != VERSION {
            return Err(format!(
                "SPDY version {version} is not served, only {VERSION}"
            ));
        }
        let kind = u16::from_be_bytes([frame[2], frame[3]]);
        let needs = |n: usize| {
            (payload.len() >= n).then_some(()).ok_or_else(|| {
                format!(
                    "SPDY frame type {kind} is {} bytes short",
                    n - payload.len()
                )
            })
        };
        let stream = || u32_at(payload, 0) & 0x7fff_ffff;
        Ok(Some(match kind {
            SYN_STREAM => {
                needs(10)?;
                Frame::SynStream {
                    stream: stream(),
                    fin: flags & FLAG_FIN != 0,
                    headers: self.headers(&payload[10..])?,
                }
            }
            SYN_REPLY => {
                needs(4)?;
                Frame::SynReply {
                    stream: stream(),
                    headers: self.headers(&payload[4..])?,
                }
            }
            HEADERS => {
                needs(4)?;
                self.headers(&payload[4..])?;
                Frame::Ignored(kind)
            }
            RST_STREAM => {
                needs(8)?;
                Frame::RstStream {
                    stream: stream(),
                    status: u32_at(payload, 4),
                }
            }
            PING => {
                needs(4)?;
                Frame::Ping(u32_at(payload, 0))
            }
            GOAWAY => Frame::GoAway,
            other => Frame::Ignored(other),
        }))
    }

    fn headers(&mut self, compressed: &[u8]) -> Result<Headers, String> {
        let block = self.inflate(compressed)?;
        let mut at = 0;
        let mut take = |n: usize| -> Result<&[u8], String> {
            let part = block
                .get(at..at + n)
                .ok_or("a SPDY header block ends too early")?;
            at += n;
            Ok(part)
        };
        let count = u32_at(take(4)?, 0);
        let mut headers = Vec::new();
        for _ in 0..count {
            let mut text = || -> Result<String, String> {
                let length = u32_at(take(4)?, 0) as usize;
                String::from_utf8(take(length)?.to_vec()).map_err(|e| e.to_string())
            };
            let name = text()?;
            let value = text()?;
            headers.push((name, value));
        }
        Ok(headers)
    }

    fn inflate(&mut self, input: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(input.len() * 4 + 256);
        let mut consumed = 0;
        loop {
            let (read, written) = (self.inflate.total_in(), self.inflate.total_out());
            match self
                .inflate
                .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
            {
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate
                        .set_dictionary(DICTIONARY)
                        .map_err(|e| format!("SPDY header dictionary: {e}"))?;
                }
                Err(e) => return Err(format!("SPDY header block: {e}")),
            }
            consumed += (self.inflate.total_in() - read) as usize;
            let progressed = self.inflate.total_in() != read || self.inflate.total_out() != written;
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            } else if consumed >= input.len() || !progressed {
                return Ok(out);
            }
        }
    }
}

/// Writes frames for one direction of a connection.
pub struct Writer {
    deflate: Compress,
}

impl Default for Writer {
    fn default() -> Self {
        let mut deflate = Compress::new(Compression::best(), true);
        // Cannot fail on a fresh stream; a failure would show as a peer unable to read headers.
        let _ = deflate.set_dictionary(DICTIONARY);
        Writer { deflate }
    }
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + payload.len());
    frame.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    frame.extend_from_slice(&kind.to_be_bytes());
    frame.extend_from_slice(&((u32::from(flags) << 24) | payload.len() as u32).to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// A DATA frame; `fin` closes the sender's half of the stream.
pub fn data(stream: u32, data: &[u8], fin: bool) -> Vec<u8> {
    let mut frame = Vec::with_capacity(8 + data.len());
    frame.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    let flags = if fin { FLAG_FIN } else { 0 };
    frame.extend_from_slice(&((u32::from(flags) << 24) | data.len() as u32).to_be_bytes());
    frame.extend_from_slice(data);
    frame
}

/// A RST_STREAM frame.
pub fn rst_stream(stream: u32, status: u32) -> Vec<u8> {
    let mut payload = stream.to_be_bytes().to_vec();
    payload.extend_from_slice(&status.to_be_bytes());
    control(RST_STREAM, 0, &payload)
}

/// A PING frame (the answer to one echoes its id).
pub fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

impl Writer {
    /// A SYN_STREAM frame opening `stream` (what a client sends).
    pub fn syn_stream(&mut self, stream: u32, headers: &[(&str, &str)], fin: bool) -> Vec<u8> {
        let mut payload = stream.to_be_bytes().to_vec();
        payload.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        payload.extend(self.compress(headers));
        control(SYN_STREAM, if fin { FLAG_FIN } else { 0 }, &payload)
    }

    /// A SYN_REPLY frame accepting `stream`.
    pub fn syn_reply(&mut self, stream: u32, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut payload = stream.to_be_bytes().to_vec();
        payload.extend(self.compress(headers));
        control(SYN_REPLY, 0, &payload)
    }

    fn compress(&mut self, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut block = (headers.len() as u32).to_be_bytes().to_vec();
        for (name, value) in headers {
            for text in [name, value] {
                block.extend_from_slice(&(text.len() as u32).to_be_bytes());
                block.extend_from_slice(text.as_bytes());
            }
        }
        let mut out = Vec::with_capacity(block.len() + 64);
        let mut consumed = 0;
        loop {
            let read = self.deflate.total_in();
            if self
                .deflate
                .compress_vec(&block[consumed..], &mut out, FlushCompress::Sync)
                .is_err()
            {
                return out;
            }
            consumed += (self.deflate.total_in() - read) as usize;
            if out.len() == out.capacity() {
                out.reserve(out.capacity());
            } else if consumed >= block.len() {
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dictionary_is_the_one_of_spdy_3() {
        // Its Adler-32 is the DICTID every SPDY/3 header stream carries.
        let mut compress = Compress::new(Compression::best(), true);
        assert_eq!(compress.set_dictionary(DICTIONARY).unwrap(), 0xe3c6_a7c2);
        assert_eq!(DICTIONARY.len(), 1423);
    }

    #[test]
    fn frames_read_back_as_written_across_one_compression_context() {
        let mut writer = Writer::default();
        let mut reader = Reader::default();
        let mut wire = writer.syn_stream(
            1,
            &[
                ("streamtype", "error"),
                ("port", "8081"),
                ("requestid", "0"),
            ],
            false,
        );
        wire.extend(writer.syn_stream(
            3,
            &[("streamtype", "data"), ("port", "8081"), ("requestid", "0")],
            false,
        ));
        wire.extend(data(3, b"GET / HTTP/1.0\r\n\r\n", true));
        wire.extend(writer.syn_reply(3, &[]));
        wire.extend(ping(7));
        wire.extend(rst_stream(3, PROTOCOL_ERROR));
        let mut partial = wire[..5].to_vec();
        assert_eq!(reader.next(&mut partial).unwrap(), None, "incomplete");

        let mut frames = Vec::new();
        while let Some(frame) = reader.next(&mut wire).unwrap() {
            frames.push(frame);
        }
        assert!(wire.is_empty());
        let Frame::SynStream {
            stream: 3,
            fin: false,
            headers,
        } = &frames[1]
        else {
            panic!("{frames:?}");
        };
        assert_eq!(header(headers, "streamtype"), Some("data"));
        assert_eq!(header(headers, "port"), Some("8081"));
        assert_eq!(
            frames[2],
            Frame::Data {
                stream: 3,
                fin: true,
                data: b"GET / HTTP/1.0\r\n\r\n".to_vec()
            }
        );
        assert_eq!(
            frames[3],
            Frame::SynReply {
                stream: 3,
                headers: vec![]
            }
        );
        assert_eq!(frames[4], Frame::Ping(7));
        assert_eq!(
            frames[5],
            Frame::RstStream {
                stream: 3,
                status: PROTOCOL_ERROR
            }
        );
    }

    #[test]
    fn another_version_or_a_garbled_block_is_an_error_not_a_panic() {
        let mut reader = Reader::default();
        let mut v2 = vec![0x80, 0x02, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1];
        assert!(reader.next(&mut v2).unwrap_err().contains("version 2"));
        let mut garbled = control(SYN_STREAM, 0, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        assert!(Reader::default().next(&mut garbled).is_err());
        let mut short = control(RST_STREAM, 0, &[0, 0]);
        assert!(Reader::default()
            .next(&mut short)
            .unwrap_err()
            .contains("short"));
    }
}
