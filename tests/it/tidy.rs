//! The layering in ARCHITECTURE.md, enforced: each module may use only the modules it lists.
//! Scans `crate::<module>` references in every source file of each module.

use std::collections::BTreeMap;
use std::path::Path;

const LAYERS: &[(&str, &[&str])] = &[
    ("dsl", &["catalog"]), // only dsl/schema.rs, to specialise the schema to a catalog
    ("catalog", &["dsl"]),
    ("check", &["dsl", "catalog"]),
    ("plan", &["dsl", "catalog", "check"]),
    ("translate", &["dsl", "catalog", "check", "plan"]),
    ("sql", &["dsl", "catalog", "plan"]),
    ("exec", &["sql"]),
    ("result", &["dsl", "catalog", "plan", "exec", "sql"]),
    ("answer", &["dsl", "catalog", "check", "plan", "result"]),
    ("inspect", &["catalog", "check", "exec", "plan", "sql"]),
    ("demo", &[]),
    ("store", &[]),
    (
        "pipeline",
        &[
            "dsl",
            "catalog",
            "check",
            "plan",
            "translate",
            "sql",
            "exec",
            "result",
            "answer",
            "inspect",
        ],
    ),
    (
        "server",
        &[
            "dsl",
            "catalog",
            "check",
            "plan",
            "translate",
            "sql",
            "exec",
            "result",
            "answer",
            "pipeline",
            "demo",
            "store",
        ],
    ),
];

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_depend_only_on_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: Vec<&str> = LAYERS.iter().map(|(m, _)| *m).chain(["cli"]).collect();
    let mut violations = BTreeMap::new();
    for (module, allowed) in LAYERS {
        let mut paths = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            files(&dir, &mut paths);
        } else {
            paths.push(src.join(format!("{module}.rs")));
        }
        // Unit tests (`tests.rs`) may use anything to build their fixtures.
        for path in paths.into_iter().filter(|p| !p.ends_with("tests.rs")) {
            let text = std::fs::read_to_string(&path).unwrap();
            for other in &modules {
                if other == module || allowed.contains(other) {
                    continue;
                }
                if text.contains(&format!("crate::{other}::"))
                    || text.contains(&format!("crate::{other};"))
                    || text.contains(&format!("crate::{other}::{{"))
                {
                    violations
                        .entry(path.strip_prefix(&src).unwrap().display().to_string())
                        .or_insert_with(Vec::new)
                        .push(*other);
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "modules reaching above their layer (see ARCHITECTURE.md): {violations:?}"
    );
}

#[test]
fn only_exec_demo_and_store_touch_sqlx() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    files(&src, &mut paths);
    let offenders: Vec<String> = paths
        .iter()
        .filter(|p| {
            let rel = p.strip_prefix(&src).unwrap().display().to_string();
            !rel.starts_with("exec")
                && !rel.starts_with("demo")
                && !rel.starts_with("store")
                && std::fs::read_to_string(p).unwrap().contains("sqlx::")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "sqlx outside exec/, demo/ and store/: {offenders:?}"
    );
}

/// No two files of one directory use each other (`super::b` in `a.rs` and `super::a` in
/// `b.rs`): a circle means one job is split between them, and the shared part wants a module
/// of its own (as `server/caller.rs` and `server/routes/outcome.rs` are).
#[test]
fn sibling_modules_do_not_use_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    files(&src, &mut paths);
    let stem = |p: &Path| p.file_stem().unwrap().to_string_lossy().to_string();
    let texts: BTreeMap<&Path, String> = paths
        .iter()
        .map(|p| (p.as_path(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let uses = |from: &Path, to: &str| {
        let text = &texts[from];
        text.contains(&format!("super::{to}::")) || text.contains(&format!("super::{to};"))
    };
    // Known, and next to untie: tokenizing needs English's word tables (numbers,
    // abbreviations), and English's phrase table is tokenized when it loads; the word tables
    // want a module of their own below both.
    let known = ["translate/rules/lexicon.rs <-> translate/rules/tokens.rs"];
    let mut circles = Vec::new();
    for a in &paths {
        for b in &paths {
            let (sa, sb) = (stem(a), stem(b));
            if a >= b || a.parent() != b.parent() || sa == "mod" || sb == "mod" {
                continue;
            }
            if sa == "tests" || sb == "tests" {
                continue;
            }
            if uses(a, &sb) && uses(b, &sa) {
                circles.push(format!(
                    "{} <-> {}",
                    a.strip_prefix(&src).unwrap().display(),
                    b.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    circles.retain(|c| !known.contains(&c.as_str()));
    assert!(circles.is_empty(), "files that use each other: {circles:?}");
}
