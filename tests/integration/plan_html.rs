//! `bp plan --html FILE` and `bp show PLAN --html FILE`: one self-contained
//! report, checked in a real browser (headless Chromium from Debian): the
//! DOM it builds, the filter its script adds, the page with scripts off,
//! and a screenshot.

use crate::harness::{repo, Test};
use crate::moto::Moto;
use std::path::Path;
use std::process::Command;

/// Headless Chromium on `page` with `extra` flags; its stdout.
fn chromium(page: &Path, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn the_html_report_renders_in_a_browser_with_and_without_script() {
    let m = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let report = d.join("report.html");
    // The PMS seed's first plan: 62 creates (its in-cluster objects wait
    // for the cluster).
    Test::new()
        .moto(&m)
        .env("SOPS_AGE_KEY_FILE", "blueprints/secrets/demo.agekey")
        .current_dir(repo())
        .args([
            "plan",
            "blueprints/pms.rhai",
            "--var",
            "env=prod",
            "-o",
            d.join("plan.json").to_str().unwrap(),
            "--html",
            report.to_str().unwrap(),
        ])
        .stdout_contains("Plan: 62 to add, 0 to change, 0 to replace, 0 to destroy.")
        .run();
    let html = std::fs::read_to_string(&report).unwrap();
    // Nothing is fetched when it is viewed: no src, no link.
    assert!(!html.contains(" src=") && !html.contains("<link"), "{html}");

    // With script: the filter form shows, and the counts are the plan's.
    let dom = chromium(&report, &["--dump-dom"]);
    assert_eq!(
        dom.matches("<tr class=\"change create\"").count(),
        62,
        "rows"
    );
    assert_eq!(dom.matches("<g class=\"node\"").count(), 62, "graph nodes");
    assert!(dom.matches("<path class=\"edge\"").count() > 50, "edges");
    assert!(dom.contains("<span id=\"count\">62</span>"), "count");
    assert!(
        dom.contains("<form id=\"filters\">"),
        "the script showed the filters"
    );
    assert!(
        dom.contains("<g class=\"bar\" data-kind=\"nat_gateway\">"),
        "cost bars"
    );
    // The script filters: a page that unticks "create" hides every row.
    let filtered = d.join("filtered.html");
    std::fs::write(
        &filtered,
        html.replace(
            "</body>",
            "<script>var b=document.querySelector('input[value=create]');b.checked=false;b.dispatchEvent(new Event('change',{bubbles:true}));</script></body>",
        ),
    )
    .unwrap();
    let dom = chromium(&filtered, &["--dump-dom"]);
    assert!(
        dom.contains("<span id=\"count\">0</span>"),
        "filtered count"
    );
    assert_eq!(
        dom.matches(
            "<tr class=\"change create\" data-action=\"create\" data-kind=\"vpc\" hidden=\"\">"
        )
        .count(),
        1
    );

    // Scripts off (the page without its one script: Chromium's --dump-dom
    // needs script itself): everything shows, the filters stay hidden.
    let start = html.find("<script>").unwrap();
    let end = html.find("</script>").unwrap() + "</script>".len();
    assert_eq!(html.matches("<script>").count(), 1, "one inline script");
    let scriptless = d.join("scriptless.html");
    std::fs::write(&scriptless, format!("{}{}", &html[..start], &html[end..])).unwrap();
    let dom = chromium(&scriptless, &["--dump-dom"]);
    assert!(
        dom.contains("<form id=\"filters\" hidden=\"\">"),
        "no filters without script"
    );
    assert_eq!(dom.matches("<tr class=\"change create\"").count(), 62);
    assert!(!dom.contains("hidden=\"\"><td"), "no row hidden");

    // A screenshot: a real PNG of the page.
    let png = d.join("report.png");
    chromium(
        &report,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,1600",
            "--hide-scrollbars",
        ],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert!(bytes.len() > 20_000, "{} bytes", bytes.len());

    // `bp show` of the saved plan writes the same report.
    let again = d.join("again.html");
    Test::new()
        .args([
            "show",
            d.join("plan.json").to_str().unwrap(),
            "--html",
            again.to_str().unwrap(),
        ])
        .run();
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
}
