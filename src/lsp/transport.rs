//! JSON-RPC over stdio as LSP frames it: `Content-Length: N` headers, a
//! blank line, then N bytes of JSON.

use serde_json::Value as Json;
use std::io::{BufRead, Write};

pub enum Read {
    Message(Json),
    /// A frame or body that could not be read: answered with an error, and
    /// the server reads on.
    Malformed(String),
    End,
}

pub struct Reader<R> {
    input: R,
}

/// The largest message accepted (a document of a few megabytes).
const MAX: usize = 64 * 1024 * 1024;

impl<R: BufRead> Reader<R> {
    pub fn new(input: R) -> Reader<R> {
        Reader { input }
    }

    pub fn next(&mut self) -> Read {
        let mut length: Option<usize> = None;
        let mut saw_header = false;
        loop {
            let mut line = String::new();
            match self.input.read_line(&mut line) {
                Ok(0) => return Read::End,
                Ok(_) => {}
                Err(e) => return Read::Malformed(format!("unreadable header: {e}")),
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if saw_header {
                    break;
                }
                continue;
            }
            saw_header = true;
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().ok();
                }
            }
        }
        let Some(n) = length.filter(|n| *n <= MAX) else {
            return Read::Malformed("a message without a valid Content-Length header".into());
        };
        let mut body = vec![0u8; n];
        if let Err(e) = std::io::Read::read_exact(&mut self.input, &mut body) {
            return if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Read::End
            } else {
                Read::Malformed(format!("unreadable body: {e}"))
            };
        }
        match serde_json::from_slice::<Json>(&body) {
            Ok(v) if v.is_object() => Read::Message(v),
            Ok(_) => Read::Malformed("a JSON-RPC message must be an object".into()),
            Err(e) => Read::Malformed(format!("not JSON: {e}")),
        }
    }
}

pub fn write(out: &mut impl Write, msg: &Json) -> std::io::Result<()> {
    let body = msg.to_string();
    write!(out, "Content-Length: {}\r\n\r\n{body}", body.len())?;
    out.flush()
}
