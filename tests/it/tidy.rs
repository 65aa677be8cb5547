//! The layering in ARCHITECTURE.md, enforced: each module may use only the modules it lists.
//! Scans every `crate::` path in the code of each module's files (`crate::a::…`, `crate::a;`,
//! grouped `use crate::{a, b::…}`; comments and strings left out), the files it compiles in
//! through `#[path]` (the examples' generators) included. And `src/` says no example's names;
//! only the CLI names clap, only the LLM, JWKS and metrics API client name reqwest, only the shared rate limit names
//! redis, only the dialects name an
//! engine's builder or variant; and no test reaches a real engine without `#[ignore]`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use tally::catalog::Catalog;

const LAYERS: &[(&str, &[&str])] = &[
    ("dsl", &["catalog"]), // only dsl/schema.rs, to specialise the schema to a catalog
    ("dialect", &[]),
    ("demo", &["dialect"]),
    ("examples", &["demo"]),
    ("catalog", &["dsl", "examples"]), // examples: the default catalog's text
    ("check", &["dsl", "catalog"]),
    ("plan", &["dsl", "catalog", "check"]),
    ("translate", &["dsl", "catalog", "check", "plan"]),
    ("sql", &["dsl", "catalog", "plan", "dialect"]),
    ("exec", &["sql"]),
    ("result", &["dsl", "catalog", "plan", "exec", "sql"]),
    ("answer", &["dsl", "catalog", "check", "plan", "result"]),
    ("inspect", &["catalog", "check", "exec", "plan", "sql"]),
    (
        "rollup",
        &["dsl", "catalog", "plan", "sql", "exec", "dialect"],
    ),
    ("metrics_api", &["catalog", "plan", "result"]),
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
            "rollup",
            "metrics_api",
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
            "metrics_api",
            "pipeline",
            "store",
        ],
    ),
    (
        "config",
        &[
            "dsl",
            "dialect",
            "demo",
            "examples",
            "catalog",
            "check",
            "plan",
            "translate",
            "sql",
            "exec",
            "result",
            "answer",
            "inspect",
            "rollup",
            "metrics_api",
            "store",
            "pipeline",
            "server",
        ],
    ),
];

/// Uses everything; nothing uses it.
const TOP: &str = "cli";

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The files a file compiles in through `#[path = "…"]`, relative to its directory (as rustc
/// resolves them for modules declared outside an inline `mod { … }`), and theirs in turn.
fn with_path_files(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = paths;
    while let Some(path) = todo.pop() {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("#[path = \"") {
                let target = rest.split('"').next().unwrap();
                let included = path.parent().unwrap().join(target);
                assert!(
                    included.is_file(),
                    "{}: #[path] to {target}",
                    path.display()
                );
                todo.push(included);
            }
        }
        out.push(path);
    }
    out
}

/// A module's files: `src/<module>/**.rs` or `src/<module>.rs`, with their `#[path]` files.
fn module_files(module: &str) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    let dir = src().join(module);
    if dir.is_dir() {
        files(&dir, &mut paths);
    } else {
        paths.push(src().join(format!("{module}.rs")));
    }
    with_path_files(paths)
}

/// A path as the messages show it: from the repository's root, `..` resolved.
fn shown(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut parts: Vec<String> = Vec::new();
    for part in path.strip_prefix(root).unwrap_or(path).components() {
        match part {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_string_lossy().to_string()),
        }
    }
    parts.join("/")
}

/// A Rust source split into code and string literals: `code` is the text with comments and the
/// insides of string and character literals blanked (newlines kept, so offsets and lines stay);
/// `literals` are the strings, each with its line and whether it is inside a `#[cfg(test)]`
/// item.
struct Lexed {
    code: String,
    literals: Vec<Literal>,
}

struct Literal {
    line: usize,
    /// The text between the quotes; escapes (`\n`, `\"`, a line continuation) are blanked.
    text: String,
    in_test: bool,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn lex(text: &str) -> Lexed {
    let bytes = text.as_bytes();
    let mut code = bytes.to_vec();
    let mut spans: Vec<(Range<usize>, bool)> = Vec::new(); // (inside the quotes, raw)
    let blank = |code: &mut Vec<u8>, range: Range<usize>| {
        for b in &mut code[range] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let after_ident = i > 0 && is_ident(bytes[i - 1]);
        if rest.starts_with(b"//") {
            let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            blank(&mut code, i..end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0, i);
            while j < bytes.len() {
                if bytes[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if bytes[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut code, i..j);
            i = j;
        } else if !after_ident
            && [&b"r\""[..], b"r#", b"br\"", b"br#"]
                .iter()
                .any(|p| rest.starts_with(p))
        {
            let r = i + rest.iter().position(|&b| b == b'r').unwrap();
            let hashes = bytes[r + 1..].iter().take_while(|&&b| b == b'#').count();
            if bytes.get(r + 1 + hashes) != Some(&b'"') {
                i += 1; // `r#ident`
                continue;
            }
            let start = r + 2 + hashes;
            let closing = format!("\"{}", "#".repeat(hashes));
            let end = start + text[start..].find(&closing).expect("a closed raw string");
            spans.push((start..end, true));
            blank(&mut code, start..end);
            i = end + closing.len();
        } else if bytes[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            while bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            spans.push((start..j, false));
            blank(&mut code, start..j);
            i = j + 1;
        } else if bytes[i] == b'\'' {
            // A character literal ('a', '\n', '\'', '\u{..}'), or else a lifetime.
            let end = if rest.get(1) == Some(&b'\\') {
                rest[2..]
                    .iter()
                    .position(|&b| b == b'\'')
                    .map(|n| i + 2 + n)
            } else {
                let width = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (bytes.get(i + 1 + width) == Some(&b'\'')).then_some(i + 1 + width)
            };
            match end {
                Some(end) => {
                    blank(&mut code, i + 1..end);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    let code = String::from_utf8(code).expect("blanking keeps UTF-8 (only ASCII is written)");
    let tests = test_items(&code);
    let literals = spans
        .into_iter()
        .map(|(range, raw)| {
            let mut inside = text[range.clone()].to_string();
            if !raw {
                inside = blank_escapes(&inside);
            }
            Literal {
                line: text[..range.start].matches('\n').count() + 1,
                text: inside,
                in_test: tests.iter().any(|t| t.contains(&range.start)),
            }
        })
        .collect();
    Lexed { code, literals }
}

/// Each escape (`\n`, `\"`, `\\`, `\` before a newline) becomes a space, so `"…\nandroid"`
/// reads as the word it shows.
fn blank_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The byte ranges of `#[cfg(test)]` items in blanked code: the attribute to the item's
/// matching `}` (or its `;`).
fn test_items(code: &str) -> Vec<Range<usize>> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    for (start, _) in code.match_indices("#[cfg(test)]") {
        let mut j = start + "#[cfg(test)]".len();
        while j < bytes.len() && bytes[j] != b'{' && bytes[j] != b';' {
            j += 1;
        }
        let mut depth = 0;
        while j < bytes.len() {
            match bytes[j] {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
            j += 1;
            if depth == 0 {
                break;
            }
        }
        out.push(start..j);
    }
    out
}

/// The modules `code` names through `crate::`: `crate::a::…`, `crate::a;`, `crate::a as b` and
/// each top-level item of `crate::{a, b::{…}, c}`.
fn crate_uses(code: &str) -> BTreeSet<String> {
    let bytes = code.as_bytes();
    let ident_at = |mut j: usize| {
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let start = j;
        while j < bytes.len() && is_ident(bytes[j]) {
            j += 1;
        }
        (code[start..j].to_string(), j)
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && (is_ident(bytes[at - 1]) || bytes[at - 1] == b':') {
            continue;
        }
        let mut j = at + "crate::".len();
        if bytes.get(j) != Some(&b'{') {
            out.insert(ident_at(j).0);
            continue;
        }
        let mut depth = 1;
        let mut item_starts = vec![j + 1];
        j += 1;
        while j < bytes.len() && depth > 0 {
            match bytes[j] {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                b',' if depth == 1 => item_starts.push(j + 1),
                _ => {}
            }
            j += 1;
        }
        for start in item_starts {
            let (name, _) = ident_at(start);
            if !name.is_empty() && name != "self" {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn modules_depend_only_on_the_layers_below_them() {
    let modules: Vec<&str> = LAYERS.iter().map(|(m, _)| *m).chain([TOP]).collect();
    let mut violations = BTreeMap::new();
    for (module, allowed) in LAYERS {
        // Unit tests (`tests.rs`) may use anything to build their fixtures.
        for path in module_files(module)
            .into_iter()
            .filter(|p| !p.ends_with("tests.rs"))
        {
            let used = crate_uses(&lex(&std::fs::read_to_string(&path).unwrap()).code);
            for other in used.iter().filter(|u| modules.contains(&u.as_str())) {
                if other != module && !allowed.contains(&other.as_str()) {
                    violations
                        .entry(shown(&path))
                        .or_insert_with(Vec::new)
                        .push(other.clone());
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "modules reaching above their layer (see ARCHITECTURE.md): {violations:?}"
    );
}

/// A module that `LAYERS` does not list would escape the check above.
#[test]
fn every_module_of_the_library_has_a_layer() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ").or(l.strip_prefix("mod ")))
        .filter_map(|l| l.strip_suffix(';'))
        .collect();
    let layered: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).chain([TOP]).collect();
    assert_eq!(declared, layered, "lib.rs's modules and tidy.rs's LAYERS");
}

#[test]
fn the_scan_reads_grouped_imports_and_skips_comments_and_strings() {
    let code = lex("use crate::{catalog::Catalog, dsl::{self, Kind}, self};\n\
                    // crate::exec::Warehouse\n\
                    let s = \"crate::sql::x\"; let c = '\"'; let t = crate::plan::time;\n\
                    fn f<'a>(x: &'a str) -> crate::store::Store { crate::pipeline::run() }")
    .code;
    let used: Vec<String> = crate_uses(&code).into_iter().collect();
    assert_eq!(used, ["catalog", "dsl", "pipeline", "plan", "store"]);
}

#[test]
fn only_exec_demo_and_store_touch_sqlx() {
    let mut paths = Vec::new();
    files(&src(), &mut paths);
    let offenders: Vec<String> = with_path_files(paths)
        .iter()
        .map(|p| shown(p))
        .filter(|shown| {
            // dialect.rs: sea-query-sqlx's binder for the demo's inserts, no connection.
            // rollup/build.rs: the rollup store's own writes (the warehouse is read via exec/).
            ![
                "src/exec/",
                "src/demo/",
                "src/store/",
                "src/dialect.rs",
                "src/rollup/build.rs",
            ]
            .iter()
            .any(|allowed| shown.starts_with(allowed))
        })
        .filter(|shown| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(shown);
            lex(&std::fs::read_to_string(path).unwrap())
                .code
                .contains("sqlx::")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "sqlx outside exec/, demo/ and store/: {offenders:?}"
    );
}

/// Flags are the CLI's business: only `cli/` and `main.rs` name `clap`, so no library type
/// (a dialect, a translator mode) derives a clap trait or changes when a flag is spelled
/// differently; the CLI maps its own argument enums onto them.
#[test]
fn only_the_cli_uses_clap() {
    let mut paths = Vec::new();
    files(&src(), &mut paths);
    let offenders: Vec<String> = with_path_files(paths)
        .iter()
        .map(|p| shown(p))
        .filter(|shown| !shown.starts_with("src/cli/") && shown != "src/main.rs")
        .filter(|shown| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(shown);
            names_clap(&lex(&std::fs::read_to_string(path).unwrap()).code)
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "clap outside cli/ and main.rs: {offenders:?}"
    );
}

/// Whether code says `clap` as a word (`use clap::…`, `clap::ValueEnum`, `#[clap(…)]`).
fn names_clap(code: &str) -> bool {
    let bytes = code.as_bytes();
    code.match_indices("clap").any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + "clap".len()).copied();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[test]
fn the_clap_scan_reads_words_in_code_only() {
    assert!(names_clap(
        &lex("#[derive(clap::ValueEnum)] enum A {}").code
    ));
    assert!(names_clap(&lex("use clap::{Args, Parser};").code));
    assert!(!names_clap(
        &lex("// clap::Parser\nlet s = \"clap::x\"; let clapper = 1;").code
    ));
}

/// Raw SQL fragments (`Expr::cust`, `Func::cust`) are constants: outside `sql/dialect.rs`, whose
/// backend spellings are written there once, every `cust(` takes a string literal (or
/// `Alias::new` of one), never a value that could come from a request.
#[test]
fn raw_sql_fragments_are_literals_outside_the_dialect() {
    let mut paths = Vec::new();
    files(&src(), &mut paths);
    let mut offenders = Vec::new();
    for path in with_path_files(paths) {
        let shown = shown(&path);
        if shown == "src/sql/dialect.rs" {
            continue;
        }
        let code = lex(&std::fs::read_to_string(&path).unwrap()).code;
        for (at, _) in code.match_indices("cust(") {
            let rest = code[at + "cust(".len()..].trim_start();
            let literal = rest.starts_with('"')
                || rest
                    .strip_prefix("Alias::new(")
                    .is_some_and(|r| r.trim_start().starts_with('"'));
            if !literal {
                let line = code[..at].lines().count();
                offenders.push(format!("{shown}:{line}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "cust( without a string literal outside sql/dialect.rs: {offenders:?}"
    );
}

/// No two files of one directory use each other (`super::b` in `a.rs` and `super::a` in
/// `b.rs`): a circle means one job is split between them, and the shared part wants a module
/// of its own (as `server/caller.rs` and `server/routes/outcome.rs` are).
#[test]
fn sibling_modules_do_not_use_each_other() {
    let src = src();
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

/// The examples' names that are ordinary words, or words of Tally's own, which domain-free code
/// may well say: plain English ("active", "status", "high", "search"); the roles `catalog init`
/// writes and the server knows ("admin", "analyst", "viewer"); the catalog's own vocabulary
/// ("entities", "events", "sessions") and a metric type (`active_users`); a column of Tally's
/// own store (`created_at`); words `catalog init` takes a money column by ("revenue",
/// "spend", "mrr"). Names shorter than three letters (ISO country codes) are skipped too. What
/// is left is what only an example would say: its catalog's name, workspaces, compound names
/// (`user_profiles`, `paid_social`), and words like "android", "signups" or "roas".
const GENERIC: &[&str] = &[
    "account",
    "active",
    "active_users",
    "admin",
    "analyst",
    "billing",
    "bug",
    "campaign",
    "category",
    "checkout",
    "clicks",
    "conversions",
    "country",
    "created_at",
    "customer",
    "customers",
    "device",
    "email",
    "enterprise",
    "entities",
    "events",
    "executive",
    "free",
    "high",
    "impressions",
    "low",
    "marketer",
    "mrr",
    "normal",
    "orders",
    "organic",
    "paused",
    "priority",
    "pro",
    "provider",
    "referral",
    "revenue",
    "search",
    "sessions",
    "spend",
    "starter",
    "status",
    "urgent",
    "viewer",
    "web",
];

/// Every name an example defines, lowercased, with where it comes from: its catalog's name,
/// tables, dimensions and their values, entities and their fields, metrics, funnels and roles
/// (read from `examples/*/catalog.toml`), and its workspaces (`demo.json`'s and the
/// generator's). Synonyms are left out: they are how people speak, English by design.
fn example_names() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let file = dir.join("catalog.toml");
        if !file.is_file() {
            continue;
        }
        let example = dir.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let catalog = Catalog::from_toml(&text, &file.display().to_string()).unwrap();
        let mut add = |name: &str, what: &str| {
            for word in name.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
                names
                    .entry(word.to_lowercase())
                    .or_default()
                    .insert(format!("{example}'s {what}"));
            }
        };
        add(&catalog.name, "catalog");
        catalog.tables.keys().for_each(|n| add(n, "table"));
        catalog.metrics.keys().for_each(|n| add(n, "metric"));
        catalog.funnels.keys().for_each(|n| add(n, "funnel"));
        catalog.roles.keys().for_each(|n| add(n, "role"));
        for (name, dimension) in &catalog.dimensions {
            add(name, "dimension");
            dimension.values.iter().for_each(|v| add(v, "value"));
        }
        for (name, entity) in &catalog.entities {
            add(name, "entity");
            entity.fields.keys().for_each(|f| add(f, "field"));
        }
        let demo: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("demo.json")).unwrap()).unwrap();
        for query in demo.as_array().unwrap() {
            add(query["workspace"].as_str().unwrap(), "workspace");
        }
        let registered = tally::examples::find(&example).expect("a registered example");
        for workspace in (registered.generator.workspaces)() {
            add(workspace, "workspace");
        }
    }
    names.retain(|name, _| name.len() >= 3 && !GENERIC.contains(&name.as_str()));
    names
}

/// Whether a literal is one of the registry's include lines (`#[path = "…"]`,
/// `include_str!("…")`): the one place an example's name may be spelled in `src/`.
fn is_registry_include(path: &Path, source: &str, literal: &Literal) -> bool {
    if path != src().join("examples.rs") {
        return false;
    }
    let line = source.lines().nth(literal.line - 1).unwrap_or("");
    line.trim_start().starts_with("#[path = ") || line.contains("include_str!(")
}

/// Domain-free code says no example's names (issue 19, item 2): no string of `src/` outside
/// tests and the registry's include lines names a catalog, table, metric, dimension, value,
/// entity, field, funnel, role or workspace of `examples/`. What an example says comes from
/// the example registry as data.
#[test]
fn no_example_names_in_src_strings() {
    let names = example_names();
    assert!(
        ["metrica", "acme", "initech", "paid_social", "android"]
            .iter()
            .all(|n| names.contains_key(*n)),
        "the distinctive names are read: {:?}",
        names.keys().collect::<Vec<_>>()
    );
    let mut paths = Vec::new();
    files(&src(), &mut paths);
    let mut found = Vec::new();
    for path in paths.iter().filter(|p| !p.ends_with("tests.rs")) {
        let source = std::fs::read_to_string(path).unwrap();
        // `demo/` is domain-free in its tests too: they use a generator of their own.
        let demo = shown(path).starts_with("src/demo/");
        for literal in lex(&source).literals.iter().filter(|l| demo || !l.in_test) {
            if is_registry_include(path, &source, literal) {
                continue;
            }
            let words = literal
                .text
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            for word in words.map(str::to_lowercase).collect::<BTreeSet<_>>() {
                if let Some(whose) = names.get(&word) {
                    found.push(format!(
                        "{}:{}: `{word}` ({})",
                        shown(path),
                        literal.line,
                        whose.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "example names in src/ strings (move the text to examples/ and reach it through \
         src/examples.rs, or, if the word is ordinary, add it to GENERIC):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_lexer_finds_strings_outside_tests_only() {
    let source = "let a = \"only\\nandroid\"; // \"in a comment\"\n\
                  let b = r#\"raw \"acme\"\"#; let c = 'x'; fn f<'a>() {}\n\
                  #[cfg(test)]\nmod tests { fn t() { let d = \"tested\"; } }\n\
                  let e = b\"bytes\";";
    let lexed = lex(source);
    let outside: Vec<(usize, &str)> = lexed
        .literals
        .iter()
        .filter(|l| !l.in_test)
        .map(|l| (l.line, l.text.as_str()))
        .collect();
    assert_eq!(
        outside,
        [(1, "only android"), (2, "raw \"acme\""), (5, "bytes")]
    );
    assert!(lexed
        .literals
        .iter()
        .any(|l| l.in_test && l.text == "tested"));
}

/// The `src/` files (with their `#[path]` files) whose code, comments and strings left out,
/// contains one of `words` as a whole word, except those `allowed` (path prefixes).
fn files_naming(words: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut paths = Vec::new();
    files(&src(), &mut paths);
    with_path_files(paths)
        .iter()
        .map(|p| shown(p))
        .filter(|shown| !allowed.iter().any(|a| shown.starts_with(a)))
        .filter(|shown| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(shown);
            let code = lex(&std::fs::read_to_string(path).unwrap()).code;
            words.iter().any(|w| names_word(&code, w))
        })
        .collect()
}

/// Whether `word` occurs in `code` not inside a longer identifier.
fn names_word(code: &str, word: &str) -> bool {
    let bytes = code.as_bytes();
    code.match_indices(word).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + word.len()).copied();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The network is the LLM's (translation), the SSO issuer's keys (the server) and the
/// catalog's Metrics APIs (their client): no other file names an HTTP client.
#[test]
fn only_the_llm_the_jwks_and_the_metrics_api_client_name_reqwest() {
    let offenders = files_naming(
        &["reqwest"],
        &[
            "src/translate/llm.rs",
            "src/translate/llm/",
            "src/server/jwks.rs",
            "src/metrics_api/client.rs",
        ],
    );
    assert!(
        offenders.is_empty(),
        "reqwest outside translate/llm, server/jwks.rs and metrics_api/client.rs: {offenders:?}"
    );
}

/// Redis holds only the shared rate-limit buckets: no file but `server/ratelimit/shared.rs`
/// names the redis crate (`redis::…` in code), so nothing else grows a dependency on it.
#[test]
fn only_the_shared_rate_limit_names_redis() {
    let mut paths = Vec::new();
    files(&src(), &mut paths);
    let offenders: Vec<String> = with_path_files(paths)
        .iter()
        .map(|p| shown(p))
        .filter(|shown| shown != "src/server/ratelimit/shared.rs")
        .filter(|shown| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(shown);
            let code = lex(&std::fs::read_to_string(path).unwrap()).code;
            let bytes = code.as_bytes();
            code.match_indices("redis::").any(|(at, _)| {
                !at.checked_sub(1)
                    .map(|i| bytes[i])
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            })
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "the redis crate outside server/ratelimit/shared.rs: {offenders:?}"
    );
}

/// `src/dialect.rs` is the one place that picks sea-query's builder for an engine, and within
/// `sql/` only `sql/dialect.rs` tells the engines apart.
#[test]
fn engines_are_told_apart_only_in_the_dialects() {
    let builders = files_naming(
        &[
            "SqliteQueryBuilder",
            "PostgresQueryBuilder",
            "MysqlQueryBuilder",
        ],
        &["src/dialect.rs"],
    );
    assert!(
        builders.is_empty(),
        "sea-query builders outside src/dialect.rs: {builders:?}"
    );
    let in_sql: Vec<String> = files_naming(
        &["Dialect::Sqlite", "Dialect::Postgres", "Dialect::Mysql"],
        &["src/sql/dialect.rs"],
    )
    .into_iter()
    .filter(|shown| shown.starts_with("src/sql/"))
    .collect();
    assert!(
        in_sql.is_empty(),
        "an engine named in sql/ outside sql/dialect.rs: {in_sql:?}"
    );
}

/// SQL text reaches sqlx unchecked only where Tally built it: the SQLite reader and
/// `bound_query` in `exec/`, `demo/`'s own DDL and inserts, the rollup store's, and the audit
/// log's group insert (its column list and placeholders, no value).
#[test]
fn assert_sql_safe_only_in_exec_and_demo() {
    let offenders = files_naming(
        &["AssertSqlSafe"],
        &[
            "src/exec/sqlite.rs",
            "src/exec/mod.rs",
            "src/demo/",
            "src/rollup/build.rs",
            "src/store/audit.rs",
        ],
    );
    assert!(
        offenders.is_empty(),
        "AssertSqlSafe outside exec/sqlite.rs, exec/mod.rs, demo/, rollup/build.rs and store/audit.rs: {offenders:?}"
    );
    let exec = std::fs::read_to_string(src().join("exec/mod.rs")).unwrap();
    let code = lex(&exec).code;
    let bound = code.find("fn bound_query").expect("exec::bound_query");
    let body = item_end(&code, bound);
    assert!(
        code.match_indices("AssertSqlSafe")
            .all(|(at, _)| (bound..body).contains(&at)),
        "AssertSqlSafe in exec/mod.rs outside bound_query"
    );
}

/// `dsl/` reads a catalog only to specialise the schema: only `dsl/schema.rs` uses `catalog`.
#[test]
fn only_dsl_schema_uses_the_catalog() {
    let mut paths = Vec::new();
    files(&src().join("dsl"), &mut paths);
    let offenders: Vec<String> = paths
        .iter()
        .filter(|p| !p.ends_with("schema.rs"))
        .filter(|p| crate_uses(&lex(&std::fs::read_to_string(p).unwrap()).code).contains("catalog"))
        .map(|p| shown(p))
        .collect();
    assert!(
        offenders.is_empty(),
        "dsl/ files other than schema.rs using catalog: {offenders:?}"
    );
}

/// The end of the item starting at `start` in blanked code: past its first `{`'s matching `}`.
fn item_end(code: &str, start: usize) -> usize {
    let bytes = code.as_bytes();
    let mut j = start;
    while j < bytes.len() && bytes[j] != b'{' {
        j += 1;
    }
    let mut depth = 0;
    while j < bytes.len() {
        match bytes[j] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    bytes.len()
}

/// One `fn` of a test file: its name, its attributes (the `#[…]` lines above it) and its body.
struct TestFileFn {
    file: String,
    name: String,
    attributes: String,
    body: String,
}

fn test_file_fns() -> Vec<TestFileFn> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("it");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let code = lex(&text).code;
        for (at, _) in code.match_indices("fn ") {
            if at > 0 && is_ident(code.as_bytes()[at - 1]) {
                continue;
            }
            let name: String = code[at + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                continue;
            }
            let line_start = code[..at].rfind('\n').map_or(0, |n| n + 1);
            let mut attributes = Vec::new();
            for line in code[..line_start].lines().rev() {
                let line = line.trim();
                if line.starts_with("#[") {
                    attributes.push(line.to_string());
                } else if !line.is_empty() {
                    break;
                }
            }
            let end = item_end(&code, at);
            out.push(TestFileFn {
                file: shown(&path),
                name,
                attributes: attributes.join("\n"),
                body: code[at..end].to_string(),
            });
        }
    }
    out
}

/// Whether `body` calls the function `name` (`name(…)` or `name::<…>(…)`, not its `fn name`).
fn calls(body: &str, name: &str) -> bool {
    let bytes = body.as_bytes();
    body.match_indices(name).any(|(at, _)| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let rest = body[at + name.len()..].trim_start();
        !before.is_some_and(|b| is_ident(b) || b == b'.')
            && (rest.starts_with('(') || rest.starts_with("::<"))
            && !body[..at].trim_end().ends_with("fn")
    })
}

/// Whether a function of `tests/it` reaches PostgreSQL or MariaDB itself: it calls `reach`
/// (which panics when the engine is not there) or `reach_or_skip` (which skips outside CI), or
/// asks for `On::AllEngines`.
fn reaches_an_engine(f: &TestFileFn) -> bool {
    calls(&f.body, "reach") || calls(&f.body, "reach_or_skip") || f.body.contains("On::AllEngines")
}

/// `cargo test` needs no engine: a test that reaches PostgreSQL or MariaDB (calls
/// `common::engines::reach` or asks for `On::AllEngines` in its own body) is `#[ignore]`d, so
/// only `cargo test -- --ignored` runs it, and fails without them.
#[test]
fn tests_that_reach_an_engine_are_ignored() {
    let fns: Vec<TestFileFn> = test_file_fns()
        .into_iter()
        .filter(|f| f.file != "tests/it/tidy.rs")
        .collect();
    let reaching: BTreeSet<&str> = fns
        .iter()
        .filter(|f| reaches_an_engine(f))
        .map(|f| f.name.as_str())
        .collect();
    assert!(
        [
            "golden_cases_give_the_same_results_on_every_engine",
            "the_store_works_on_postgresql",
            "every_golden_case_reads_its_tables_through_an_index_on_postgresql",
            "the_reference_server_on_postgresql_and_mariadb_answers_as_their_warehouse",
        ]
        .iter()
        .all(|n| reaching.contains(n)),
        "the scan finds the engine tests: {reaching:?}"
    );
    let offenders: Vec<String> = fns
        .iter()
        .filter(|f| f.attributes.contains("#[test]") || f.attributes.contains("#[tokio::test"))
        .filter(|f| reaches_an_engine(f) && !f.attributes.contains("#[ignore"))
        .map(|f| format!("{}: {}", f.file, f.name))
        .collect();
    assert!(
        offenders.is_empty(),
        "tests that reach PostgreSQL or MariaDB without #[ignore]: {offenders:?}"
    );
}

/// The Kubernetes kustomization ships a copy of the Metrica catalog (kustomize loads nothing
/// outside its directory): a catalog change that forgets the copy fails here, not in a cluster.
#[test]
fn the_deploy_catalog_is_the_metrica_catalog() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("examples/metrica/catalog.toml")).unwrap();
    let copy = std::fs::read_to_string(root.join("deploy/kubernetes/catalog.toml")).unwrap();
    assert!(
        source == copy,
        "deploy/kubernetes/catalog.toml differs from examples/metrica/catalog.toml: copy it over"
    );
    // Its docs folder too, each file listed in the kustomization's docs ConfigMap.
    let kustomization =
        std::fs::read_to_string(root.join("deploy/kubernetes/kustomization.yaml")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(root.join("examples/metrica/docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let source =
            std::fs::read_to_string(root.join("examples/metrica/docs").join(&name)).unwrap();
        let copy = std::fs::read_to_string(root.join("deploy/kubernetes/docs").join(&name))
            .unwrap_or_default();
        assert!(
            source == copy,
            "deploy/kubernetes/docs/{name} differs from examples/metrica/docs/{name}: copy it over"
        );
        assert!(
            kustomization.contains(&format!("- docs/{name}")),
            "deploy/kubernetes/kustomization.yaml does not list docs/{name}"
        );
    }
}
