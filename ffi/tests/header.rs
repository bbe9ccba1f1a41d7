//! `include/synboost.h` is ours to lay out and cbindgen's to keep true: cbindgen reads the
//! declarations and their docs from `ffi/src`, and this test arranges them as
//! `ffi/header-layout.txt` says (grouped by object, each value list beside its type), marks
//! every function `SB_API` (exported) and every status-returning one but the destructors
//! `SB_NODISCARD`, and turns Rust doc conventions into C ones (`# Safety` → `@pre`, no rustdoc
//! link brackets). It fails when the committed header differs from what the code gives, or when
//! the layout misses, repeats or invents an item. Rewrite the header with
//! `SYNBOOST_BLESS=1 cargo test -p synboost --test header`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Destructors: their only failure is a misuse already reported through `sb_last_error`, and
/// a caller cleaning up has nothing to do with it, so they are not `SB_NODISCARD`.
const DESTRUCTORS: [&str; 3] = ["sb_engine_close", "sb_result_free", "sb_stream_close"];

/// One declaration of cbindgen's output with the doc comment before it.
#[derive(Debug, Clone)]
struct Item {
    name: String,
    doc: Vec<String>,
    decl: Vec<String>,
    function: bool,
}

/// cbindgen's header for this crate.
fn cbindgen_output(crate_dir: &Path) -> String {
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not read ffi/src")
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

/// The name a declaration declares.
fn name_of(decl: &[String]) -> String {
    let first = decl[0].trim();
    if let Some(rest) = first.strip_prefix("#define ") {
        return rest.split_whitespace().next().unwrap().to_string();
    }
    let text = decl.join(" ");
    if let Some(i) = text.find("(*") {
        // A function pointer typedef: `typedef void (*name)(...)`.
        return text[i + 2..].split(')').next().unwrap().trim().to_string();
    }
    if text.starts_with("typedef") {
        let body = text.trim_end_matches(';');
        return body
            .rsplit(|c: char| c.is_whitespace() || c == '}')
            .find(|s| !s.is_empty())
            .unwrap()
            .to_string();
    }
    // A function: the identifier before the first '('.
    let head = text.split('(').next().unwrap();
    head.rsplit(|c: char| c.is_whitespace() || c == '*')
        .find(|s| !s.is_empty())
        .unwrap()
        .to_string()
}

/// Split cbindgen's output into its preamble comment and its items.
fn parse(generated: &str) -> (String, Vec<Item>) {
    let (preamble, body) = generated
        .split_once("#ifndef SYNBOOST_H")
        .expect("include guard");
    let mut items = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut decl: Vec<String> = Vec::new();
    let mut in_doc = false;
    let mut in_functions = false;
    let mut depth = 0i32;
    let mut in_comment = false;
    for line in body.lines() {
        let t = line.trim();
        if in_comment {
            in_comment = !t.ends_with("*/");
            continue;
        }
        if in_doc {
            if t == "*/" {
                in_doc = false;
            } else {
                doc.push(t.strip_prefix('*').unwrap_or(t).to_string());
            }
            continue;
        }
        if decl.is_empty() {
            if t.starts_with("/**") {
                in_doc = true;
                doc.clear();
                continue;
            }
            if t.starts_with("/*") {
                // cbindgen's own notice, to its end.
                in_comment = !t.ends_with("*/");
                continue;
            }
            if t.is_empty()
                || t.starts_with("#include")
                || t.starts_with("#ifdef __cplusplus")
                || t.starts_with("#endif")
                || t.starts_with("#define SYNBOOST_H")
                || t.starts_with('}') && t.contains("extern \"C\"")
            {
                continue;
            }
            if t.starts_with("extern \"C\"") {
                in_functions = true;
                continue;
            }
            if t.starts_with("#define ") {
                items.push(Item {
                    name: name_of(&[t.to_string()]),
                    doc: std::mem::take(&mut doc),
                    decl: vec![line.to_string()],
                    function: false,
                });
                continue;
            }
        }
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        decl.push(line.to_string());
        if depth == 0 && t.ends_with(';') {
            items.push(Item {
                name: name_of(&decl),
                doc: std::mem::take(&mut doc),
                decl: std::mem::take(&mut decl),
                function: in_functions,
            });
        }
    }
    let preamble = preamble.trim().to_string();
    (preamble, items)
}

/// A doc comment in C conventions: `# Safety` becomes `@pre`, rustdoc link brackets go.
fn c_doc(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pre = false;
    for raw in lines {
        let line = raw
            .strip_prefix(' ')
            .unwrap_or(raw)
            .replace("[`", "`")
            .replace("`]", "`");
        if line.trim() == "# Safety" {
            pre = true;
            continue;
        }
        if pre {
            if line.trim().is_empty() {
                pre = false;
                out.push(line);
            } else if out
                .last()
                .is_some_and(|l: &String| l.starts_with("@pre ") || l.starts_with("     "))
            {
                out.push(format!("     {line}"));
            } else {
                out.push(format!("@pre {line}"));
            }
            continue;
        }
        assert!(
            !line.trim_start().starts_with("# "),
            "a Rust heading in a C doc comment: {line:?}"
        );
        out.push(line);
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    out
}

fn write_doc(out: &mut String, doc: &[String]) {
    if doc.is_empty() {
        return;
    }
    if let [one] = doc
        && one.len() + 7 <= 100
    {
        out.push_str(&format!("/** {one} */\n"));
        return;
    }
    out.push_str("/**\n");
    for l in doc {
        if l.is_empty() {
            out.push_str(" *\n");
        } else {
            out.push_str(&format!(" * {l}\n"));
        }
    }
    out.push_str(" */\n");
}

/// The declaration as the kept header shows it: functions get their macros, and their
/// continuation lines stay aligned under the opening parenthesis.
fn write_decl(out: &mut String, item: &Item) {
    if !item.function {
        for l in &item.decl {
            // A negative value in parentheses, so the macro is one operand wherever it is used.
            match l.rsplit_once(' ') {
                Some((head, value)) if l.starts_with("#define ") && value.starts_with('-') => {
                    out.push_str(&format!("{head} ({value})\n"));
                }
                _ => {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        return;
    }
    let returns_status = item.decl[0].trim_start().starts_with("sb_status ");
    let prefix = if returns_status && !DESTRUCTORS.contains(&item.name.as_str()) {
        "SB_NODISCARD SB_API "
    } else {
        "SB_API "
    };
    for (i, l) in item.decl.iter().enumerate() {
        if i == 0 {
            out.push_str(prefix);
        } else {
            out.push_str(&" ".repeat(prefix.len()));
        }
        out.push_str(l);
        out.push('\n');
    }
}

const MACROS: &str = r#"/* SB_API marks the library's exported functions; SB_NODISCARD the ones whose status must be
 * looked at (every function returning sb_status except the destructors sb_engine_close,
 * sb_result_free and sb_stream_close). Define either before including this header to
 * override it. */
#ifndef SB_API
#  if defined(__GNUC__) || defined(__clang__)
#    define SB_API __attribute__((visibility("default")))
#  else
#    define SB_API
#  endif
#endif

#ifndef SB_NODISCARD
#  if defined(__cplusplus) && __cplusplus >= 201703L
#    define SB_NODISCARD [[nodiscard]]
#  elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L
#    define SB_NODISCARD [[nodiscard]]
#  elif defined(__GNUC__) || defined(__clang__)
#    define SB_NODISCARD __attribute__((warn_unused_result))
#  else
#    define SB_NODISCARD
#  endif
#endif
"#;

/// The kept header: cbindgen's items in the layout's order.
fn kept_header(generated: &str, layout: &str) -> String {
    let (preamble, items) = parse(generated);
    let mut by_name: BTreeMap<String, Item> = BTreeMap::new();
    for it in items {
        let name = it.name.clone();
        assert!(
            by_name.insert(name.clone(), it).is_none(),
            "cbindgen declares {name} twice"
        );
    }
    let mut out = String::new();
    out.push_str(&preamble);
    out.push_str("\n#ifndef SYNBOOST_H\n#define SYNBOOST_H\n\n");
    out.push_str(
        "/* Declarations and their docs come from ffi/src through cbindgen; the layout is\n \
         * ffi/header-layout.txt. CI checks this file matches both: regenerate it with\n \
         * `SYNBOOST_BLESS=1 cargo test -p synboost --test header`. */\n\n",
    );
    out.push_str("#include <stddef.h>\n#include <stdint.h>\n\n");
    out.push_str(MACROS);
    out.push_str("\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n");
    let mut listed = BTreeSet::new();
    let mut intro: Vec<String> = Vec::new();
    let mut pending_title: Option<String> = None;
    let flush_title = |out: &mut String, title: &mut Option<String>, intro: &mut Vec<String>| {
        if let Some(t) = title.take() {
            let rule = "=".repeat(92);
            out.push_str(&format!("\n/* {rule}\n * {t}\n * {rule}"));
            for l in intro.drain(..) {
                out.push_str(format!("\n * {l}").trim_end());
            }
            out.push_str("\n */\n");
        }
    };
    for line in layout.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(t) = line.strip_prefix("== ") {
            flush_title(&mut out, &mut pending_title, &mut intro);
            pending_title = Some(t.trim().to_string());
            continue;
        }
        if let Some(t) = line.strip_prefix('>') {
            intro.push(t.trim().to_string());
            continue;
        }
        flush_title(&mut out, &mut pending_title, &mut intro);
        if let Some(t) = line.strip_prefix("! ") {
            if !out.ends_with(";\n") || out.ends_with(")\n") {
                out.push('\n');
            }
            out.push_str(t);
            out.push('\n');
            continue;
        }
        let name = line.trim();
        assert!(
            listed.insert(name.to_string()),
            "ffi/header-layout.txt lists {name} twice"
        );
        let item = by_name.get(name).unwrap_or_else(|| {
            panic!(
                "ffi/header-layout.txt lists {name}, which ffi/src does not declare (it \
                 declares {:?})",
                by_name.keys().collect::<Vec<_>>()
            )
        });
        out.push('\n');
        write_doc(&mut out, &c_doc(&item.doc));
        write_decl(&mut out, item);
    }
    let missing: Vec<_> = by_name.keys().filter(|n| !listed.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "ffi/src declares {missing:?}, which ffi/header-layout.txt does not place"
    );
    out.push_str(
        "\n#ifdef __cplusplus\n}  /* extern \"C\" */\n#endif\n\n#endif  /* SYNBOOST_H */\n",
    );
    out
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generated_header() -> String {
    let layout = std::fs::read_to_string(crate_dir().join("header-layout.txt")).unwrap();
    kept_header(&cbindgen_output(crate_dir()), &layout)
}

#[test]
fn committed_header_matches_the_code_and_the_layout() {
    let generated = generated_header();
    let path = crate_dir().join("../include/synboost.h");
    if std::env::var_os("SYNBOOST_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or(
                committed.lines().count().min(generated.lines().count()),
                |i| i,
            )
            + 1;
        panic!(
            "include/synboost.h differs from the code from line {line}: regenerate it with \
             `SYNBOOST_BLESS=1 cargo test -p synboost --test header` and commit it"
        );
    }
}

/// The kept header reads as the issue asks: value lists beside their types, the macros on
/// every function, no Rust headings.
#[test]
fn the_header_is_grouped_and_marked() {
    let h = generated_header();
    let at = |s: &str| {
        h.find(s)
            .unwrap_or_else(|| panic!("{s} missing from the header"))
    };
    // SB_OK sits right after sb_status, not hundreds of lines away.
    let gap = h[at("typedef int32_t sb_status;")..at("#define SB_OK 0")]
        .lines()
        .count();
    assert!(gap < 12, "SB_OK is {gap} lines from sb_status");
    assert!(at("#define SB_PIXEL_GRAY8") > at("typedef uint32_t sb_pixel_format;"));
    assert!(at("#define SB_PIXEL_BGRA8") < at("typedef struct sb_frame"));
    // Groups in the issue's order.
    let groups = [
        "Version and status",
        "Engine",
        "Frame and metadata",
        "Result and measurements",
        "Stream",
        "Logging",
    ];
    let pos: Vec<usize> = groups.iter().map(|g| at(&format!(" * {g}\n"))).collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");
    assert!(h.contains("SB_NODISCARD SB_API sb_status sb_stream_push("));
    assert!(h.contains("SB_API sb_status sb_stream_close("));
    assert!(!h.contains("SB_NODISCARD SB_API sb_status sb_stream_close("));
    assert!(h.contains("SB_API const char *sb_version(void);"));
    assert!(!h.contains("# Safety") && h.contains("@pre "));
    assert!(
        !h.contains("[`"),
        "rustdoc link brackets left in the header"
    );
}
