//! The pictures in the docs, drawn again and compared byte for byte with the committed ones.
//!
//! Each module page shows its headline schedule as an SVG recorded on tokio's paused clock
//! (virtual time, so every run draws the same bytes) and its two shapes side by side, generated
//! from the compiled `shapes/` files. Both are committed beside the module they illustrate and
//! embedded in its rustdoc; this binary draws them again and fails on any difference, so a
//! picture never drifts from the code it shows. After a change that should change a picture:
//!
//! ```text
//! UPDATE_PICTURES=1 cargo test --all-features --test pictures
//! ```
//!
//! and review the new pictures (`git diff`, or open them in a browser) before committing.

mod actor;
mod basics;
mod check;
mod decorator;
mod factory;
mod observer;
mod pipeline;
mod shapes;
mod strategy;
