//! `bp lsp`, driven by a scripted client speaking JSON-RPC over stdio:
//! diagnostics at the right range that go when the mistake is fixed,
//! completion of a constructor's option keys, hover, definitions, and a
//! server that survives malformed messages and unknown methods.

use crate::harness::bp;
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(bp())
            .arg("lsp")
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bp lsp");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Client {
            child,
            stdin,
            stdout,
            next: 1,
        }
    }

    fn raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Json) {
        self.raw(&json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string());
    }

    fn read(&mut self) -> Json {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the server closed"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// Sends a request and returns its response (notifications on the way
    /// are skipped).
    fn request(&mut self, method: &str, params: Json) -> Json {
        let id = self.next;
        self.next += 1;
        self.raw(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
        loop {
            let m = self.read();
            if m["id"] == id {
                return m;
            }
        }
    }

    /// The next diagnostics published.
    fn diagnostics(&mut self) -> Json {
        loop {
            let m = self.read();
            if m["method"] == "textDocument/publishDiagnostics" {
                return m["params"].clone();
            }
        }
    }
}

const URI: &str = "file:///tmp/bp-lsp-test/demo.rhai";

#[test]
fn a_scripted_client_gets_diagnostics_completion_hover_and_definitions() {
    let mut c = Client::start();
    let init = c.request(
        "initialize",
        json!({"processId": null, "capabilities": {}, "rootUri": null}),
    );
    assert_eq!(init["result"]["serverInfo"]["name"], "bp lsp", "{init}");
    assert_eq!(init["result"]["capabilities"]["hoverProvider"], true);
    c.notify("initialized", json!({}));

    // An error: at its place, with the message and hint bp check gives.
    let bad = "let v = vpc(\"demo\", #{ cidr: \"10.0.0.0/33\" });\n";
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": URI, "languageId": "rhai", "version": 1, "text": bad}}),
    );
    let d = c.diagnostics();
    assert_eq!(d["uri"], URI);
    let errors = d["diagnostics"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{d}");
    assert_eq!(errors[0]["severity"], 1);
    assert_eq!(
        errors[0]["range"],
        json!({"start": {"line": 0, "character": 8}, "end": {"line": 0, "character": 11}}),
        "{d}"
    );
    let msg = errors[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("`10.0.0.0/33` is not an IPv4 CIDR block"),
        "{msg}"
    );
    assert!(msg.contains("hint: write a block such as"), "{msg}");

    // Two independent mistakes: two diagnostics at once.
    let two = "let v = vpc(\"demo\", #{ cidr: \"10.0.0.0/33\" });\nlet w = vpc(\"w\", #{ cidr: \"10.1.0.0/16\", colour: 1 });\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": two}]}),
    );
    let d = c.diagnostics();
    let lines: Vec<i64> = d["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["range"]["start"]["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, vec![0, 1], "{d}");

    // Fixed: no error left; a lint finding is a warning.
    let fixed =
        "let v = vpc(\"demo\", #{ cidr: \"10.0.0.0/16\" });\ns3_bucket(\"demo-files-lsp\", #{});\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let d = c.diagnostics();
    let all = d["diagnostics"].as_array().unwrap();
    assert!(all.iter().all(|x| x["severity"] != 1), "{d}");
    let bucket = all
        .iter()
        .find(|x| x["code"] == "BP008")
        .unwrap_or_else(|| panic!("{d}"));
    assert_eq!(bucket["severity"], 2);
    assert_eq!(bucket["range"]["start"]["line"], 1);

    // Completion inside cluster(...)'s option map: its option names, with
    // their types and documentation.
    let typing = format!("{fixed}let c = cluster(\"demo\", #{{ ver");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 3}, "contentChanges": [{"text": typing}]}),
    );
    c.diagnostics();
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 30}}),
    );
    let items = items["result"]["items"].as_array().unwrap().clone();
    let version = items
        .iter()
        .find(|i| i["label"] == "version")
        .unwrap_or_else(|| panic!("{items:?}"));
    assert_eq!(version["kind"], 10);
    assert!(
        version["documentation"].as_str().unwrap().len() > 10,
        "{version}"
    );
    let at_start = format!("{fixed}let c = cluster(\"demo\", #{{ ");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 4}, "contentChanges": [{"text": at_start}]}),
    );
    c.diagnostics();
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 27}}),
    );
    let labels: Vec<&str> = items["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    for want in ["version", "vpc", "subnets", "endpoint"] {
        assert!(labels.contains(&want), "{want} not in {labels:?}");
    }
    // Members of a handle, and stdlib import paths.
    let members = format!("{fixed}v.");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 5}, "contentChanges": [{"text": members}]}),
    );
    c.diagnostics();
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 2}}),
    );
    let labels: Vec<String> = items["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["label"].as_str().map(String::from))
        .collect();
    assert!(
        labels.contains(&"private_subnets".to_string()),
        "{labels:?}"
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 6}, "contentChanges": [{"text": "import \"n"}]}),
    );
    c.diagnostics();
    let items = c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 9}}),
    );
    assert_eq!(items["result"]["items"][0]["label"], "net", "{items}");

    // Hover and go to definition.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 7}, "contentChanges": [{"text": format!("{fixed}let c = cluster(\"demo\", #{{ vpc: v }});\n")}]}),
    );
    c.diagnostics();
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 0, "character": 9}}),
    );
    let text = h["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("vpc(name, #{"), "{h}");
    let h = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 28}}),
    );
    let text = h["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("`vpc`: "), "option hover: {h}");
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": URI}, "position": {"line": 2, "character": 33}}),
    );
    assert_eq!(
        def["result"],
        json!({"uri": URI, "range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 5}}}),
        "{def}"
    );

    // A stdlib function's definition: the module as the binary holds it.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 8}, "contentChanges": [{"text": "import \"net\" as net;\nlet s = net::split(\"10.0.0.0/16\", 2);\n"}]}),
    );
    c.diagnostics();
    let def = c.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 14}}),
    );
    let target = def["result"]["uri"]
        .as_str()
        .unwrap_or_else(|| panic!("{def}"));
    let module = std::fs::read_to_string(target.strip_prefix("file://").unwrap()).unwrap();
    let at = def["result"]["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(
        module.lines().nth(at).unwrap().starts_with("fn split("),
        "{def}"
    );

    // Malformed messages and unknown methods are answered, never fatal.
    c.raw("{not json");
    let m = c.read();
    assert_eq!(m["error"]["code"], -32700, "{m}");
    c.raw("[1, 2]");
    assert_eq!(c.read()["error"]["code"], -32700);
    let m = c.request("textDocument/formatting", json!({}));
    assert_eq!(m["error"]["code"], -32601, "{m}");
    let m = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///not/open.rhai"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(m["error"]["code"], -32602, "{m}");
    // A document that does not parse gets its syntax error.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": "file:///tmp/bp-lsp-test/broken.rhai", "languageId": "rhai", "version": 1, "text": "let x = [1, 2;\n"}}),
    );
    let d = c.diagnostics();
    assert!(
        d["diagnostics"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("syntax error"),
        "{d}"
    );

    // Shutdown and exit: code 0.
    let m = c.request("shutdown", Json::Null);
    assert_eq!(m["result"], Json::Null);
    c.notify("exit", Json::Null);
    let status = c.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn lsp_version() {
    crate::harness::Test::new()
        .args(["lsp", "--version"])
        .stdout(&format!("bp-lsp {}\n", env!("CARGO_PKG_VERSION")))
        .run();
}
