//! The tests of `timing::svg`, in a file of their own so the module reads without them.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn sample() -> (Vec<Bar>, Vec<Marker>) {
    let bars = vec![
        Bar::new("GET /a", ms(0), ms(100)),
        Bar::new("GET <b> & \"c\"", ms(0), ms(40)).ended(BarOutcome::Failed),
        Bar::new("retry", ms(50), ms(150))
            .ended(BarOutcome::TimedOut)
            .at_depth(1),
        Bar::new("hedge", ms(60), ms(60)).ended(BarOutcome::Cancelled),
    ];
    let markers = vec![
        Marker {
            label: "hedge sent".into(),
            at: ms(60),
            lane: Some("GET /a".into()),
        },
        Marker {
            label: "circuit opened".into(),
            at: ms(120),
            lane: None,
        },
    ];
    (bars, markers)
}

#[test]
fn the_picture_parses_and_holds_every_bar_and_marker() {
    let (bars, markers) = sample();
    let svg = render("a <sample> & more", &bars, &markers);
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some("760"));
    let drawn: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("bar"))
        .collect();
    assert_eq!(drawn.len(), bars.len());
    for (node, bar) in drawn.iter().zip(&bars) {
        assert_eq!(node.attribute("data-label"), Some(bar.label.as_str()));
        let start = bar.start.as_nanos().to_string();
        let end = bar.end.as_nanos().to_string();
        assert_eq!(node.attribute("data-start-ns"), Some(start.as_str()));
        assert_eq!(node.attribute("data-end-ns"), Some(end.as_str()));
        assert_eq!(node.attribute("data-outcome"), Some(bar.outcome.word()));
        assert_eq!(node.attribute("fill"), Some(colour(bar.outcome)));
        let w: f64 = node.attribute("width").unwrap().parse().unwrap();
        assert!(w >= 1.5, "{w}");
    }
    let marks: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("marker"))
        .map(|n| n.attribute("data-label").unwrap().to_owned())
        .collect();
    assert_eq!(marks, ["hedge sent", "circuit opened"]);
    // No script, no style sheet, no link to anything outside the picture.
    for node in doc.descendants() {
        assert!(
            !["script", "style", "image", "a", "foreignObject"].contains(&node.tag_name().name())
        );
        assert!(node.attributes().all(|a| a.name() != "href"));
    }
}

#[test]
fn bars_keep_their_order_and_scale_and_the_axis_has_round_ticks() {
    let (bars, markers) = sample();
    let svg = render("t", &bars, &markers);
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let x_of = |label: &str| -> (f64, f64) {
        let n = doc
            .descendants()
            .find(|n| n.attribute("data-label") == Some(label) && n.has_tag_name("rect"))
            .unwrap();
        let x: f64 = n.attribute("x").unwrap().parse().unwrap();
        let w: f64 = n.attribute("width").unwrap().parse().unwrap();
        (x, w)
    };
    // "GET /a" is 100 ms long, "retry" 100 ms too, starting 50 ms later: same width.
    let (a_x, a_w) = x_of("GET /a");
    let (r_x, r_w) = x_of("retry");
    assert!((a_w - r_w).abs() < 0.2, "{a_w} vs {r_w}");
    assert!((r_x - a_x - a_w / 2.0).abs() < 0.2);
    let ticks: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("text-anchor") == Some("middle"))
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ticks.first().map(String::as_str), Some("0 ms"));
    assert_eq!(ticks.last().map(String::as_str), Some("160 ms"));
    assert_eq!(ticks.len(), 9);
}

#[test]
fn the_longest_label_fits_whole_and_marker_names_show_where_there_is_room() {
    for n in [1, 7, 8, 20, 37] {
        let label = "x".repeat(n);
        let svg = render("t", &[Bar::new(label.as_str(), ms(0), ms(10))], &[]);
        assert!(svg.contains(&format!(">{label}</text>")), "{n}: {svg}");
    }
    let at = |label: &str, n| Marker {
        label: label.into(),
        at: ms(n),
        lane: Some("a".into()),
    };
    let bars = [Bar::new("a", ms(0), ms(100))];
    // Far apart: both named. One right after another: the first has no room for its name.
    let svg = render("t", &bars, &[at("hedge sent", 10), at("opened", 60)]);
    assert_eq!(svg.matches("class=\"marker-label\"").count(), 2);
    let svg = render("t", &bars, &[at("hedge sent", 10), at("opened", 11)]);
    assert_eq!(svg.matches("class=\"marker-label\"").count(), 1);
    assert!(svg.contains(">opened</text>") && svg.contains("<title>hedge sent at"));
}

#[test]
fn the_same_timeline_renders_the_same_bytes_and_extremes_do_not_break_it() {
    let (bars, markers) = sample();
    assert_eq!(render("t", &bars, &markers), render("t", &bars, &markers));
    for end in [Duration::ZERO, Duration::from_nanos(1), Duration::MAX] {
        let svg = render("x", &[Bar::new("x", Duration::ZERO, end)], &[]);
        assert!(roxmltree::Document::parse(&svg).is_ok(), "{end:?}");
    }
    assert!(roxmltree::Document::parse(&render("empty", &[], &[])).is_ok());
    assert_eq!(truncate("abcdef", 4), "abc…");
    assert_eq!(number(2.5), "2.5");
    assert_eq!(number(20.0), "20");
}
