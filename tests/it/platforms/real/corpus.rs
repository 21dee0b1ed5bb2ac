//! The corpus as read from disk: each body with its meta, per platform, in posting order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// `SHOPBIP_REAL_CORPUS` runs the suite over another folder of the same layout (a fresh
/// capture, or a copy with a meta changed to see that the suite notices).
pub(super) fn corpus_dir() -> PathBuf {
    match std::env::var_os("SHOPBIP_REAL_CORPUS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real"),
    }
}

/// One body of the corpus with its meta.
pub(super) struct Case {
    pub(super) platform: String,
    pub(super) name: String,
    pub(super) body: Vec<u8>,
    pub(super) meta: Value,
}

impl Case {
    pub(super) fn label(&self) -> String {
        format!("{}/{}", self.platform, self.name)
    }
    pub(super) fn check(&self) -> &Value {
        &self.meta["check"]
    }
    pub(super) fn seq(&self) -> Option<u64> {
        self.meta["seq"].as_u64()
    }
}

/// Every `<platform>/<name>.meta.json` with its body, per platform, in posting order. Read at
/// run time so a body dropped into the folder with its meta is tested without a code change.
pub(super) fn corpus() -> BTreeMap<String, Vec<Case>> {
    let mut out: BTreeMap<String, Vec<Case>> = BTreeMap::new();
    for dir in std::fs::read_dir(corpus_dir()).expect("tests/fixtures/real") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() || dir.file_name().is_some_and(|n| n == "vectors") {
            continue;
        }
        let platform = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            // A body nobody said the outcome of would pass unchecked: refuse it instead.
            if file.extension().is_some_and(|e| e == "body") {
                assert!(
                    file.with_extension("meta.json").is_file(),
                    "{} has no .meta.json",
                    file.display()
                );
            }
            let Some(name) = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".meta.json"))
            else {
                continue;
            };
            let meta: Value = serde_json::from_slice(&std::fs::read(&file).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let body = std::fs::read(dir.join(format!("{name}.body")))
                .unwrap_or_else(|e| panic!("{platform}/{name}.body: {e}"));
            out.entry(platform.clone()).or_default().push(Case {
                platform: platform.clone(),
                name: name.to_owned(),
                body,
                meta,
            });
        }
    }
    for cases in out.values_mut() {
        posting_order(cases);
    }
    out
}

/// File-name order, except that bodies of one order carrying `seq` take the places their group
/// holds in that order, sorted by `seq`: the order's story (created, paid, completed) is told in
/// sequence while every other body keeps its place.
fn posting_order(cases: &mut Vec<Case>) {
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    let slots: Vec<usize> = (0..cases.len())
        .filter(|&i| cases[i].seq().is_some())
        .collect();
    let mut seqd: Vec<usize> = slots.clone();
    seqd.sort_by_key(|&i| cases[i].seq());
    let mut taken: Vec<Option<Case>> = cases.drain(..).map(Some).collect();
    let moved: Vec<Case> = seqd.iter().map(|&i| taken[i].take().unwrap()).collect();
    for (slot, case) in slots.into_iter().zip(moved) {
        taken[slot] = Some(case);
    }
    cases.extend(taken.into_iter().map(Option::unwrap));
}

#[test]
fn seq_orders_one_order_s_bodies_and_keeps_the_rest_in_name_order() {
    let case = |name: &str, seq: Option<u64>| Case {
        platform: "p".into(),
        name: name.into(),
        body: Vec::new(),
        meta: serde_json::json!({ "seq": seq }),
    };
    let mut cases = vec![
        case("d_paid", Some(2)),
        case("a_other", None),
        case("b_completed", Some(3)),
        case("c_created", Some(1)),
        case("e_last", None),
    ];
    posting_order(&mut cases);
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["a_other", "c_created", "d_paid", "b_completed", "e_last"]
    );
}
