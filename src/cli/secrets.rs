//! `bp secrets encrypt|decrypt|edit|rotate`: sops-compatible files.

use super::cloud::write_private;
use anyhow::{bail, Context, Result};
use blueprint::sops::{self, json, yaml, KmsAccess, Node, Plain, Recipients, Rule};
use clap::{Args, Subcommand};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct SecretsArgs {
    #[command(subcommand)]
    pub command: SecretsCommand,
    /// AWS profile for KMS
    #[arg(long, env = "AWS_PROFILE", global = true)]
    pub profile: Option<String>,
    /// Send KMS requests to this endpoint (an emulator)
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    pub endpoint_url: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// Encrypt a plaintext file for KMS keys and/or age recipients
    Encrypt(EncryptArgs),
    /// Decrypt a file (to stdout unless -o)
    Decrypt(DecryptArgs),
    /// Edit the plaintext in $EDITOR; re-encrypt only if it changed
    Edit(FileArg),
    /// Re-encrypt with a new data key for the same master keys
    Rotate(RotateArgs),
}

#[derive(Args, Debug)]
pub struct EncryptArgs {
    pub file: PathBuf,
    /// A KMS key ARN (repeatable)
    #[arg(long = "kms", value_name = "ARN")]
    pub kms: Vec<String>,
    /// An age X25519 recipient, age1... (repeatable)
    #[arg(long = "age", value_name = "RECIPIENT")]
    pub age: Vec<String>,
    /// KMS encryption context entry (repeatable)
    #[arg(long = "encryption-context", value_name = "KEY=VALUE")]
    pub context: Vec<String>,
    /// Encrypt only values under keys matching this regular expression
    #[arg(long, conflicts_with = "unencrypted_suffix")]
    pub encrypted_regex: Option<String>,
    /// Leave values under keys ending with this in clear [default: _unencrypted]
    #[arg(long)]
    pub unencrypted_suffix: Option<String>,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Args, Debug)]
pub struct DecryptArgs {
    pub file: PathBuf,
    /// Write here (mode 0600) instead of stdout
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Only this value, e.g. '["db"]["password"]'
    #[arg(long)]
    pub extract: Option<String>,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Args, Debug)]
pub struct FileArg {
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct Output {
    /// Replace the file itself
    #[arg(short = 'i', long = "in-place", conflicts_with = "output")]
    pub in_place: bool,
    /// Write here (mode 0600) instead of stdout
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

/// The document formats, by file extension.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Json,
    Yaml,
}

fn format_of(path: &Path) -> Result<Format> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Ok(Format::Json),
        Some("yaml" | "yml") => Ok(Format::Yaml),
        _ => bail!(
            "{}: unsupported format: use a .yaml, .yml or .json file",
            path.display()
        ),
    }
}

fn read_text(path: &Path) -> Result<(Format, String)> {
    let format = format_of(path)?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((format, text))
}

fn parse(format: Format, text: &str, path: &Path) -> Result<Node> {
    Ok(match format {
        Format::Json => json::parse(text).with_context(|| format!("{}", path.display()))?,
        Format::Yaml => yaml::parse(text).with_context(|| format!("{}", path.display()))?,
    })
}

fn emit(format: Format, n: &Node) -> String {
    match format {
        Format::Json => json::emit(n),
        Format::Yaml => yaml::emit(n),
    }
}

fn access(a: &SecretsArgs) -> KmsAccess {
    KmsAccess {
        profile: a.profile.clone(),
        endpoint_url: a.endpoint_url.clone(),
    }
}

fn write_out(out: &Output, source: &Path, text: &str) -> Result<()> {
    if out.in_place {
        write_private(source, text)
    } else if let Some(o) = &out.output {
        write_private(o, text)
    } else {
        print!("{text}");
        Ok(())
    }
}

pub fn run(a: &SecretsArgs) -> Result<i32> {
    let rt = super::cloud::runtime()?;
    rt.block_on(async {
        match &a.command {
            SecretsCommand::Encrypt(e) => encrypt(a, e).await,
            SecretsCommand::Decrypt(d) => decrypt(a, d).await,
            SecretsCommand::Rotate(r) => rotate(a, r).await,
            SecretsCommand::Edit(f) => edit(a, &f.file).await,
        }
    })?;
    Ok(0)
}

async fn encrypt(a: &SecretsArgs, e: &EncryptArgs) -> Result<()> {
    let (format, text) = read_text(&e.file)?;
    // YAML is encrypted in place (layout and comments kept); check it reads first.
    let plain = parse(format, &text, &e.file)?;
    let mut context = BTreeMap::new();
    for c in &e.context {
        let Some((k, v)) = c.split_once('=') else {
            bail!("--encryption-context `{c}` is not KEY=VALUE");
        };
        context.insert(k.to_string(), v.to_string());
    }
    let recipients = Recipients {
        age: e.age.clone(),
        kms: e
            .kms
            .iter()
            .map(|arn| (arn.clone(), context.clone()))
            .collect(),
    };
    let rule = match (&e.encrypted_regex, &e.unencrypted_suffix) {
        (Some(r), _) => Rule::EncryptedRegex(r.clone()),
        (None, Some(s)) => Rule::UnencryptedSuffix(s.clone()),
        (None, None) => Rule::Default,
    };
    let out = match format {
        Format::Json => {
            json::emit(&sops::encrypt(&plain, &recipients, rule, &access(a), None).await?)
        }
        Format::Yaml => sops::encrypt_yaml(&text, &recipients, rule, &access(a)).await?,
    };
    write_out(&e.out, &e.file, &out)
}

/// `["a"]["b"][0]` into path steps.
fn extract_path(spec: &str) -> Result<Vec<Result<String, usize>>> {
    let mut out = Vec::new();
    let mut rest = spec.trim();
    while !rest.is_empty() {
        let inner = rest
            .strip_prefix('[')
            .and_then(|r| r.find(']').map(|i| (&r[..i], &r[i + 1..])))
            .ok_or_else(|| anyhow::anyhow!("--extract `{spec}` is not like '[\"key\"][0]'"))?;
        let (step, tail) = inner;
        let step = step.trim();
        if let Some(k) = step.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            out.push(Ok(k.to_string()));
        } else {
            out.push(Err(step.parse::<usize>().map_err(|_| {
                anyhow::anyhow!("--extract: `{step}` is neither \"key\" nor an index")
            })?));
        }
        rest = tail.trim_start();
    }
    Ok(out)
}

async fn decrypt(a: &SecretsArgs, d: &DecryptArgs) -> Result<()> {
    let (format, text) = read_text(&d.file)?;
    let doc = parse(format, &text, &d.file)?;
    let cannot = || format!("cannot decrypt {}", d.file.display());
    let text = match &d.extract {
        // YAML is decrypted in place: the file's layout and comments stay.
        None if format == Format::Yaml => {
            sops::decrypt_yaml(&text, &access(a))
                .await
                .with_context(cannot)?
                .text
        }
        None => {
            let (plain, _, _) = sops::decrypt(&doc, &access(a)).await.with_context(cannot)?;
            emit(format, &plain)
        }
        Some(spec) => {
            let (plain, _, _) = sops::decrypt(&doc, &access(a)).await.with_context(cannot)?;
            let mut cur = &plain;
            for step in extract_path(spec)? {
                cur = match (cur, &step) {
                    (Node::Map(m), Ok(k)) => m.iter().find(|(x, _)| x == k).map(|(_, v)| v),
                    // Comments are not items.
                    (Node::List(l), Err(i)) => l
                        .iter()
                        .filter(|n| !matches!(n, Node::Leaf(Plain::Comment(_))))
                        .nth(*i),
                    _ => None,
                }
                .ok_or_else(|| {
                    anyhow::anyhow!("--extract {spec}: no such value in {}", d.file.display())
                })?;
            }
            match cur {
                Node::Leaf(Plain::Str(s)) => s.clone(),
                Node::Leaf(p) => String::from_utf8_lossy(&p.to_bytes()).to_string(),
                Node::Null => "null".into(),
                other => emit(format, &Node::Map(vec![("value".into(), other.clone())])),
            }
        }
    };
    match &d.output {
        Some(o) => write_private(o, &text),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

async fn rotate(a: &SecretsArgs, r: &RotateArgs) -> Result<()> {
    let (format, text) = read_text(&r.file)?;
    let doc = parse(format, &text, &r.file)?;
    if format == Format::Yaml {
        let opened = sops::decrypt_yaml(&text, &access(a))
            .await
            .with_context(|| format!("cannot decrypt {}", r.file.display()))?;
        let out = sops::encrypt_yaml(
            &opened.text,
            &Recipients::of(&opened.meta),
            opened.meta.rule.clone(),
            &access(a),
        )
        .await?;
        return write_out(&r.out, &r.file, &out);
    }
    let (plain, _, meta) = sops::decrypt(&doc, &access(a))
        .await
        .with_context(|| format!("cannot decrypt {}", r.file.display()))?;
    let enc = sops::encrypt(
        &plain,
        &Recipients::of(&meta),
        meta.rule.clone(),
        &access(a),
        None,
    )
    .await?;
    write_out(&r.out, &r.file, &emit(format, &enc))
}

/// What `edit` decrypted.
enum Opened {
    Json([u8; 32], sops::Metadata),
    Yaml(sops::DecryptedYaml),
}

/// Decrypts into a private temporary file, runs the editor, and re-encrypts
/// with the same data key when the text changed. The temporary file is
/// removed whatever happens. A YAML file changes only where its plaintext
/// was edited (and in `mac` and `lastmodified`).
async fn edit(a: &SecretsArgs, file: &Path) -> Result<()> {
    let (format, text) = read_text(file)?;
    let doc = parse(format, &text, file)?;
    let cannot = || format!("cannot decrypt {}", file.display());
    let (before, opened) = match format {
        Format::Json => {
            let (plain, key, meta) = sops::decrypt(&doc, &access(a)).await.with_context(cannot)?;
            (emit(format, &plain), Opened::Json(key, meta))
        }
        Format::Yaml => {
            let opened = sops::decrypt_yaml(&text, &access(a))
                .await
                .with_context(cannot)?;
            (opened.text.clone(), Opened::Yaml(opened))
        }
    };
    // The plaintext lives in a private folder on a memory filesystem where
    // there is one; Ctrl-C, SIGTERM or SIGHUP end the editor, remove the
    // folder and save nothing.
    let dir = blueprint::private::Dir::new("bp-secrets-")?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("secrets.json")
        .to_string();
    // Plaintext buffers are wiped when dropped.
    let before = zeroize::Zeroizing::new(before);
    let tmp = dir.write(&name, before.as_bytes())?;
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".into());
    let mut parts = editor.split_whitespace();
    let program = parts.next().unwrap_or("vi");
    let mut child = std::process::Command::new(program)
        .args(parts)
        .arg(&tmp)
        .spawn()
        .with_context(|| format!("cannot run the editor `{editor}`"))?;
    let watched = blueprint::private::Child::watch(child.id());
    let status = child.wait()?;
    drop(watched);
    // A signal that ended the editor ends bp too: its handler removes the
    // plaintext and exits 130, and nothing is saved meanwhile.
    if !status.success() || blueprint::interrupt::requested() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if blueprint::interrupt::requested() {
            loop {
                std::thread::park();
            }
        }
    }
    if !status.success() {
        bail!(
            "the editor `{editor}` failed ({status}); {} is unchanged",
            file.display()
        );
    }
    let after = zeroize::Zeroizing::new(std::fs::read_to_string(&tmp)?);
    drop(dir);
    if after == before {
        eprintln!("no changes: {} is unchanged", file.display());
        return Ok(());
    }
    let out = match opened {
        Opened::Json(key, meta) => {
            let edited = json::parse(&after)
                .context("the edited text is not valid JSON; nothing was written")?;
            // Same data key: the wrapped keys in the metadata stay valid.
            let (tree, mac) =
                sops::tree::encrypt(&edited, &key, &meta.rule, meta.mac_only_encrypted)?;
            let now = sops::keys::rfc3339_now();
            let mut meta = meta;
            meta.mac = sops::tree::seal_mac(&key, &mac, &now);
            meta.lastmodified = now;
            let Node::Map(mut out) = tree else {
                bail!("the edited document's top level must be a mapping");
            };
            out.push(("sops".into(), meta.to_node()));
            emit(format, &Node::Map(out))
        }
        Opened::Yaml(opened) => {
            yaml::parse(&after)
                .context("the edited text is not valid YAML; nothing was written")?;
            sops::reencrypt_yaml(&after, opened)
                .context("the edited text cannot be encrypted; nothing was written")?
        }
    };
    write_private(file, &out)?;
    eprintln!("{} re-encrypted", file.display());
    Ok(())
}
