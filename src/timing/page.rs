//! [`Page`]: what a run measured, printed as it comes and saved as one self-contained HTML page.
//!
//! Every example of this crate reports through a page: headings, tables, timelines, targets
//! and the "what to notice" lines worked out from the numbers. In a terminal a timeline is text
//! bars; in the HTML page it is the [SVG picture](super::svg), and the page needs nothing else
//! (no script, no style sheet or font from elsewhere), so it can be opened from disk, attached
//! to an issue, or kept beside a bench's results. The tour writes one page of the whole run.
//!
//! ```
//! use std::time::Duration;
//! use async_patterns::timing::{Bar, Page, Table, Timeline};
//!
//! let mut page = Page::quiet("a run");
//! page.heading("two ways");
//! let mut table = Table::new("two sleeps");
//! table.add("one by one", Duration::from_millis(20)).add("joined", Duration::from_millis(10));
//! page.table(&table);
//! let timeline = Timeline::new();
//! timeline.add(Bar::new("a", Duration::ZERO, Duration::from_millis(10)));
//! page.timeline("joined", &timeline);
//! page.notice("joined took half the time: the sleeps overlapped.");
//! let html = page.to_html();
//! assert!(html.contains("<svg") && html.contains("overlapped"));
//! ```

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::svg::{self, escape};
use super::{Bar, Marker, Table, Target, Timeline};

/// How wide a timeline is drawn in a terminal, in characters.
const TEXT_WIDTH: usize = 60;

/// One thing a page shows.
#[derive(Debug, Clone)]
enum Block {
    Heading(String),
    Line(String),
    Table(Table),
    Timeline {
        title: String,
        bars: Vec<Bar>,
        markers: Vec<Marker>,
        scale: Duration,
    },
    Target(Target),
    Notice(String),
}

/// What a run measured: printed to the terminal as it is added (unless [`quiet`](Page::quiet)),
/// and kept, to be saved as HTML.
#[derive(Debug, Clone)]
pub struct Page {
    title: String,
    blocks: Vec<Block>,
    echo: bool,
}

impl Page {
    /// A page titled `title` that prints each block as it is added.
    pub fn new(title: impl Into<String>) -> Self {
        Page {
            title: title.into(),
            blocks: Vec::new(),
            echo: true,
        }
    }

    /// A page that prints nothing, only keeps (for tests, and for runs that only save).
    pub fn quiet(title: impl Into<String>) -> Self {
        Page {
            echo: false,
            ..Page::new(title)
        }
    }

    /// A section heading: one example, or one part of it.
    pub fn heading(&mut self, text: impl Into<String>) {
        self.push(Block::Heading(text.into()));
    }

    /// A line of text.
    pub fn line(&mut self, text: impl Into<String>) {
        self.push(Block::Line(text.into()));
    }

    /// A timing table.
    pub fn table(&mut self, table: &Table) {
        self.push(Block::Table(table.clone()));
    }

    /// When each call ran: text bars in the terminal, an SVG picture on the page.
    pub fn timeline(&mut self, title: impl Into<String>, timeline: &Timeline) {
        self.timeline_to_scale(title, timeline, Duration::ZERO);
    }

    /// The same, drawn with the time axis running to at least `scale`: give several runs one
    /// scale, and the eye compares their lengths too.
    pub fn timeline_to_scale(
        &mut self,
        title: impl Into<String>,
        timeline: &Timeline,
        scale: Duration,
    ) {
        self.push(Block::Timeline {
            title: title.into(),
            bars: timeline.bars_by_start(),
            markers: timeline.markers(),
            scale,
        });
    }

    /// A performance target, met or missed (never fatal).
    pub fn target(&mut self, target: Target) {
        self.push(Block::Target(target));
    }

    /// A "what to notice" line, worked out from the numbers just measured.
    pub fn notice(&mut self, text: impl Into<String>) {
        self.push(Block::Notice(text.into()));
    }

    /// How many targets on the page were missed.
    pub fn missed(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| matches!(b, Block::Target(t) if !t.met))
            .count()
    }

    fn push(&mut self, block: Block) {
        if self.echo {
            let after_notice = matches!(self.blocks.last(), Some(Block::Notice(_)));
            print!("{}", terminal(&block, after_notice));
        }
        self.blocks.push(block);
    }

    /// The page as one self-contained HTML document.
    pub fn to_html(&self) -> String {
        let mut html = String::new();
        let title = escape(&self.title);
        let _ = write!(
            html,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n\
             <style>{STYLE}</style></head>\n<body><h1>{title}</h1>\n"
        );
        let mut in_notice = false;
        for block in &self.blocks {
            let notice = matches!(block, Block::Notice(_));
            if in_notice && !notice {
                html.push_str("</ul></div>\n");
            }
            if notice && !in_notice {
                html.push_str("<div class=\"notice\"><b>What to notice</b><ul>\n");
            }
            in_notice = notice;
            html.push_str(&html_block(block));
        }
        if in_notice {
            html.push_str("</ul></div>\n");
        }
        html.push_str("</body></html>\n");
        html
    }

    /// Write [`to_html`](Page::to_html) to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_html())
    }
}

/// How a block prints in a terminal; the first notice of a run says "what to notice:".
fn terminal(block: &Block, after_notice: bool) -> String {
    match block {
        Block::Heading(text) => format!("\n== {text}\n"),
        Block::Line(text) => format!("{text}\n"),
        Block::Table(table) => format!("{table}"),
        Block::Timeline {
            title, bars, scale, ..
        } => {
            let last = bars.iter().map(|b| b.end).max().unwrap_or_default();
            let scale = last.max(*scale);
            let text = super::draw_to_scale(bars, TEXT_WIDTH, scale);
            format!(
                "when each ran, {title} (the width is {}):\n{text}",
                super::human(scale)
            )
        }
        Block::Target(target) => format!("{target}\n"),
        Block::Notice(text) if after_notice => format!("  {text}\n"),
        Block::Notice(text) => format!("what to notice:\n  {text}\n"),
    }
}

/// How a block shows on the HTML page.
fn html_block(block: &Block) -> String {
    match block {
        Block::Heading(text) => format!("<h2>{}</h2>\n", escape(text)),
        Block::Line(text) => format!("<p>{}</p>\n", escape(text)),
        Block::Table(table) => html_table(table),
        Block::Timeline {
            title,
            bars,
            markers,
            scale,
        } => format!(
            "<figure>{}</figure>\n",
            svg::render_to_scale(&format!("when each ran, {title}"), bars, markers, *scale)
        ),
        Block::Target(target) => {
            let class = if target.met { "met" } else { "missed" };
            let verdict = if target.met { "met" } else { "MISSED" };
            format!(
                "<p class=\"target {class}\">target {}: measured {}, {verdict}</p>\n",
                escape(&target.name),
                escape(&target.measured)
            )
        }
        Block::Notice(text) => format!("<li>{}</li>\n", escape(text)),
    }
}

/// A timing table as an HTML table, with the same columns as the terminal's.
fn html_table(table: &Table) -> String {
    let mut html = format!(
        "<table><caption>{}</caption>\n<tr><th>label</th><th>time</th><th>speedup</th><th>vs ideal</th></tr>\n",
        escape(table.title())
    );
    for row in table.rows() {
        let speedup = table
            .speedup(&row.label)
            .map_or("-".to_owned(), |s| format!("{s:.1}x"));
        let ideal = table
            .vs_ideal(&row.label)
            .map_or("-".to_owned(), |r| format!("{r:.2}x"));
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{speedup}</td><td>{ideal}</td></tr>",
            escape(&row.label),
            super::human(row.elapsed)
        );
    }
    html.push_str("</table>\n");
    html
}

/// The page's own look: system fonts, nothing fetched.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:820px;margin:2em auto;\
padding:0 1em;color:#212121}h2{border-bottom:1px solid #ddd;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-family:monospace}\
caption{text-align:left;font-weight:bold;padding:.3em 0}\
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}td:first-child,th:first-child{text-align:left}\
figure{margin:1em 0}svg{max-width:100%;height:auto}.target{font-family:monospace;margin:.3em 0}\
.met{color:#2e7d32}.missed{color:#c62828;font-weight:bold}\
.notice{background:#f1f8e9;border-left:4px solid #2e7d32;padding:.5em 1em;margin:1em 0}";

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn one_scale_for_several_timelines() {
        let timeline = Timeline::new();
        timeline.add(Bar::new("a", Duration::ZERO, Duration::from_millis(10)));
        let mut page = Page::quiet("t");
        page.timeline_to_scale("short", &timeline, Duration::from_millis(40));
        let Block::Timeline { bars, scale, .. } = &page.blocks[0] else {
            panic!("a timeline");
        };
        let text = terminal(&page.blocks[0], false);
        assert!(text.contains("the width is 40.0 ms"), "{text}");
        assert_eq!(text.matches('#').count(), TEXT_WIDTH / 4);
        let svg = svg::render_to_scale("t", bars, &[], *scale);
        assert!(svg.contains(">40 ms</text>"), "{svg}");
    }

    #[test]
    fn a_page_holds_every_block_and_prints_what_to_notice_once() {
        let mut page = Page::quiet("tour <1>");
        page.heading("gather");
        page.line("20 requests");
        let mut table = Table::new("t");
        table.add("one by one", Duration::from_millis(200));
        page.table(&table);
        let timeline = Timeline::new();
        timeline.add(Bar::new(
            "GET & more",
            Duration::ZERO,
            Duration::from_millis(5),
        ));
        page.timeline("bounded", &timeline);
        page.target(Target::at_least("x", 1.0, 2.0));
        page.notice("first");
        page.notice("second");
        assert_eq!(page.missed(), 1);
        let html = page.to_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>tour &lt;1&gt;</title>"));
        assert_eq!(html.matches("<svg").count(), 1);
        assert_eq!(html.matches("What to notice").count(), 1);
        assert!(html.contains("<li>second</li>\n</ul></div>"));
        assert!(!html.contains("<script") && !html.contains("http://www.w3.org/1999"));
        let printed: String = page
            .blocks
            .iter()
            .scan(false, |after, b| {
                let text = terminal(b, *after);
                *after = matches!(b, Block::Notice(_));
                Some(text)
            })
            .collect();
        assert_eq!(printed.matches("what to notice:").count(), 1);
        assert!(printed.contains("  second\n"));
    }
}
