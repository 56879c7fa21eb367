//! Each pattern's two shapes side by side, the tokens that async changed marked, as one HTML
//! table generated from the compiled `shapes/sync_shape.rs` and `shapes/async_shape.rs`.
//!
//! Lines are aligned with a longest-common-subsequence diff, so a line that async left alone
//! sits beside itself and a line it added has an empty cell across from it; within a line that
//! changed, the tokens are diffed the same way and the new or lost ones are marked. The colours
//! are set on every cell, so the table reads the same in rustdoc's light and dark themes.

use super::check::committed;

/// The folders with a `shapes/` pair, from the crate's root.
const PATTERNS: [&str; 7] = [
    "src/strategy",
    "src/factory",
    "src/observer",
    "src/pipeline/plan",
    "src/pipeline/stream",
    "src/decorator",
    "src/actor",
];

#[test]
fn every_pattern_shows_its_shapes_side_by_side() {
    for folder in PATTERNS {
        let root = env!("CARGO_MANIFEST_DIR");
        let read = |name: &str| {
            let path = format!("{root}/{folder}/shapes/{name}");
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let html = side_by_side(&read("sync_shape.rs"), &read("async_shape.rs"));
        committed(&format!("{folder}/shapes/side_by_side.html"), &html);
    }
}

#[test]
fn the_diff_marks_only_what_changed() {
    let html = side_by_side(
        "fn get(&self) -> u8 {\n    self.0\n}\n",
        "use x;\n\nasync fn get(&self) -> u8 {\n    self.0\n}\n",
    );
    // The added line has an empty cell beside it; in the changed line only `async ` is marked.
    assert_eq!(html.matches(ADDED).count(), 2, "{html}");
    assert!(html.contains(&format!("{ADDED}use x;</span>")), "{html}");
    assert!(html.contains(&format!("{ADDED}async</span>")), "{html}");
    assert!(html.contains("<td class=\"empty\""), "{html}");
    assert_eq!(html.matches("self.0").count(), 2);
    assert!(!html.contains(REMOVED));
}

const REMOVED: &str = "<span style=\"background:#ffd7d5;color:#212121\">";
const ADDED: &str = "<span style=\"background:#fff1a8;color:#212121\">";
const CELL: &str = "style=\"background:#fafafa;color:#212121;padding:0 .5em;\
vertical-align:top;white-space:pre-wrap;word-break:break-word;font-size:0.85em\"";

/// The two sources as an HTML table: sync on the left, async on the right.
fn side_by_side(sync: &str, asynchronous: &str) -> String {
    let (left, right): (Vec<&str>, Vec<&str>) =
        (sync.lines().collect(), asynchronous.lines().collect());
    let mut html = String::from(
        "<table class=\"shapes\" style=\"border-collapse:collapse;width:100%;table-layout:fixed\">\n\
         <tr><th style=\"text-align:left\">the classic sync shape</th>\
         <th style=\"text-align:left\">the async shape (what changed is marked)</th></tr>\n",
    );
    for row in align(&left, &right) {
        let cell = |line: Option<String>| match line {
            Some(code) => format!("<td {CELL}><code>{code}</code></td>"),
            None => format!("<td class=\"empty\" {CELL}></td>"),
        };
        let (l, r) = match row {
            Row::Same(a) => (Some(escape(a)), Some(escape(a))),
            Row::Changed(a, b) => {
                let (l, r) = mark_tokens(a, b);
                (Some(l), Some(r))
            }
            Row::Left(a) => (Some(marked(REMOVED, a)), None),
            Row::Right(b) => (None, Some(marked(ADDED, b))),
        };
        html.push_str(&format!("<tr>{}{}</tr>\n", cell(l), cell(r)));
    }
    html.push_str("</table>\n");
    html
}

/// One row of the aligned sources.
enum Row<'a> {
    Same(&'a str),
    Changed(&'a str, &'a str),
    Left(&'a str),
    Right(&'a str),
}

/// Align two lists of lines: equal lines in one row, and within a run of differences, the
/// lines paired in order (a changed line), the surplus on one side alone.
fn align<'a>(left: &[&'a str], right: &[&'a str]) -> Vec<Row<'a>> {
    let mut rows = Vec::new();
    let (mut lost, mut added) = (Vec::new(), Vec::new());
    // A run of differences: each lost line is paired with the next added line that is mostly
    // the same tokens (a changed line); the added lines skipped on the way are new lines.
    let flush = |rows: &mut Vec<Row<'a>>, lost: &mut Vec<&'a str>, added: &mut Vec<&'a str>| {
        let mut next = 0;
        for a in lost.drain(..) {
            match (next..added.len()).find(|&j| similar(a, added[j])) {
                Some(j) => {
                    rows.extend(added[next..j].iter().map(|b| Row::Right(b)));
                    rows.push(Row::Changed(a, added[j]));
                    next = j + 1;
                }
                None => rows.push(Row::Left(a)),
            }
        }
        rows.extend(added.drain(..).skip(next).map(Row::Right));
    };
    for step in lcs(left, right) {
        match step {
            Step::Both(a) => {
                flush(&mut rows, &mut lost, &mut added);
                rows.push(Row::Same(left[a]));
            }
            Step::Left(a) => lost.push(left[a]),
            Step::Right(b) => added.push(right[b]),
        }
    }
    flush(&mut rows, &mut lost, &mut added);
    rows
}

/// Whether two lines share most of their tokens (spaces aside): then one is the other, changed.
fn similar(a: &str, b: &str) -> bool {
    let words = |line| {
        tokens(line)
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .collect::<Vec<_>>()
    };
    let (wa, wb) = (words(a), words(b));
    let common = lcs(&wa, &wb)
        .iter()
        .filter(|s| matches!(s, Step::Both(..)))
        .count();
    2 * common >= wa.len().max(wb.len()) && common > 0
}

/// A changed line pair, each with the tokens the other lacks marked.
fn mark_tokens(a: &str, b: &str) -> (String, String) {
    let (ta, tb) = (tokens(a), tokens(b));
    let (mut left, mut right) = (String::new(), String::new());
    for step in lcs(&ta, &tb) {
        match step {
            Step::Both(i) => {
                left.push_str(&escape(ta[i]));
                right.push_str(&escape(ta[i]));
            }
            Step::Left(i) if ta[i].trim().is_empty() => left.push_str(ta[i]),
            Step::Right(j) if tb[j].trim().is_empty() => right.push_str(tb[j]),
            Step::Left(i) => left.push_str(&marked(REMOVED, ta[i])),
            Step::Right(j) => right.push_str(&marked(ADDED, tb[j])),
        }
    }
    (left, right)
}

/// Identifiers and numbers, runs of spaces, and single punctuation characters.
fn tokens(line: &str) -> Vec<&str> {
    // 0: a word character, 1: a space, 2: punctuation (each its own token).
    let class = |c: char| match c {
        c if c.is_alphanumeric() || c == '_' => 0,
        c if c.is_whitespace() => 1,
        _ => 2,
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = line.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        let end = chars.peek().map_or(line.len(), |&(j, _)| j);
        let joins_next = chars
            .peek()
            .is_some_and(|&(_, n)| class(c) != 2 && class(n) == class(c));
        if !joins_next {
            out.push(&line[start..end]);
            start = end;
        }
    }
    out
}

/// One step of a diff: an element in both, or only on one side.
enum Step {
    /// In both: its index on the left.
    Both(usize),
    Left(usize),
    Right(usize),
}

/// The steps that turn `a` into `b`, keeping a longest common subsequence.
fn lcs<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Step> {
    let (n, m) = (a.len(), b.len());
    // `len[i][j]`: the longest common subsequence of a[i..] and b[j..].
    let mut len = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[i][j] = if a[i] == b[j] {
                len[i + 1][j + 1] + 1
            } else {
                len[i + 1][j].max(len[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut steps) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            steps.push(Step::Both(i));
            (i, j) = (i + 1, j + 1);
        } else if j < m && (i == n || len[i][j + 1] >= len[i + 1][j]) {
            steps.push(Step::Right(j));
            j += 1;
        } else {
            steps.push(Step::Left(i));
            i += 1;
        }
    }
    steps
}

/// `text` in a span of `style`; a blank text is left as it is.
fn marked(style: &str, text: &str) -> String {
    if text.trim().is_empty() {
        return escape(text);
    }
    format!("{style}{}</span>", escape(text))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
