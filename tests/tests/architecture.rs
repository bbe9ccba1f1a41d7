//! The dependency rules of `docs/ARCHITECTURE.md`, checked against `cargo metadata`: which
//! workspace crate may depend on which, and which crates must never appear below one (the
//! device crates link no host code; training does not depend on the simulator).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use synboost_tests::workspace::{cargo_metadata, root};

/// One row of the rules table.
#[derive(Debug)]
struct Rule {
    may_use: Option<BTreeSet<String>>,
    never: BTreeSet<String>,
}

/// The names in backticks of one table cell; `None` for `*` (anything).
fn names(cell: &str) -> Option<BTreeSet<String>> {
    if cell.trim() == "`*`" {
        return None;
    }
    Some(
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect(),
    )
}

/// The rules table between `<!-- rules:begin -->` and `<!-- rules:end -->`.
fn rules() -> BTreeMap<String, Rule> {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md is readable");
    let (_, rest) = doc
        .split_once("<!-- rules:begin -->")
        .expect("the rules table has its begin marker");
    let (table, _) = rest
        .split_once("<!-- rules:end -->")
        .expect("the rules table has its end marker");
    let mut out = BTreeMap::new();
    for line in table.lines().map(str::trim).filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
        assert_eq!(cells.len(), 3, "a rules row has three cells: {line}");
        let Some(krate) = names(cells[0]).and_then(|n| n.into_iter().next()) else {
            continue; // the header and separator rows
        };
        let never = names(cells[2]).unwrap_or_default();
        out.insert(
            krate,
            Rule {
                may_use: names(cells[1]),
                never,
            },
        );
    }
    out
}

/// `cargo metadata` of the workspace: (workspace member names, normal dependency edges by
/// package name).
fn metadata() -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    let m: Value = cargo_metadata(&[]).expect("cargo metadata of the workspace");
    let mut name_of = BTreeMap::new();
    for p in m["packages"].as_array().expect("packages") {
        name_of.insert(
            p["id"].as_str().expect("id").to_string(),
            p["name"].as_str().expect("name").to_string(),
        );
    }
    let members = m["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|id| name_of[id.as_str().expect("member id")].clone())
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for node in m["resolve"]["nodes"].as_array().expect("resolve nodes") {
        let from = name_of[node["id"].as_str().expect("node id")].clone();
        let set = edges.entry(from).or_default();
        for dep in node["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                set.insert(name_of[dep["pkg"].as_str().expect("pkg")].clone());
            }
        }
    }
    (members, edges)
}

/// Everything below `krate` through normal dependencies, with one path to each.
fn closure(krate: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, String> {
    let mut via = BTreeMap::new();
    let mut queue = VecDeque::from([(krate.to_string(), krate.to_string())]);
    while let Some((name, path)) = queue.pop_front() {
        for d in edges.get(&name).into_iter().flatten() {
            if !via.contains_key(d) {
                let p = format!("{path} → {d}");
                via.insert(d.clone(), p.clone());
                queue.push_back((d.clone(), p));
            }
        }
    }
    via
}

#[test]
fn every_workspace_crate_has_a_rule() {
    let (members, _) = metadata();
    let rules = rules();
    let members: BTreeSet<_> = members.into_iter().collect();
    let ruled: BTreeSet<_> = rules.keys().cloned().collect();
    assert_eq!(
        members, ruled,
        "docs/ARCHITECTURE.md must have one rules row per workspace crate"
    );
}

#[test]
fn workspace_crates_depend_only_as_the_rules_allow() {
    let (members, edges) = metadata();
    let mut broken = Vec::new();
    for (krate, rule) in rules() {
        let Some(allowed) = &rule.may_use else {
            continue;
        };
        for d in edges.get(&krate).into_iter().flatten() {
            if members.contains(d) && !allowed.contains(d) {
                broken.push(format!(
                    "{krate} depends on {d}, which its rule does not allow"
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn no_crate_pulls_in_what_it_must_never_link() {
    let (_, edges) = metadata();
    let mut broken = Vec::new();
    for (krate, rule) in rules() {
        let below = closure(&krate, &edges);
        for banned in &rule.never {
            if let Some(path) = below.get(banned) {
                broken.push(format!("{krate} must never link {banned}: {path}"));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// The rules are not vacuous: the checks above see real edges (a metadata reader that found
/// none would pass everything).
#[test]
fn the_checks_see_the_real_graph() {
    let (members, edges) = metadata();
    assert!(members.contains("synboost-core") && members.contains("synboost"));
    let ffi = closure("synboost", &edges);
    assert!(ffi.contains_key("synboost-core"), "{ffi:?}");
    assert!(ffi.contains_key("tract-onnx"), "{ffi:?}");
    let train = closure("synboost-train", &edges);
    assert!(train.contains_key("tch") && train.contains_key("synboost-phantom"));
    // A rule the graph breaks is caught: the simulator really does link dicom-object.
    let sim = closure("synboost-sim", &edges);
    assert!(sim.contains_key("dicom-object"), "{sim:?}");
}
