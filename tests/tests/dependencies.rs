//! The dependency policy of `deny.toml` (cargo-deny's format), checked in CI without cargo-deny
//! against `cargo metadata`: banned crates, duplicate versions (each exception written down
//! with its reason), licences (SPDX expressions against the allow-list) and sources
//! (crates.io only). Advisories need the RustSec database, which CI cannot fetch: README
//! "Dependencies" says how to run `cargo deny check` where it can.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use synboost_tests::workspace::{cargo_metadata, root};

/// The policy lists this test reads from `deny.toml`.
#[derive(Debug, Default)]
struct Policy {
    allow: BTreeSet<String>,
    deny: BTreeSet<String>,
    /// `name@version` → reason.
    skip: BTreeMap<String, String>,
    allow_registry: BTreeSet<String>,
}

/// The quoted value after `key = ` on one line (`crate = "x"`), if any.
fn quoted(line: &str, key: &str) -> Option<String> {
    let at = line.find(&format!("{key} = \""))? + key.len() + 4;
    let rest = &line[at..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Reads `deny.toml`'s lists, one entry per line, by the section and array they sit in. A line
/// inside a list this test reads that it cannot parse fails the test (so the file cannot drift
/// into a shape the check silently skips).
fn policy() -> Policy {
    let text = std::fs::read_to_string(root().join("deny.toml")).expect("deny.toml is readable");
    let mut p = Policy::default();
    let (mut section, mut list) = (String::new(), String::new());
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') && line.ends_with(']') && !line.contains('=') {
            section = line.trim_matches(['[', ']']).to_string();
            list.clear();
            continue;
        }
        let entry = line.starts_with('{') || line.starts_with('"');
        if let Some((key, value)) = line.split_once(" = ").filter(|_| !entry) {
            if value.trim_start().starts_with('[') && !value.contains(']') {
                list = key.trim().to_string();
                continue;
            }
            if section == "sources" && key == "allow-registry" {
                let v = quoted(&format!("x = {}", value.trim_matches(['[', ']'])), "x");
                p.allow_registry.extend(v);
            }
            continue;
        }
        if line == "]" {
            list.clear();
            continue;
        }
        if line.is_empty() || list.is_empty() {
            continue;
        }
        match (section.as_str(), list.as_str()) {
            ("licenses", "allow") => {
                let id = line.trim_end_matches(',').trim_matches('"');
                assert!(
                    !id.contains('"'),
                    "deny.toml: cannot read licence line {raw:?}"
                );
                p.allow.insert(id.to_string());
            }
            ("bans", "deny") => {
                let name = quoted(line, "crate").unwrap_or_else(|| panic!("deny.toml: {raw:?}"));
                p.deny.insert(name);
            }
            ("bans", "skip") => {
                let name = quoted(line, "crate").unwrap_or_else(|| panic!("deny.toml: {raw:?}"));
                let reason = quoted(line, "reason").unwrap_or_default();
                assert!(
                    reason.len() > 10,
                    "deny.toml: skip of {name} needs its reason written down"
                );
                assert!(name.contains('@'), "deny.toml: skip {name} names a version");
                p.skip.insert(name, reason);
            }
            _ => {}
        }
    }
    p
}

/// A package of the resolved graph.
#[derive(Debug, Clone)]
struct Package {
    name: String,
    version: String,
    license: Option<String>,
    source: Option<String>,
}

/// The packages reachable from the workspace members through normal and build dependencies on
/// x86_64 Linux (what is compiled into a binary or runs at build time; dev-dependencies and
/// other platforms aside, as cargo-deny's graph with these settings).
fn packages() -> Vec<Package> {
    let m: Value = cargo_metadata(&["--filter-platform", "x86_64-unknown-linux-gnu"])
        .expect("cargo metadata of the workspace");
    let mut by_id = HashMap::new();
    for p in m["packages"].as_array().expect("packages") {
        let s = |k: &str| p[k].as_str().map(str::to_string);
        by_id.insert(
            p["id"].as_str().expect("id").to_string(),
            Package {
                name: s("name").expect("name"),
                version: s("version").expect("version"),
                license: s("license"),
                source: s("source"),
            },
        );
    }
    let nodes: HashMap<&str, &Value> = m["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|n| (n["id"].as_str().expect("id"), n))
        .collect();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = m["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|v| v.as_str().expect("id").to_string())
        .collect();
    while let Some(id) = todo.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        for dep in nodes[id.as_str()]["deps"].as_array().expect("deps") {
            let used = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null() || k["kind"].as_str() == Some("build"));
            if used {
                todo.push(dep["pkg"].as_str().expect("pkg").to_string());
            }
        }
    }
    seen.iter().map(|id| by_id[id].clone()).collect()
}

/// Whether an SPDX licence expression is satisfied by the allowed identifiers: `OR` needs one
/// side, `AND` both, parentheses group, `A WITH B` is one identifier; the deprecated `/` is
/// `OR` (as crates.io and cargo-deny read it).
fn allowed(expr: &str, allow: &BTreeSet<String>) -> bool {
    let spaced = expr
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut at = 0;
    let ok = or_expr(&tokens, &mut at, allow);
    assert_eq!(at, tokens.len(), "cannot parse licence expression {expr:?}");
    ok
}

fn or_expr(t: &[&str], at: &mut usize, allow: &BTreeSet<String>) -> bool {
    let mut ok = and_expr(t, at, allow);
    while t.get(*at) == Some(&"OR") {
        *at += 1;
        ok |= and_expr(t, at, allow);
    }
    ok
}

fn and_expr(t: &[&str], at: &mut usize, allow: &BTreeSet<String>) -> bool {
    let mut ok = term(t, at, allow);
    while t.get(*at) == Some(&"AND") {
        *at += 1;
        ok &= term(t, at, allow);
    }
    ok
}

fn term(t: &[&str], at: &mut usize, allow: &BTreeSet<String>) -> bool {
    match t.get(*at) {
        Some(&"(") => {
            *at += 1;
            let ok = or_expr(t, at, allow);
            assert_eq!(t.get(*at), Some(&")"), "unbalanced licence expression");
            *at += 1;
            ok
        }
        Some(id) => {
            *at += 1;
            let mut id = id.to_string();
            if t.get(*at) == Some(&"WITH") {
                id = format!(
                    "{id} WITH {}",
                    t.get(*at + 1).expect("WITH needs an exception")
                );
                *at += 2;
            }
            allow.contains(&id)
        }
        None => panic!("licence expression ends early"),
    }
}

#[test]
fn the_licence_parser_reads_spdx_as_cargo_deny_does() {
    let allow: BTreeSet<String> = ["MIT", "Apache-2.0 WITH LLVM-exception"]
        .map(String::from)
        .into();
    assert!(allowed("MIT", &allow));
    assert!(allowed("GPL-3.0 OR MIT", &allow));
    assert!(allowed("MIT/Apache-2.0", &allow));
    assert!(!allowed("GPL-3.0", &allow));
    assert!(!allowed("(MIT OR Apache-2.0) AND IJG", &allow));
    assert!(allowed("(MIT OR Apache-2.0) AND (MIT OR IJG)", &allow));
    assert!(allowed("Apache-2.0 WITH LLVM-exception OR GPL-2.0", &allow));
    assert!(!allowed("Apache-2.0", &allow));
}

#[test]
fn no_banned_crate_is_in_the_graph() {
    let p = policy();
    assert!(p.deny.contains("bincode"), "deny.toml bans bincode");
    let banned: Vec<String> = packages()
        .into_iter()
        .filter(|k| p.deny.contains(&k.name))
        .map(|k| format!("{}@{}", k.name, k.version))
        .collect();
    assert!(banned.is_empty(), "banned crates in the graph: {banned:?}");
}

#[test]
fn every_duplicate_version_is_written_down_and_every_exception_is_needed() {
    let p = policy();
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for k in packages() {
        versions.entry(k.name).or_default().insert(k.version);
    }
    let mut unexplained = Vec::new();
    let mut used = BTreeSet::new();
    for (name, vs) in versions.iter().filter(|(_, vs)| vs.len() > 1) {
        // All but one version of a duplicated crate must be skipped by name@version.
        let skipped: Vec<&String> = vs
            .iter()
            .filter(|v| p.skip.contains_key(&format!("{name}@{v}")))
            .collect();
        used.extend(skipped.iter().map(|v| format!("{name}@{v}")));
        if skipped.len() + 1 < vs.len() {
            unexplained.push(format!("{name} {vs:?}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "duplicate versions without a written-down exception in deny.toml [bans] skip: \
         {unexplained:?}"
    );
    let stale: Vec<&String> = p.skip.keys().filter(|k| !used.contains(*k)).collect();
    assert!(
        stale.is_empty(),
        "deny.toml skips duplicates that are gone (remove them): {stale:?}"
    );
}

#[test]
fn every_licence_is_allowed() {
    let p = policy();
    assert!(p.allow.contains("MIT") && p.allow.contains("Apache-2.0"));
    let refused: Vec<String> = packages()
        .into_iter()
        .filter(|k| k.source.is_some())
        .filter(|k| match &k.license {
            Some(l) => !allowed(l, &p.allow),
            None => true,
        })
        .map(|k| format!("{}@{} ({:?})", k.name, k.version, k.license))
        .collect();
    assert!(
        refused.is_empty(),
        "licences outside deny.toml's allow-list: {refused:?}"
    );
}

#[test]
fn every_crate_comes_from_crates_io_or_the_workspace() {
    let p = policy();
    let registries: BTreeSet<String> = p
        .allow_registry
        .iter()
        .map(|r| format!("registry+{r}"))
        .collect();
    assert!(
        !registries.is_empty(),
        "deny.toml names the allowed registry"
    );
    let foreign: Vec<String> = packages()
        .into_iter()
        .filter(|k| k.source.as_ref().is_some_and(|s| !registries.contains(s)))
        .map(|k| format!("{}@{} from {:?}", k.name, k.version, k.source))
        .collect();
    assert!(foreign.is_empty(), "crates from other sources: {foreign:?}");
}
