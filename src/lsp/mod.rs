//! `bp lsp`: a language server over stdio for blueprints, stdlib modules
//! and test files. JSON-RPC 2.0 with `Content-Length` framing, written
//! here on serde_json (a malformed message gets an error answer, never the
//! end of the server); it ends on `exit` or when its input closes.
//!
//! - **Diagnostics** on open and on every change: the positioned errors
//!   `bp check` gives (with their hints), and the lint findings as
//!   warnings; no AWS call, `existing_*` and `account_id()` as placeholders.
//! - **Completion** of functions, option keys inside a constructor's map
//!   (with their types and documentation), handle members, stdlib
//!   functions (`net::`) and `import` paths: the REPL's completion.
//! - **Hover** on a function or an option key: its signature or type, and
//!   its documentation.
//! - **Go to definition** of a variable or function the document defines.

mod analysis;
mod transport;

use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::io::{BufRead, Write};

/// The documents the client has open, by URI.
#[derive(Default)]
struct Server {
    docs: HashMap<String, String>,
    shutdown: bool,
}

/// Runs the server on `input` and `output` until `exit` or the end of the
/// input; the exit code (0 after `shutdown`, 1 otherwise, as LSP says).
pub fn serve(input: impl BufRead, mut output: impl Write) -> i32 {
    let mut server = Server::default();
    let mut reader = transport::Reader::new(input);
    loop {
        let msg = match reader.next() {
            transport::Read::Message(m) => m,
            transport::Read::End => return if server.shutdown { 0 } else { 1 },
            transport::Read::Malformed(why) => {
                let _ = transport::write(
                    &mut output,
                    &json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": why}}),
                );
                continue;
            }
        };
        let method = msg["method"].as_str().unwrap_or_default().to_string();
        let id = msg.get("id").cloned();
        if method == "exit" {
            return if server.shutdown { 0 } else { 1 };
        }
        let answer = server.handle(&method, &msg["params"], &mut output);
        if let Some(id) = id {
            let reply = match answer {
                Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                Err((code, message)) => {
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                }
            };
            let _ = transport::write(&mut output, &reply);
        }
    }
}

type Answer = Result<Json, (i64, String)>;

fn text_at(params: &Json) -> (String, usize, usize) {
    (
        params["textDocument"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        params["position"]["line"].as_u64().unwrap_or(0) as usize,
        params["position"]["character"].as_u64().unwrap_or(0) as usize,
    )
}

impl Server {
    fn handle(&mut self, method: &str, params: &Json, out: &mut impl Write) -> Answer {
        match method {
            "initialize" => Ok(json!({
                "capabilities": {
                    "textDocumentSync": 1,
                    "completionProvider": {"triggerCharacters": [".", ":", "{", ",", " ", "\""]},
                    "hoverProvider": true,
                    "definitionProvider": true,
                },
                "serverInfo": {"name": "bp lsp", "version": env!("CARGO_PKG_VERSION")},
            })),
            "initialized"
            | "$/cancelRequest"
            | "$/setTrace"
            | "workspace/didChangeConfiguration" => Ok(Json::Null),
            "shutdown" => {
                self.shutdown = true;
                Ok(Json::Null)
            }
            "textDocument/didOpen" => {
                let uri = params["textDocument"]["uri"].as_str().unwrap_or_default();
                let text = params["textDocument"]["text"].as_str().unwrap_or_default();
                self.docs.insert(uri.to_string(), text.to_string());
                self.publish(uri, out);
                Ok(Json::Null)
            }
            "textDocument/didChange" => {
                let uri = params["textDocument"]["uri"].as_str().unwrap_or_default();
                // Full sync: the last change holds the whole text.
                if let Some(text) = params["contentChanges"]
                    .as_array()
                    .and_then(|c| c.last())
                    .and_then(|c| c["text"].as_str())
                {
                    self.docs.insert(uri.to_string(), text.to_string());
                }
                self.publish(uri, out);
                Ok(Json::Null)
            }
            "textDocument/didClose" => {
                let uri = params["textDocument"]["uri"].as_str().unwrap_or_default();
                self.docs.remove(uri);
                let _ = transport::write(
                    out,
                    &json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
                            "params": {"uri": uri, "diagnostics": []}}),
                );
                Ok(Json::Null)
            }
            "textDocument/completion" => {
                let (uri, line, ch) = text_at(params);
                let text = self.doc(&uri)?;
                Ok(analysis::completion(&uri, text, line, ch))
            }
            "textDocument/hover" => {
                let (uri, line, ch) = text_at(params);
                let text = self.doc(&uri)?;
                Ok(analysis::hover(text, line, ch))
            }
            "textDocument/definition" => {
                let (uri, line, ch) = text_at(params);
                let text = self.doc(&uri)?;
                Ok(analysis::definition(&uri, text, line, ch))
            }
            m if m.starts_with("$/") => Ok(Json::Null),
            other => Err((-32601, format!("bp lsp does not handle {other}"))),
        }
    }

    fn doc(&self, uri: &str) -> Result<&str, (i64, String)> {
        self.docs
            .get(uri)
            .map(String::as_str)
            .ok_or((-32602, format!("{uri} is not open")))
    }

    fn publish(&self, uri: &str, out: &mut impl Write) {
        let Some(text) = self.docs.get(uri) else {
            return;
        };
        let diagnostics = analysis::diagnostics(uri, text);
        let _ = transport::write(
            out,
            &json!({"jsonrpc": "2.0", "method": "textDocument/publishDiagnostics",
                    "params": {"uri": uri, "diagnostics": diagnostics}}),
        );
    }
}
