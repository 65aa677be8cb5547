//! The example registry (`tally::examples`) against `examples/`: every example directory is
//! registered under its catalog's name, the default comes first, and each example's showcase and
//! few-shot examples fit its own catalog and data.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use tally::catalog::Catalog;
use tally::check::Checker;
use tally::examples;
use tally::translate::llm::FewShot;

fn catalog_of(example: &examples::Example) -> Catalog {
    Catalog::from_toml(example.catalog_toml, example.catalog_file)
        .unwrap_or_else(|e| panic!("{}: {e}", example.catalog_file))
}

#[test]
fn every_example_directory_is_registered_under_its_catalogs_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(root.join("examples")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("catalog.toml").is_file() {
            on_disk.insert(dir.file_name().unwrap().to_string_lossy().to_string());
        }
    }
    let registered: BTreeSet<String> = examples::all().iter().map(|e| e.name.to_owned()).collect();
    assert_eq!(registered, on_disk);
    for example in examples::all() {
        assert_eq!(catalog_of(&example).name, example.name);
        assert_eq!(
            std::fs::read_to_string(root.join(example.catalog_file)).unwrap(),
            example.catalog_toml
        );
        assert_eq!(
            examples::find(example.name).map(|e| e.catalog_file),
            Some(example.catalog_file)
        );
    }
    assert!(examples::find("no_such_catalog").is_none());
}

/// Each example's docs folder is embedded whole: every `*.md` file of it, with its text, and the
/// embedded catalog indexes them; the catalog loaded from its file reads the same passages.
#[test]
fn every_docs_file_is_embedded_and_indexed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for example in examples::all() {
        let dir = root.join("examples").join(example.name).join("docs");
        let mut on_disk = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                on_disk.insert(path.file_name().unwrap().to_string_lossy().to_string());
            }
        }
        let embedded: BTreeSet<String> = example.docs.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            embedded, on_disk,
            "{}: register every docs file in src/examples.rs",
            example.name
        );
        for (name, text) in example.docs {
            assert_eq!(&std::fs::read_to_string(dir.join(name)).unwrap(), text);
        }
        let embedded = Catalog::of_example(&example).unwrap();
        let from_file = Catalog::load_file(&root.join(example.catalog_file)).unwrap();
        assert!(!embedded.docs.passages().is_empty(), "{}", example.name);
        assert_eq!(embedded.docs.passages(), from_file.docs.passages());
    }
}

#[test]
fn the_default_catalog_is_the_first_examples() {
    let first = &examples::all()[0];
    assert_eq!(examples::default_example().name, first.name);
    assert_eq!(Catalog::embedded_default().name, catalog_of(first).name);
}

/// `tally demo` offers the first showcase query's workspace and role; every query names a role
/// of the catalog and a workspace the generator writes.
#[test]
fn every_showcase_names_a_role_and_a_workspace_of_its_example() {
    for example in examples::all() {
        let catalog = catalog_of(&example);
        let workspaces = (example.generator.workspaces)();
        let showcase = example.showcase().expect("the showcase parses");
        assert!(!showcase.is_empty(), "{} has a showcase", example.name);
        for query in showcase {
            assert!(
                catalog.roles.contains_key(&query.role),
                "{}: {query:?}",
                example.name
            );
            assert!(
                workspaces.contains(&query.workspace.as_str()),
                "{}: {query:?} (workspaces {workspaces:?})",
                example.name
            );
        }
    }
}

#[test]
fn every_examples_fewshot_parses_and_fits_its_catalog() {
    for example in examples::all() {
        let checker = Checker::new(Arc::new(catalog_of(&example)));
        let fewshot = FewShot::parse_jsonl(example.fewshot).expect("the few-shot parses");
        for e in &fewshot {
            assert!(
                e.fits(&checker),
                "{}: stale example: {}",
                example.name,
                e.question
            );
        }
    }
    let default = examples::default_example();
    let fewshot = FewShot::parse_jsonl(default.fewshot).unwrap();
    assert!(fewshot.len() >= 8, "{} examples", fewshot.len());
    assert!(
        default.followups.lines().any(|l| !l.trim().is_empty()),
        "the default example has follow-up phrasings, which every catalog's instructions quote \
         unless its own example has some"
    );
}
